/*
 * What the bgpd glue files share. C, FRR headers allowed; the HA core is
 * reached only through frr_ha/bgpd_ha_core.h.
 */
#ifndef FRR_HA_BGPD_HA_GLUE_H
#define FRR_HA_BGPD_HA_GLUE_H

#include "../include/frr_ha/bgpd_ha_core.h"

struct vty;
struct peer;

/* Registers the module's CLI; called once from frr_late_init. */
void bgpd_ha_vty_init(void);

/* The switchover decision for one of bgpd's sessions, read off the peer. */
struct frr_ha_mode_decision bgpd_ha_peer_decision(struct peer *peer);

#endif /* FRR_HA_BGPD_HA_GLUE_H */
