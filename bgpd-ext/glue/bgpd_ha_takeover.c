/*
 * The takeover and the difference (docs/transparent-failover.md). The new
 * active continues each shadow on the same socket (or ends it for a
 * graceful restart, bgpd_ha_gr.c, or restarts it); once its own update
 * generation for the peer has settled, it sends the peer the difference.
 * Also the other side of a planned switchover: the old active releasing
 * every mirrored session.
 */
#include <zebra.h>

#include "linklist.h"
#include "memory.h"
#include "privs.h"
#include "stream.h"
#include "thread.h"

#include "bgpd/bgpd.h"
#include "bgpd/bgp_fsm.h"
#include "bgpd/bgp_io.h"
#include "bgpd/bgp_updgrp.h"

#include "../include/frr_ha/cross_host.h"
#include "bgpd_ha_tf_private.h"

extern struct zebra_privs_t bgpd_privs;

/* What the last takeover did, for show commands and tests. */
static struct bgpd_ha_takeover_summary last_takeover;

/* Taken-over sessions awaiting their difference. */
static struct list *differences;
static struct thread *t_difference;

/* After the takeover: the difference, once the peer's output settled. */
static void difference_later(struct peer *peer);

/* --- the takeover (the new active) -------------------------------------------------- */

enum take_over_outcome { TAKEN_BUSY, TAKEN_CONTINUED, TAKEN_GRACEFUL, TAKEN_RESTARTED };

/* A continued session's line for bgpd's log, said once every session is
 * continued (a log line costs more than a session's takeover). */
struct continued_note {
	struct peer *peer;
	size_t completed_bytes, unsent_messages;
	char rebuilt[192]; /* across hosts: how the socket was rebuilt */
};

/* The tap's part of one shadow's takeover (peer->io_mtx held). Across
 * hosts the peer's socket is rebuilt here (repair mode: CAP_NET_ADMIN,
 * raised for those only), with the configured TCP-MD5 key. */
static bool tap_take_over(struct ha_shadow *s, bool writers_gone, struct frr_ha_tap_info *info,
			  char *why, size_t why_len)
{
	struct peer *peer = s->peer;
	bool ok = false;

	if (!s->across_hosts)
		return frr_ha_tap_take_over(bgpd_ha_taps(), s->fd, peer->max_packet_size,
					    writers_gone, NULL, info, why, why_len);
	frr_with_privs (&bgpd_privs) {
		ok = frr_ha_tap_take_over(bgpd_ha_taps(), s->fd, peer->max_packet_size, true,
					  peer->password, info, why, why_len);
	}
	return ok;
}

/* One shadow. may_wait false: a session whose I/O lock the I/O pthread
 * holds now (it is waking at the mirror's end) is left for a later pass
 * rather than waited for, so the pass goes on with the others. Its send-log
 * reads were stopped already, all at once (bgpd_ha_take_over_all). */
