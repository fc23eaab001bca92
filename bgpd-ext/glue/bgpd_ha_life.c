/*
 * The life pages of local mode (docs/ha-pair.md, "The ownership lock"):
 * this RP holds its own page (bgpd's main thread and its I/O pthread each
 * hold a writer's mutex, then the page's life mutex is taken), and watches
 * its partner's: a standby hears its active die as the active's threads
 * leave, before the active's exit is over and its flock, channel and links
 * close (core: life_lock.hpp).
 */
#include <zebra.h>

#include "frr_pthread.h"
#include "frratomic.h"
#include "json.h"
#include "libfrr.h"
#include "thread.h"
#include "vty.h"

#include "bgpd/bgpd.h"

#include "bgpd_ha_glue.h"
#include "../include/frr_ha/life.h"

static struct {
	struct thread_master *master;
	struct frr_ha_life *own;
	struct frr_ha_life *partner;
	char partner_name[FRR_HA_NAME_MAX + 1];
	struct thread *t_heard;
	int died_pid; /* the partner process heard to die; 0: none */
	uint64_t deaths_heard;
	bool hold_refused_logged;
	char not_held[FRR_HA_TEXT_MAX]; /* why this RP's page is not held */
} life;

/* On the I/O pthread's loop: the I/O writer's mutex, then the life mutex
 * (nobody hears a death before both writers are held). */
static struct thread *t_io_hold;
static _Atomic bool io_hold_scheduled;

static void page_path(char *buf, size_t len, const char *rp)
{
	snprintf(buf, len, "%s/bgpd-ha-%s.life", frr_vtydir, rp);
}

static void io_hold(struct thread *t)
{
	char why[FRR_HA_TEXT_MAX] = "";

	if (frr_ha_life_hold_writer(life.own, FRR_HA_LIFE_WRITER_IO) &&
	    frr_ha_life_hold(life.own, why, sizeof(why))) {
		zlog_info("frr-ha: this RP's life page is held: its partner hears it die at once");
		return;
	}
	snprintf(life.not_held, sizeof(life.not_held), "%s",
		 *why ? why : "a writer's mutex is held by another process");
	if (!life.hold_refused_logged)
		zlog_warn("frr-ha: this RP's life page is not held (%s): its partner hears it die only when its exit is over",
			  *why ? why : "a writer's mutex is held by another process");
	life.hold_refused_logged = true;
	thread_add_timer_msec(bgp_pth_io->master, io_hold, NULL, 1000, &t_io_hold);
}

static void heard(struct thread *t)
{
	int pid = frr_ha_life_died_pid(life.partner);
	uint64_t heard_at = frr_ha_life_heard_at_us(life.partner);
	struct timespec now;

	/* Watch again at once: the partner's next process takes the page. */
	frr_ha_life_stop_watching(life.partner);
	frr_ha_life_watch(life.partner);
	thread_add_read(life.master, heard, NULL,
			frr_ha_life_event_fd(life.partner), &life.t_heard);
	if (!pid)
		return;
	life.died_pid = pid;
	life.deaths_heard++;
	clock_gettime(CLOCK_MONOTONIC, &now);
	zlog_notice("frr-ha: rp %s's process %d died (its life page says so, %" PRIu64
		    " us ago): its exit is not over yet",
		    life.partner_name, pid,
		    ((uint64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000) - heard_at);
	if (bgpd_ha_pair_node())
		frr_ha_node_partner_died(bgpd_ha_pair_node(), bgpd_ha_now_ms());
}

static void watch_partner(const char *name)
{
	char path[512], why[FRR_HA_TEXT_MAX] = "";

	if (life.partner && strcmp(name, life.partner_name) == 0)
		return;
	THREAD_OFF(life.t_heard);
	if (life.partner)
		frr_ha_life_free(life.partner);
	life.died_pid = 0;
	strlcpy(life.partner_name, name, sizeof(life.partner_name));
	page_path(path, sizeof(path), name);
	life.partner = frr_ha_life_open(path, why, sizeof(why));
	if (!life.partner) {
		zlog_warn("frr-ha: cannot watch rp %s's life page (%s): its death is heard when its exit is over",
			  name, why);
		return;
	}
	frr_ha_life_watch(life.partner);
	thread_add_read(life.master, heard, NULL,
			frr_ha_life_event_fd(life.partner), &life.t_heard);
}

void bgpd_ha_life_start(struct thread_master *master)
{
	const struct frr_ha_rp_config *self = bgpd_ha_rp_config(true);
	const struct frr_ha_rp_config *partner = bgpd_ha_rp_config(false);
	char path[512], why[FRR_HA_TEXT_MAX] = "";

	if (!self || self->tcp)
		return; /* dual-RP: no shared host (the lease, docs/dual-rp.md) */
	life.master = master;
	if (partner)
		watch_partner(partner->name);
	if (life.own)
		return;
	page_path(path, sizeof(path), self->name);
	life.own = frr_ha_life_open(path, why, sizeof(why));
	if (!life.own) {
		snprintf(life.not_held, sizeof(life.not_held), "%s", why);
		zlog_warn("frr-ha: cannot open this RP's life page (%s): its partner hears it die only when its exit is over",
			  why);
		return;
	}
	frr_ha_life_hold_writer(life.own, FRR_HA_LIFE_WRITER_MAIN);
}

/* Once bgpd's I/O pthread runs (from the pair's tick). */
void bgpd_ha_life_io_start(void)
{
	if (!life.own || !bgp_pth_io ||
	    !atomic_load_explicit(&bgp_pth_io->running, memory_order_relaxed) ||
	    atomic_exchange_explicit(&io_hold_scheduled, true, memory_order_relaxed))
		return;
	thread_add_event(bgp_pth_io->master, io_hold, NULL, 0, &t_io_hold);
}

int bgpd_ha_life_partner_died_pid(void)
{
	return life.died_pid;
}

void bgpd_ha_life_forget_death(void)
{
	life.died_pid = 0;
}

void bgpd_ha_life_show(struct vty *vty, struct json_object *json)
{
	bool held = life.own && frr_ha_life_holding(life.own);
	bool watched = life.partner != NULL;

	if (!life.master)
		return; /* dual-RP, or no pair */
	if (json) {
		struct json_object *o = json_object_new_object();

		json_object_boolean_add(o, "held", held);
		if (!held)
			json_object_string_add(o, "notHeldReason",
					       *life.not_held ? life.not_held
							      : "bgpd's I/O pthread has not taken it yet");
		json_object_boolean_add(o, "partnerWatched", watched);
		json_object_int_add(o, "partnerDeathsHeard", life.deaths_heard);
		json_object_object_add(json, "lifePage", o);
		return;
	}
	vty_out(vty, "Life page: %s%s; rp %s's %s, %" PRIu64 " deaths heard\n",
		held ? "held (the partner hears this RP die at once)" : "not held: ",
		held ? "" : (*life.not_held ? life.not_held : "bgpd's I/O pthread has not taken it yet"),
		life.partner_name, watched ? "watched" : "not watched",
		life.deaths_heard);
}

void bgpd_ha_life_fini(void)
{
	THREAD_OFF(life.t_heard);
	if (life.partner)
		frr_ha_life_free(life.partner);
	life.partner = NULL;
	/* The life mutex goes cleanly (no death is heard): the I/O pthread is
	 * stopped by now, its writer's mutex dies with the process. */
	if (life.own) {
		frr_ha_life_let_writer_go(life.own, FRR_HA_LIFE_WRITER_MAIN);
		frr_ha_life_free(life.own);
	}
	life.own = NULL;
}
