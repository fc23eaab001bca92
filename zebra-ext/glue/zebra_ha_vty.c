/*
 * The zebra module's CLI. vtysh learns these commands at build time: this
 * file is handed to FRR's extract.pl (patches/0001), from a folder named
 * "zebra".
 */
#include <zebra.h>

#include "command.h"
#include "json.h"
#include "vty.h"

#include "zebra/zebra_router.h"
#include "zebra/zserv.h"

#include "zebra_ha_glue.h"

static void show_client(struct vty *vty, struct zserv *client,
			json_object *json_clients)
{
	uint32_t routes = client->v4_route_add_cnt + client->v6_route_add_cnt;

	if (json_clients) {
		json_object *j = json_object_new_object();

		json_object_int_add(j, "socket", client->sock);
		json_object_int_add(j, "instance", client->instance);
		json_object_int_add(j, "sessionId", client->session_id);
		json_object_int_add(j, "routesAdded", routes);
		json_object_array_add(json_clients, j);
		return;
	}
	vty_out(vty, "  bgp client on socket %d (instance %u, session %u): %u routes added\n",
		client->sock, client->instance, client->session_id, routes);
}

static void show_resync_json(json_object *json,
			     const struct zebra_ha_resync_status *st)
{
	json_object *r = json_object_new_object();
	json_object *c = json_object_new_object();

	json_object_boolean_add(r, "active", st->resyncing);
	json_object_int_add(r, "sweepTimerSeconds", st->sweep_seconds);
	if (st->resyncing) {
		json_object_int_add(r, "sweepInSeconds", st->sweep_in_seconds);
		json_object_int_add(r, "staleRoutes", st->stale_routes);
	}
	json_object_object_add(json, "resync", r);
	json_object_int_add(c, "keptDisconnects", st->counters.kept_disconnects);
	json_object_int_add(c, "sweeps", st->counters.sweeps);
	json_object_int_add(c, "timerSweeps", st->counters.timer_sweeps);
	json_object_int_add(c, "routesSwept", st->counters.routes_swept);
	json_object_int_add(c, "fibUpdatesSkipped", st->counters.fib_updates_skipped);
	json_object_object_add(json, "counters", c);
}

static void show_resync_text(struct vty *vty, const struct zebra_ha_resync_status *st)
{
	if (st->resyncing)
		vty_out(vty, "Resync: %" PRIu64 " routes not yet sent again by the new active, removed in %lu s\n",
			st->stale_routes, st->sweep_in_seconds);
	else
		vty_out(vty, "Resync: none (sweep timer %u s)\n", st->sweep_seconds);
	vty_out(vty, "Counters: %" PRIu64 " disconnects kept, %" PRIu64 " sweeps (%" PRIu64
		     " by the timer), %" PRIu64 " routes swept, %" PRIu64
		     " FIB updates skipped (unchanged)\n",
		st->counters.kept_disconnects, st->counters.sweeps,
		st->counters.timer_sweeps, st->counters.routes_swept,
		st->counters.fib_updates_skipped);
}

DEFUN (show_zebra_ha,
       show_zebra_ha_cmd,
       "show zebra ha [json]",
       SHOW_STR
       "Zebra information\n"
       "Nonstop routing (frr-ha) state\n"
       JSON_STR)
{
	bool uj = use_json(argc, argv);
	json_object *json = NULL, *json_clients = NULL;
	struct zebra_ha_resync_status st;
	struct listnode *node;
	struct zserv *client;

	zebra_ha_resync_status(&st);
	if (uj) {
		json = json_object_new_object();
		json_clients = json_object_new_array();
		json_object_string_add(json, "version", FRR_HA_VERSION);
		show_resync_json(json, &st);
	} else {
		vty_out(vty, "frr-ha %s\n", FRR_HA_VERSION);
		show_resync_text(vty, &st);
		vty_out(vty, "BGP route processors connected:\n");
	}

	for (ALL_LIST_ELEMENTS_RO(zrouter.client_list, node, client))
		if (client->proto == ZEBRA_ROUTE_BGP)
			show_client(vty, client, json_clients);
	/* The owner of the BGP routes: the client that sent them (a standby
	 * sends none). */
	for (ALL_LIST_ELEMENTS_RO(zrouter.client_list, node, client))
		if (client->proto == ZEBRA_ROUTE_BGP &&
		    client->v4_route_add_cnt + client->v6_route_add_cnt > 0) {
			if (uj)
				json_object_int_add(json, "ownerSocket", client->sock);
			else
				vty_out(vty, "Owner of the BGP routes: client on socket %d\n",
					client->sock);
			break;
		}

	if (uj) {
		json_object_object_add(json, "bgpClients", json_clients);
		return vty_json(vty, json);
	}
	return CMD_SUCCESS;
}

void zebra_ha_vty_init(void)
{
	install_element(VIEW_NODE, &show_zebra_ha_cmd);
}