static enum take_over_outcome take_over_one(struct ha_shadow *s, bool writers_gone,
					    bool may_wait, struct continued_note *note)
{
	struct peer *peer = s->peer;
	struct frr_ha_tap_info info = {};
	struct frr_ha_mode_decision decision = bgpd_ha_peer_decision(peer);
	char why[256] = "";
	bool ok = false, output_waits = false;

	if (peer->status == Established && peer->fd == s->fd &&
	    decision.mode == FRR_HA_SESSION_GRACEFUL_RESTART) {
		THREAD_OFF(s->t_ended);
		bgpd_ha_gr_end_shadow(s);
		return TAKEN_GRACEFUL;
	}
	if (decision.mode == FRR_HA_SESSION_PLAIN_RESTART)
		snprintf(why, sizeof(why), "%s", decision.reason);
	else if (s->across_hosts && !frr_ha_cross_host_may_continue(bgpd_ha_pair_node(), s->session))
		snprintf(why, sizeof(why),
			 "its streams from the active host ended while the active went on without this host");
	else if (peer->status != Idle && peer->fd == s->fd) {
		if (may_wait)
			pthread_mutex_lock(&peer->io_mtx);
		else if (pthread_mutex_trylock(&peer->io_mtx) != 0)
			return TAKEN_BUSY;
		bgpd_ha_shadow_swallow_queued(peer);
		ok = tap_take_over(s, writers_gone, &info, why, sizeof(why));
		/* What the shadow queued, or a wait it armed that has not
		 * fired yet: that wait is on the shadow's send-log link, closed
		 * by the takeover, and a keepalive queued later finds it armed
		 * and adds none of its own (seen: a planned switchover right at
		 * the shadows' keepalive timer, nothing written for 10 s). */
		output_waits = stream_fifo_count_safe(peer->obuf) > 0 ||
			       thread_is_scheduled(peer->t_write);
		pthread_mutex_unlock(&peer->io_mtx);
	} else
		snprintf(why, sizeof(why), "the shadow session is down");
	THREAD_OFF(s->t_ended);
	if (!ok && peer->status == Established && peer->fd == s->fd &&
	    bgpd_ha_gr_possible(peer)) {
		/* Never a continuation that guesses: a graceful restart
		 * keeps the peer's routes and ours. */
		zlog_warn("frr-ha: %s: not continued (%s): graceful restart instead", peer->host,
			  why);
		bgpd_ha_gr_end_shadow(s);
		return TAKEN_GRACEFUL;
	}
	if (!ok) {
		bgpd_ha_shadow_stop(s, why);
		return TAKEN_RESTARTED;
	}
	last_takeover.completed_bytes += info.completed_bytes;
	last_takeover.unsent_messages += info.unsent_messages;
	last_takeover.differences_pending++;
	*note = (struct continued_note){peer, info.completed_bytes, info.unsent_messages, ""};
	snprintf(note->rebuilt, sizeof(note->rebuilt), "%s", info.takeover_rebuilt);
	bgpd_ha_shadow_hold_timer_on(s);
	bgpd_ha_shadow_free(s);
	difference_later(peer);
	/* Input: the rest of the mirror, then the socket itself. The I/O
	 * pthread's wait on the mirror wakes at its end (the links are shut or
	 * closed), and its handler moves the wait to the socket itself. A wait
	 * parked at the gate must be moved now. Output: only what the shadow
	 * queued, or a wait it left armed (on its send-log link, where a
	 * shadow's writes wait), needs a wait on the socket now; whatever bgpd
	 * queues later arms its own, as on any session. Both moves are the I/O
	 * pthread's own (bgp_io_rewait, on that pthread, so never racing the
	 * mirror's handler): the loop waits for that busy pthread nowhere. */
	if (output_waits && !CHECK_FLAG(peer->thread_flags, PEER_THREAD_WRITES_ON))
		bgp_writes_on(peer);
	if (info.input_moved || output_waits || *info.takeover_rebuilt)
		bgp_io_rewait(peer);
	return TAKEN_CONTINUED;
}

/* Passes that skip a busy session before one that waits for each. */
#define TAKEOVER_PASSES_WITHOUT_WAITING 3

