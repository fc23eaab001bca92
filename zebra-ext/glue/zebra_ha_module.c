/*
 * zebra -M ha[:sweep=SECONDS]: the module's entry point. It keeps the FIB
 * through a change of BGP route processor (zebra_ha_keep.c) and shows what
 * it does ("show zebra ha"). SECONDS bounds how long routes the new active
 * does not send again stay installed (default 60).
 */
#include <zebra.h>

#include "libfrr.h"
#include "module.h"

#include "zebra_ha_glue.h"

static int zebra_ha_late_init(struct thread_master *master)
{
	const char *args = THIS_MODULE->load_args;
	unsigned int sweep = 0;

	if (args && *args && (sscanf(args, "sweep=%u", &sweep) != 1 || sweep == 0 ||
			      sweep > 3600)) {
		zlog_err("frr-ha: zebra module argument '%s' not understood (expected sweep=1..3600); using %u s",
			 args, ZEBRA_HA_DEFAULT_SWEEP_SECONDS);
		sweep = 0;
	}
	zebra_ha_vty_init();
	zebra_ha_keep_init(master, sweep);
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
