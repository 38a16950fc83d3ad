/*  =========================================================================
    zeb - a brokerless event automation framework on ZeroMQ

    Include this one header. Applications use zeb_event (the envelope),
    zeb_client (publish, subscribe, fetch) and zeb_node (run zeb's actors
    in-process); the other classes are the pieces those are made of.
    =========================================================================
*/

#ifndef ZEB_H_INCLUDED
#define ZEB_H_INCLUDED

#include <czmq.h>
#include <msgpack.h>
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define ZEB_VERSION_MAJOR 0
#define ZEB_VERSION_MINOR 1
#define ZEB_VERSION_PATCH 0

#include "zeb_error.h"
#include "zeb_mpk.h"
#include "zeb_time.h"
#include "zeb_uuid.h"
#include "zeb_event.h"
#include "zeb_json.h"
#include "zeb_schema.h"
#include "zeb_compat.h"
#include "zeb_config.h"
#include "zeb_store.h"
#include "zeb_proto.h"
#include "zeb_client.h"
#include "zeb_ingest.h"
#include "zeb_log.h"
#include "zeb_registry.h"
#include "zeb_node.h"

#endif