void bgpd_ha_take_over_all(void)
{
	uint64_t started = bgpd_ha_now_ms(), took;
	unsigned int counts[TAKEN_RESTARTED + 1] = {}, nshadows = bgpd_ha_shadow_count(), left,
		     noted = 0;
	bool writers_gone = bgpd_ha_partner_writers_gone();
	struct ha_shadow **todo = XCALLOC(MTYPE_HA_SHADOW, (nshadows + 1) * sizeof(*todo));
	struct continued_note *notes = XCALLOC(MTYPE_HA_SHADOW, (nshadows + 1) * sizeof(*notes));

	memset(&last_takeover, 0, sizeof(last_takeover));
	last_takeover.happened = true;
	last_takeover.at_unix_ms = (int64_t)time(NULL) * 1000;
	bgpd_ha_shadow_each(todo);
	/* The takeover reads each send log to its end itself. */
	bgpd_ha_sendlog_stop_all(todo, nshadows);
	left = nshadows;
	for (int pass = 0; left; pass++) {
		bool may_wait = pass >= TAKEOVER_PASSES_WITHOUT_WAITING;

		for (unsigned int i = 0; i < nshadows; i++) {
			enum take_over_outcome taken;

			if (!todo[i])
				continue;
			taken = take_over_one(todo[i], writers_gone, may_wait, &notes[noted]);
			if (taken == TAKEN_BUSY)
				continue;
			counts[taken]++;
			noted += taken == TAKEN_CONTINUED;
			todo[i] = NULL;
			left--;
		}
	}
	took = bgpd_ha_now_ms() - started;
	last_takeover.shadows = nshadows;
	last_takeover.continued = counts[TAKEN_CONTINUED];
	last_takeover.graceful = counts[TAKEN_GRACEFUL];
	last_takeover.restarted = counts[TAKEN_RESTARTED];
	last_takeover.duration_ms = took;
	if (nshadows)
		zlog_notice("frr-ha: %u of %u shadow sessions continued in %" PRIu64 " ms, %u restart gracefully, %u restart%s",
			    counts[TAKEN_CONTINUED], nshadows, took, counts[TAKEN_GRACEFUL],
			    counts[TAKEN_RESTARTED],
			    writers_gone ? " (the old active's links read to their end before its exit was over)"
					 : "");
	for (unsigned int i = 0; i < noted; i++)
		zlog_notice("frr-ha: %s: session continued (%zu bytes completed, %zu messages of the old active not sent)%s%s",
			    notes[i].peer->host, notes[i].completed_bytes,
			    notes[i].unsent_messages, *notes[i].rebuilt ? "; socket " : "",
			    notes[i].rebuilt);
	XFREE(MTYPE_HA_SHADOW, notes);
	XFREE(MTYPE_HA_SHADOW, todo);
}

void bgpd_ha_tf_last_takeover(struct bgpd_ha_takeover_summary *out)
{
	*out = last_takeover;
}

/* --- the difference (the new active) ------------------------------------------------ */

static void emit_to_fifo(void *ctx, const void *data, size_t len)
{
	struct stream *s = stream_new(len);
	char hex[2 * 48 + 1] = "";

	for (size_t i = 19; i < len && i < 19 + 48; i++)
		snprintf(hex + 2 * (i - 19), 3, "%02x", ((const uint8_t *)data)[i]);
	zlog_debug("frr-ha: takeover difference: %zu-byte UPDATE %s%s", len, hex,
		   len > 19 + 48 ? "..." : "");

	stream_put(s, data, len);
	stream_fifo_push(ctx, s);
}

/* The messages that bring the peer to what this RP believes it holds go
 * out before anything the shadow had queued (peer->io_mtx held). */
static void send_first(struct peer *peer)
{
	struct stream_fifo *queued = stream_fifo_new();
	struct stream *s;

	while ((s = stream_fifo_pop(peer->obuf)))
		stream_fifo_push(queued, s);
	frr_ha_tap_takeover_messages(bgpd_ha_taps(), peer->fd, emit_to_fifo, peer->obuf);
	while ((s = stream_fifo_pop(queued)))
		stream_fifo_push(peer->obuf, s);
	stream_fifo_free(queued);
}

/* Once the new active's own update generation for a peer has settled, the
 * peer gets the difference between what the old active wrote and what this
 * RP's FSM believes it sent. Before that, messages still queued here would
 * look like a difference. */
struct ha_difference {
	struct peer *peer;
	int fd;
};

static bool output_settled(struct peer *peer)
{
	afi_t afi;
	safi_t safi;
	bool empty;

	FOREACH_AFI_SAFI (afi, safi) {
		struct peer_af *paf = peer_af_find(peer, afi, safi);

		if (!paf || !paf->subgroup)
			continue;
		if (paf->subgroup->t_coalesce || subgroup_packets_to_build(paf->subgroup) ||
		    (paf->next_pkt_to_send && paf->next_pkt_to_send->buffer))
			return false;
	}
	frr_with_mutex (&peer->io_mtx) {
		empty = stream_fifo_count_safe(peer->obuf) == 0;
	}
	return empty;
}

