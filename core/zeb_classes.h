/*  =========================================================================
    zeb_classes - every class of zeb's core, for zeb's own sources

    Internal: not installed. core/ includes nothing from actors/; actors
    include actors/zeb_actors.h, which includes this.
    =========================================================================
*/

#ifndef ZEB_CLASSES_H_INCLUDED
#define ZEB_CLASSES_H_INCLUDED

#include <czmq.h>
#include <msgpack.h>
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "zeb_error.h"
#include "zeb_mpk.h"
#include "zeb_pack.h"
#include "zeb_time.h"
#include "zeb_uuid.h"
#include "zeb_event.h"
#include "zeb_json.h"
#include "zeb_schema.h"
#include "zeb_compat.h"
#include "zeb_config.h"
#include "zeb_lmdb.h"
#include "zeb_journal.h"
#include "zeb_store.h"
#include "zeb_proto.h"
#include "zeb_zmtp.h"
#include "zeb_client.h"
#include "zeb_producer.h"
#include "zeb_consumer.h"
#include "zeb_registry_client.h"
#include "zeb_txn.h"
#include "zeb_outbox_client.h"
#include "zeb_actor_client.h"
#include "zeb_automation_client.h"
#include "zeb_cron.h"

#endif
