/*
 * Freed heap given back to the kernel from time to time (core:
 * ../../core/heap_give_back.hpp).
 */
#ifndef FRR_HA_HEAP_H
#define FRR_HA_HEAP_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct frr_ha_heap;
struct frr_ha_heap *frr_ha_heap_new(void);
void frr_ha_heap_free(struct frr_ha_heap *heap);

struct frr_ha_heap_gave_back {
	size_t rss_before, rss_after; /* bytes */
	double ms;
};
/* Gives the free heap back when it is worth it (enough lies free and the
 * process grew since the last time): true and what it gave, else false. */
bool frr_ha_heap_tick(struct frr_ha_heap *heap, struct frr_ha_heap_gave_back *out);

#ifdef __cplusplus
}
#endif

#endif
