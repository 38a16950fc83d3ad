/*  =========================================================================
    zeb - a brokerless event automation framework on ZeroMQ

    The public API; include this one header. Applications use zeb_event
    (the envelope), zeb_client (publish, subscribe, fetch), zeb_producer
    (publish and wait, over a direct connection), zeb_consumer
    (read the log by cursor from inside a poll loop), zeb_registry_client
    (schemas), zeb_outbox_client (runs, dead letters, execution logs) and
    zeb_node (run zeb's actors in-process). Everything else
    (core/zeb_classes.h, actors/zeb_actors.h) is internal and may change
    between releases.
    =========================================================================
*/

#ifndef ZEB_H_INCLUDED
#define ZEB_H_INCLUDED

#include <czmq.h>
#include <msgpack.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define ZEB_VERSION_MAJOR 0
#define ZEB_VERSION_MINOR 1
#define ZEB_VERSION_PATCH 0

#include "zeb_error.h"
#include "zeb_time.h"
#include "zeb_uuid.h"
#include "zeb_event.h"
#include "zeb_json.h"
#include "zeb_config.h"
#include "zeb_client.h"
#include "zeb_producer.h"
#include "zeb_consumer.h"
#include "zeb_registry_client.h"
#include "zeb_txn.h"
#include "zeb_outbox_client.h"
#include "zeb_actor_client.h"
#include "zeb_automation_client.h"
#include "zeb_node.h"

#endif
