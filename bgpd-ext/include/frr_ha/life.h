/*
 * An RP's life page (local mode): robust mutexes that let the partner hear
 * this process die before its exit is over (core: ../../core/life_lock.hpp,
 * docs/ha-pair.md "The ownership lock").
 */
#ifndef FRR_HA_LIFE_H
#define FRR_HA_LIFE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct frr_ha_life;

/* The threads that write to peers' sockets or to the standby's links. */
enum frr_ha_life_writer {
	FRR_HA_LIFE_WRITER_MAIN = 0,
	FRR_HA_LIFE_WRITER_IO = 1,
};

/* Opens (or makes) the page at path; NULL and why on failure. */
struct frr_ha_life *frr_ha_life_open(const char *path, char *why,
				     size_t why_len);
void frr_ha_life_free(struct frr_ha_life *life);

/* This process's own page. hold: for the page's life; false and why while
 * another live process holds it. hold_writer: called by the writer thread
 * itself, which holds it until it dies or lets it go (from that thread). */
bool frr_ha_life_hold(struct frr_ha_life *life, char *why, size_t why_len);
bool frr_ha_life_hold_writer(struct frr_ha_life *life,
			     enum frr_ha_life_writer writer);
void frr_ha_life_let_writer_go(struct frr_ha_life *life,
			       enum frr_ha_life_writer writer);
bool frr_ha_life_holding(const struct frr_ha_life *life);

/* A partner's page. watch: its event fd becomes readable once the page's
 * holder and its writers are dead; then died_pid says who (0: nothing
 * heard). stop_watching forgets what was heard. */
void frr_ha_life_watch(struct frr_ha_life *life);
void frr_ha_life_stop_watching(struct frr_ha_life *life);
int frr_ha_life_event_fd(const struct frr_ha_life *life);
int frr_ha_life_died_pid(const struct frr_ha_life *life);
/* When the death was heard (CLOCK_MONOTONIC microseconds; 0: none). */
uint64_t frr_ha_life_heard_at_us(const struct frr_ha_life *life);

#ifdef __cplusplus
}
#endif

#endif /* FRR_HA_LIFE_H */
