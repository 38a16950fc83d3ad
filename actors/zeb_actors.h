/*  =========================================================================
    zeb_actors - every class of zeb's actor layer, for zeb's own sources

    Internal: not installed (zeb_node.h is, through zeb.h). Includes the
    core classes first: actors build on core, never the other way round.
    =========================================================================
*/

#ifndef ZEB_ACTORS_H_INCLUDED
#define ZEB_ACTORS_H_INCLUDED

#include "zeb_classes.h"
#include <sys/eventfd.h>
#include "zeb_loop.h"
#include "zeb_router.h"
#include "zeb_actor.h"
#include "zeb_ingest.h"
#include "zeb_log.h"
#include "zeb_registry.h"
#include "zeb_node.h"
#include "zeb_executor.h"
#include "zeb_webhook.h"
#include "zeb_outbox.h"
#include "zeb_run.h"
#include "zeb_feed.h"
#include "zeb_rule.h"
#include "zeb_ruleset.h"
#include "zeb_automation.h"
#include "zeb_crond.h"
#include "zeb_broker.h"
#include "zeb_http.h"

#endif
