/* What the zebra glue files share. C, FRR headers allowed. */
#ifndef FRR_HA_ZEBRA_HA_GLUE_H
#define FRR_HA_ZEBRA_HA_GLUE_H

#include <stdbool.h>
#include <stdint.h>

struct thread_master;

#define ZEBRA_HA_DEFAULT_SWEEP_SECONDS 60

/* Registers the module's CLI; called once from frr_late_init. */
void zebra_ha_vty_init(void);

struct zebra_ha_counters {
	uint64_t kept_disconnects;     /* a bgp client left, its routes stayed */
	uint64_t sweeps;               /* resync windows closed */
	uint64_t timer_sweeps;         /* of them, by the timer */
	uint64_t routes_swept;         /* unconfirmed routes removed */
	uint64_t fib_updates_skipped;  /* identical routes not reprogrammed */
};

struct zebra_ha_resync_status {
	unsigned int sweep_seconds;
	bool resyncing;
	unsigned long sweep_in_seconds;
	uint64_t stale_routes;
	struct zebra_ha_counters counters;
};

/* Keeps the FIB through a change of BGP route processor (zebra_ha_keep.c);
 * sweep_seconds 0 means the default. */
void zebra_ha_keep_init(struct thread_master *master, unsigned int sweep_seconds);
void zebra_ha_resync_status(struct zebra_ha_resync_status *st);

#endif /* FRR_HA_ZEBRA_HA_GLUE_H */