static void tf_difference_check(struct thread *t)
{
	struct listnode *node, *next;
	struct ha_difference *d;

	for (ALL_LIST_ELEMENTS(differences, node, next, d)) {
		struct peer *peer = d->peer;
		struct frr_ha_tap_info info = {};
		size_t n = 0;

		if (peer->status == Established && peer->fd == d->fd && !output_settled(peer))
			continue;
		if (peer->status == Established && peer->fd == d->fd) {
			frr_with_mutex (&peer->io_mtx) {
				send_first(peer);
				frr_ha_tap_info(bgpd_ha_taps(), peer->fd, &info);
			}
			n = info.takeover_diff_messages;
			last_takeover.difference_messages += n;
			last_takeover.duplicates_dropped += info.duplicates_dropped;
			if (info.takeover_diff_problem[0]) {
				/* Checked at hand-over and at takeover: this
				 * is a record that broke in between. */
				last_takeover.differences_failed++;
				zlog_warn("frr-ha: %s: no difference made after the takeover: %s",
					  peer->host, info.takeover_diff_problem);
			} else
				zlog_notice("frr-ha: %s: %zu messages brought the peer up to date (%" PRIu64 " mirrored bytes not read twice)",
					    peer->host, n, info.duplicates_dropped);
			if (n)
				bgp_writes_on(peer);
		}
		if (last_takeover.differences_pending)
			last_takeover.differences_pending--;
		listnode_delete(differences, d);
		peer_unlock(peer);
		XFREE(MTYPE_HA_SHADOW, d);
	}
	if (listcount(differences))
		thread_add_timer_msec(bgpd_ha_tf_master(), tf_difference_check, NULL, 100,
				      &t_difference);
}

static void difference_later(struct peer *peer)
{
	struct ha_difference *d = XCALLOC(MTYPE_HA_SHADOW, sizeof(*d));

	d->peer = peer_lock(peer);
	d->fd = peer->fd;
	listnode_add(differences, d);
	thread_add_timer_msec(bgpd_ha_tf_master(), tf_difference_check, NULL, 100,
			      &t_difference);
}

/* --- release (the old active) ------------------------------------------------------ */

/* The old active's last act for each mirrored session: never touch the
 * socket again, close the links. The new active continues from there. */
void bgpd_ha_release_all(void)
{
	struct listnode *bn, *pn;
	struct bgp *bgp;
	struct peer *peer;

	bgpd_ha_handover_unwatch(NULL, true);
	/* Across hosts, a session on a service address goes on from the
	 * other host, on a socket of its own: this one closes without a FIN
	 * (repair mode: CAP_NET_ADMIN). The others close as any session. */
	frr_with_privs (&bgpd_privs) {
		for (ALL_LIST_ELEMENTS_RO(bm->bgp, bn, bgp))
			for (ALL_LIST_ELEMENTS_RO(bgp->peer, pn, peer)) {
				bool silently = bgpd_ha_relay_across_hosts() &&
						peer_established(peer) &&
						bgpd_ha_service_address_moves(peer->su_local);

				char why[256] = "";
				bool released = true;

				if (peer->fd < 0)
					continue;
				frr_with_mutex (&peer->io_mtx) {
					released = frr_ha_tap_release(bgpd_ha_taps(), peer->fd,
								      silently, why, sizeof(why));
				}
				if (!released)
					zlog_warn("frr-ha: %s: not released%s: %s", peer->host,
						  silently ? " silently (its close may send a FIN or an RST)" : "",
						  why);
			}
	}
}

void bgpd_ha_takeover_init(void)
{
	differences = list_new();
}

void bgpd_ha_takeover_fini(void)
{
	THREAD_OFF(t_difference);
	while (differences && listcount(differences)) {
		struct ha_difference *d = listnode_head(differences);

		listnode_delete(differences, d);
		/* No peer_unlock: this runs at exit, after bgpd stopped its I/O
		 * pthread (a last unlock would assert in bgp_reads_off()) and
		 * zeroed bm (so bm->terminating cannot tell). */
		XFREE(MTYPE_HA_SHADOW, d);
	}
	list_delete(&differences);
}
