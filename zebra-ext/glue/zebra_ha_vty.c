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

		json_object_int_add(j, "instance", client->instance);
		json_object_int_add(j, "sessionId", client->session_id);
		json_object_int_add(j, "routesAdded", routes);
		json_object_array_add(json_clients, j);
		return;
	}
	vty_out(vty, "  bgp instance %u session %u: %u routes added\n",
		client->instance, client->session_id, routes);
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
	struct listnode *node;
	struct zserv *client;

	if (uj) {
		json = json_object_new_object();
		json_clients = json_object_new_array();
		json_object_string_add(json, "version", FRR_HA_VERSION);
	} else {
		vty_out(vty, "frr-ha %s\nBGP route processors connected:\n",
			FRR_HA_VERSION);
	}

	for (ALL_LIST_ELEMENTS_RO(zrouter.client_list, node, client))
		if (client->proto == ZEBRA_ROUTE_BGP)
			show_client(vty, client, json_clients);

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
