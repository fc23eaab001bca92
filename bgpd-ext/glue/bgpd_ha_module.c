/*
 * bgpd -M ha: the module's entry point and its hooks into bgpd.
 */
#include <zebra.h>

#include "libfrr.h"
#include "module.h"

#include "bgpd/bgpd.h"
#include "bgpd/bgp_fsm.h"

#include "bgpd_ha_glue.h"

struct frr_ha_mode_decision bgpd_ha_peer_decision(struct peer *peer)
{
	struct frr_ha_session_facts facts = {
		.established = peer_established(peer),
		.peer_advertised_gr = CHECK_FLAG(peer->cap, PEER_CAP_RESTART_RCV),
		.local_gr_restart = bgp_peer_gr_mode_get(peer) == PEER_GR,
	};

	/* Per-neighbor modes arrive with the HA configuration; until then
	 * every neighbor is "auto". */
	return frr_ha_decide_session_mode(FRR_HA_CONFIGURED_AUTO, &facts);
}

static int bgpd_ha_late_init(struct thread_master *master)
{
	bgpd_ha_vty_init();
	zlog_info("frr-ha: bgpd module %s loaded", frr_ha_core_version());
	return 0;
}

static int bgpd_ha_module_init(void)
{
	hook_register(frr_late_init, bgpd_ha_late_init);
	return 0;
}

FRR_MODULE_SETUP(.name = "bgpd_ha", .version = FRR_HA_VERSION,
		 .description = "frr-ha: nonstop routing for bgpd",
		 .init = bgpd_ha_module_init,
);
