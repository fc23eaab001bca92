/*
 * bgpd -M ha[:RP-NAME]: the module's entry point.
 *
 * Loaded as "-M ha", it reports what a switchover would do to each session.
 * Loaded as "-M ha:a" (or any RP name), this bgpd is one route processor of
 * an HA pair (docs/ha-pair.md): it holds its sessions until the pair says
 * it is the active.
 */
#include <zebra.h>

#include "libfrr.h"
#include "module.h"

#include "bgpd/bgpd.h"

#include "bgpd_ha_glue.h"

const char *bgpd_ha_rp_name(void)
{
	const char *args = THIS_MODULE->load_args;

	return args ? args : "";
}

static int bgpd_ha_late_init(struct thread_master *master)
{
	bgpd_ha_vty_init();
	bgpd_ha_standby_cli_init();
	bgpd_ha_config_sync_init();
	bgpd_ha_pair_init(master);
	bgpd_ha_tf_init(master);
	bgpd_ha_gr_init();
	bgpd_ha_service_init(master);
	bgpd_ha_descriptors_log();
	if (*bgpd_ha_rp_name()) {
		bgpd_ha_memory_init(master);
		zlog_info("frr-ha: bgpd module %s loaded as rp %s",
			  frr_ha_core_version(), bgpd_ha_rp_name());
	} else {
		zlog_info("frr-ha: bgpd module %s loaded (no HA pair)",
			  frr_ha_core_version());
	}
	return 0;
}

static int bgpd_ha_fini(void)
{
	if (*bgpd_ha_rp_name())
		bgpd_ha_memory_fini();
	bgpd_ha_standby_cli_fini();
	bgpd_ha_config_sync_fini();
	bgpd_ha_service_fini();
	bgpd_ha_gr_fini();
	bgpd_ha_tf_fini();
	bgpd_ha_pair_fini();
	bgpd_ha_modes_fini();
	return 0;
}

static int bgpd_ha_bgp_deleted(struct bgp *bgp)
{
	bgpd_ha_modes_forget(bgp);
	return 0;
}

static int bgpd_ha_module_init(void)
{
	bgpd_ha_descriptors_raise();
	bgpd_ha_modes_init(); /* before the configuration is read */
	hook_register(frr_late_init, bgpd_ha_late_init);
	hook_register(bgp_inst_delete, bgpd_ha_bgp_deleted);
	hook_register(frr_fini, bgpd_ha_fini);
	return 0;
}

FRR_MODULE_SETUP(.name = "bgpd_ha", .version = FRR_HA_VERSION,
		 .description = "frr-ha: nonstop routing for bgpd",
		 .init = bgpd_ha_module_init,
);
