/* What the zebra glue files share. C, FRR headers allowed. */
#ifndef FRR_HA_ZEBRA_HA_GLUE_H
#define FRR_HA_ZEBRA_HA_GLUE_H

/* Registers the module's CLI; called once from frr_late_init. */
void zebra_ha_vty_init(void);

/* Keeps BGP routes installed while a route processor of the pair remains. */
void zebra_ha_keep_init(void);

#endif /* FRR_HA_ZEBRA_HA_GLUE_H */
