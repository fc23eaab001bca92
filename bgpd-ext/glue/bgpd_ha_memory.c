/*
 * An RP gives the heap a table load or a hand-over freed back to the kernel
 * (core: heap_give_back.hpp): glibc keeps it resident otherwise, and the
 * pair is measured against stock bgpd's memory (docs/benchmarks.md).
 */
#include <zebra.h>

#include "log.h"
#include "thread.h"

#include "../include/frr_ha/heap.h"
#include "bgpd_ha_glue.h"

/* Each look costs a walk of malloc's free lists. A give-back waits for a
 * look that finds the process no longer growing: 5 to 10 s after a load. */
#define HEAP_LOOK_EVERY_S 5

static struct {
	struct thread_master *master;
	struct thread *t_look;
	struct frr_ha_heap *heap;
} memory;

static void heap_look(struct thread *t)
{
	struct frr_ha_heap_gave_back g;

	if (frr_ha_heap_tick(memory.heap, &g))
		zlog_info("frr-ha: gave freed heap back to the kernel: RSS %zu -> %zu MiB (%.1f ms)",
			  g.rss_before >> 20, g.rss_after >> 20, g.ms);
	thread_add_timer(memory.master, heap_look, NULL, HEAP_LOOK_EVERY_S, &memory.t_look);
}

void bgpd_ha_memory_init(struct thread_master *master)
{
	memory.master = master;
	memory.heap = frr_ha_heap_new();
	thread_add_timer(master, heap_look, NULL, HEAP_LOOK_EVERY_S, &memory.t_look);
}

void bgpd_ha_memory_fini(void)
{
	THREAD_OFF(memory.t_look);
	frr_ha_heap_free(memory.heap);
	memory.heap = NULL;
}
