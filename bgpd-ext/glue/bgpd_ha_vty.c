/*
 * The bgpd module's CLI. vtysh learns these commands at build time: this file
 * is handed to FRR's extract.pl (patches/0001), from a folder named "bgpd".
 */
#include <zebra.h>

#include "command.h"
#include "json.h"
#include "vty.h"

#include "bgpd/bgpd.h"
#include "bgpd/bgp_debug.h"
#include "bgpd/bgp_fsm.h"

#include "bgpd_ha_glue.h"

/* Role and partner are fixed until the HA pair exists. */
static const char *const bgpd_ha_role = "standalone";

static void show_peer(struct vty *vty, struct bgp *bgp, struct peer *peer,
		      json_object *json_peers)
{
	struct frr_ha_mode_decision d = bgpd_ha_peer_decision(peer);
	const char *configured =
		frr_ha_configured_mode_name(FRR_HA_CONFIGURED_AUTO);
	const char *state = lookup_msg(bgp_status_msg, peer->status, NULL);

	if (json_peers) {
		json_object *j = json_object_new_object();

		json_object_string_add(j, "vrf", bgp->name_pretty);
		json_object_string_add(j, "state", state);
		json_object_string_add(j, "configuredMode", configured);
		json_object_string_add(j, "switchoverMode",
				       frr_ha_session_mode_name(d.mode));
		json_object_string_add(j, "reason", d.reason);
		json_object_object_add(json_peers, peer->host, j);
		return;
	}
	vty_out(vty, "  %-39s %-12s %-16s %-16s %s\n", peer->host, state,
		configured, frr_ha_session_mode_name(d.mode), d.reason);
}

DEFUN (show_bgp_ha,
       show_bgp_ha_cmd,
       "show bgp ha [json]",
       SHOW_STR
       BGP_STR
       "Nonstop routing (frr-ha) state\n"
       JSON_STR)
{
	bool uj = use_json(argc, argv);
	json_object *json = NULL, *json_peers = NULL;
	struct listnode *bnode, *pnode;
	struct bgp *bgp;
	struct peer *peer;

	if (uj) {
		json = json_object_new_object();
		json_peers = json_object_new_object();
		json_object_string_add(json, "version", frr_ha_core_version());
		json_object_string_add(json, "role", bgpd_ha_role);
	} else {
		vty_out(vty, "frr-ha %s\n", frr_ha_core_version());
		vty_out(vty, "Role: %s\n", bgpd_ha_role);
		vty_out(vty, "Neighbors:\n  %-39s %-12s %-16s %-16s %s\n",
			"Neighbor", "State", "Configured", "Switchover",
			"Why");
	}

	for (ALL_LIST_ELEMENTS_RO(bm->bgp, bnode, bgp))
		for (ALL_LIST_ELEMENTS_RO(bgp->peer, pnode, peer))
			show_peer(vty, bgp, peer, json_peers);

	if (uj) {
		json_object_object_add(json, "neighbors", json_peers);
		return vty_json(vty, json);
	}
	return CMD_SUCCESS;
}

void bgpd_ha_vty_init(void)
{
	install_element(VIEW_NODE, &show_bgp_ha_cmd);
}
