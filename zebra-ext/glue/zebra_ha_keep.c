/*
 * While one BGP route processor of an HA pair is still connected, the routes
 * in zebra belong to the pair, not to the process that left: a standby that
 * dies (or is restarted) must not take the active's FIB with it, and an
 * active that dies leaves its routes for the new active to confirm.
 */
#include <zebra.h>

#include "linklist.h"

#include "zebra/zebra_router.h"
#include "zebra/zserv.h"

#include "zebra_ha_glue.h"

static int keep_routes_while_partner_connected(struct zserv *leaving)
{
	struct listnode *node;
	struct zserv *client;

	if (leaving->proto != ZEBRA_ROUTE_BGP)
		return 0;
	for (ALL_LIST_ELEMENTS_RO(zrouter.client_list, node, client))
		if (client != leaving && client->proto == leaving->proto &&
		    client->instance == leaving->instance && !client->is_closed &&
		    !client->synchronous) {
			zlog_notice("frr-ha: a bgp client left while another is connected: its routes stay installed");
			return 1;
		}
	return 0;
}

void zebra_ha_keep_init(void)
{
	hook_register(zserv_client_keep_routes,
		      keep_routes_while_partner_connected);
}
