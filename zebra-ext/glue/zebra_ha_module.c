/*
 * zebra -M ha: the module's entry point. It will keep the old active's FIB
 * through a switchover. Today: BGP routes stay while one route processor of
 * the pair is connected, and "show zebra ha" lists the BGP clients.
 */
#include <zebra.h>

#include "libfrr.h"
#include "module.h"

#include "zebra_ha_glue.h"

static int zebra_ha_late_init(struct thread_master *master)
{
	zebra_ha_vty_init();
	zebra_ha_keep_init();
	zlog_info("frr-ha: zebra module %s loaded", FRR_HA_VERSION);
	return 0;
}

static int zebra_ha_module_init(void)
{
	hook_register(frr_late_init, zebra_ha_late_init);
	return 0;
}

FRR_MODULE_SETUP(.name = "zebra_ha", .version = FRR_HA_VERSION,
		 .description = "frr-ha: keeps forwarding through switchovers",
		 .init = zebra_ha_module_init,
);
