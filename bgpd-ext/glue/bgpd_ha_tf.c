/*
 * Transparent failover in local mode (docs/transparent-failover.md): the
 * active hands each TF session to the standby when it comes up (the socket
 * and two links, over the hand-over socket); the standby runs a shadow of
 * the session on bgpd's own FSM, fed by the mirror, writing nothing; when
 * the standby becomes active it continues the session on the same socket.
 *
 * What every step shares: the taps (one per session, found by its socket),
 * bgpd's I/O through them and the supplied connection (patch 0007), the
 * peer status hooks and the role-change hook that dispatch to the steps,
 * and what show commands read. The steps, in the order of the data flow:
 * bgpd_ha_handover.c, bgpd_ha_shadow.c, bgpd_ha_takeover.c, bgpd_ha_gr.c.
 *
 * The byte accounting is in the core (session_tap.hpp); these files wire it
 * into bgpd and the pair's roles.
 */
#include <zebra.h>

#include "linklist.h"
#include "memory.h"
#include "frr_pthread.h"
#include "thread.h"

#include "bgpd/bgpd.h"
#include "bgpd/bgp_fsm.h"
#include "bgpd/bgp_io.h"

#include "bgpd_ha_tf_private.h"

DEFINE_MTYPE(BGPD_HA, HA_SHADOW, "HA shadow session");

static struct {
	struct thread_master *master;
	struct frr_ha_taps *taps;
	struct thread *t_orphans; /* a leaving active's orphans, once more */
	struct thread *t_sweep;	  /* the taps of closed sessions, soon */
} tf;

struct thread_master *bgpd_ha_tf_master(void)
{
	return tf.master;
}

struct frr_ha_taps *bgpd_ha_taps(void)
{
	return tf.taps;
}

enum frr_ha_role bgpd_ha_tf_role(void)
{
	struct frr_ha_node *node = bgpd_ha_pair_node();

	return node ? frr_ha_node_role(node) : FRR_HA_ROLE_INIT;
}

/* --- bgpd's I/O through the taps (I/O pthread, peer->io_mtx held) ---------- */

/* A session held back by its standby past the lag limit goes on
 * unprotected, said here as well as by the main thread's pump: with the
 * main thread busy longer than a hold time (a full table arriving), a pump
 * that never ran kept the session's input held, and its hold timer fired
 * where stock bgpd's would not. The session's other direction still runs
 * on this pthread (a keepalive out, the peer's keepalive in), so each one
 * checks; the wait that was on a link moves back to the socket. */
static void tf_lag_check(struct peer *peer, bool reading)
{
	struct frr_ha_tap_info info = {};

	if (!frr_ha_tap_pump(tf.taps, peer->fd, bgpd_ha_tf_lag_limit(), 0))
		return;
	frr_ha_tap_info(tf.taps, peer->fd, &info);
	bgpd_ha_tf_log_unprotected(peer, info.why);
	/* bgpd's main thread writes a NOTIFICATION itself (bgp_write_notify,
	 * e.g. at a hold timer's expiry): the waits are the I/O pthread's,
	 * which only that pthread may cancel, and the session is closing. */
	if (!bgp_pth_io || pthread_self() != bgp_pth_io->thread) {
		bgpd_ha_relay_log_state(peer);
		return;
	}
	if (reading) {
		/* bgp_process_reads rearms its own wait when this returns. */
		if (peer->t_write) {
			THREAD_OFF(peer->t_write);
			bgp_writes_on(peer);
		}
	} else if (peer->t_read) {
		THREAD_OFF(peer->t_read);
		bgp_reads_on(peer);
	}
}

static ssize_t tf_read(struct peer *peer, void *buf, size_t len)
{
	bool ended = false;
	ssize_t n = frr_ha_tap_read(tf.taps, peer->fd, buf, len, &ended);
	int saved = errno;

	if (ended)
		bgpd_ha_shadow_mirror_ended_later();
	else
		tf_lag_check(peer, true);
	errno = saved;
	return n;
}

static ssize_t tf_writev(struct peer *peer, const struct iovec *iov, int iovcnt)
{
	ssize_t n = frr_ha_tap_writev(tf.taps, peer->fd, iov, iovcnt);
	int saved = errno;

	tf_lag_check(peer, false);
	errno = saved;
	return n;
}

static int tf_input_fd(struct peer *peer)
{
	return frr_ha_tap_input_fd(tf.taps, peer->fd);
}

static int tf_output_fd(struct peer *peer)
{
	return frr_ha_tap_output_fd(tf.taps, peer->fd);
}

bool bgpd_ha_tf_writes_swallowed(struct peer *peer)
{
	return tf.taps && frr_ha_tap_swallows_writes(tf.taps, peer->fd);
}

static int tf_input_held_on(struct peer *peer)
{
	return frr_ha_tap_input_held_on(tf.taps, peer->fd);
}

static const struct bgp_io_tap tf_tap = {
	.read = tf_read,
	.writev = tf_writev,
	.input_fd = tf_input_fd,
	.output_fd = tf_output_fd,
	.input_held_on = tf_input_held_on,
};

/* --- peer status: a shadow's FSM, or a session of the active up ----------------- */

static int tf_status_changed(struct peer *peer)
{
	if (bgpd_ha_shadow_status_changed(peer))
		return 0;
	if (peer->status != Established || peer->ostatus == Established)
		return 0;
	bgpd_ha_handover_session_up(peer);
	return 0;
}

static void tf_sweep(struct thread *t)
{
	frr_ha_taps_sweep(tf.taps);
}

static int tf_backward(struct peer *peer)
{
	/* A closed session's tap goes, and its links with it: the standby's
	 * shadow sees its mirror end. One sweep (a getsockopt per tap) for
	 * every session that closed meanwhile: one each, while 2000 sessions
	 * came up (and some failed in Connect), held the active's main thread
	 * four times as long as the load needed (docs/benchmarks.md, "2000 x
	 * 1k"). A tap is found by its socket's cookie, so a descriptor
	 * reused before the sweep never finds the old one. */
	bgpd_ha_handover_unwatch(peer, false);
	thread_add_event(tf.master, tf_sweep, NULL, 0, &tf.t_sweep);
	return 0;
}

/* --- role changes ------------------------------------------------------------------ */

/* After the stops the role's change queued (bgpd_ha_hold_sessions). */
#define TF_ORPHANS_LATER_MS 200

static void tf_orphans_later(struct thread *t)
{
	if (bgpd_ha_tf_role() != FRR_HA_ROLE_ACTIVE)
		bgpd_ha_fence_destroy_orphans();
}

/* The frr_ha_role_changed hook: take over the shadows (active), hand every
 * mirrored session back untouched (leaving active), listen for hand-overs
 * (standby). */
static int tf_role_changed(enum frr_ha_role previous, enum frr_ha_role role)
{
	if (role == FRR_HA_ROLE_ACTIVE) {
		bgpd_ha_handover_stop_listening();
		bgpd_ha_take_over_all();
		return 0;
	}
	if (previous == FRR_HA_ROLE_ACTIVE) {
		/* Across hosts the service addresses go first: a peer's
		 * segment that reached this host after the silent close of its
		 * session and before the address went would find no socket,
		 * and this kernel's RST, at the very sequence number the peer
		 * expects, would end the session the partner continues (the
		 * fence lets it out while the lease runs: a planned
		 * switchover). Without the address the segment is not this
		 * host's. */
		bgpd_ha_service_follow();
		bgpd_ha_release_all();
		bgpd_ha_relay_hold_stop();
		/* What bgpd closed while fenced (before it stepped down, and
		 * as the role's change stops its sessions) holds 4-tuples
		 * this host's shadows need. */
		bgpd_ha_fence_destroy_orphans();
		thread_add_timer_msec(tf.master, tf_orphans_later, NULL, TF_ORPHANS_LATER_MS,
				      &tf.t_orphans);
	}
	if (role == FRR_HA_ROLE_STANDBY)
		bgpd_ha_handover_listen();
	return 0;
}

/* --- show ------------------------------------------------------------------------------ */

bool bgpd_ha_tf_all_protected(char *why, size_t why_len)
{
	struct listnode *bn, *pn;
	struct bgp *bgp;
	struct peer *peer;

	for (ALL_LIST_ELEMENTS_RO(bm->bgp, bn, bgp))
		for (ALL_LIST_ELEMENTS_RO(bgp->peer, pn, peer)) {
			struct frr_ha_tap_info info = {};

			if (!peer_established(peer) || !bgpd_ha_tf_shadowed(peer))
				continue;
			if (bgpd_ha_tf_info(peer, &info) && info.mode == FRR_HA_TAP_MIRRORING)
				continue;
			snprintf(why, why_len,
				 "neighbor %s is not protected by the standby yet (%s%s%s)",
				 peer->host, info.mode_name ? info.mode_name : "no stream",
				 info.why[0] ? ": " : "", info.why);
			return false;
		}
	return true;
}

bool bgpd_ha_tf_info(struct peer *peer, struct frr_ha_tap_info *info)
{
	bool ok = false;

	if (peer->fd < 0)
		return false;
	frr_with_mutex (&peer->io_mtx) {
		ok = frr_ha_tap_info(tf.taps, peer->fd, info);
	}
	return ok;
}

/* --- module init/fini of the transparent failover --------------------------------- */

/* A tap refused a mode change its session's state does not allow. */
static void tf_tap_refused(const char *text)
{
	zlog_warn("frr-ha: %s", text);
}

void bgpd_ha_tf_init(struct thread_master *master)
{
	tf.master = master;
	tf.taps = frr_ha_taps_new();
	frr_ha_taps_set_log(tf.taps, tf_tap_refused);
	bgpd_ha_handover_init();
	bgpd_ha_shadow_init();
	bgpd_ha_sendlogs_init();
	bgpd_ha_takeover_init();
	/* From the first connection on: an active keeps every session's
	 * history from its first byte until the session is handed over. */
	bgp_io_tap = &tf_tap;
	bgp_supplied_connection = bgpd_ha_shadow_supplied_connection;
	hook_register(peer_status_changed, tf_status_changed);
	hook_register(peer_backward_transition, tf_backward);
	hook_register(frr_ha_role_changed, tf_role_changed);
}

void bgpd_ha_tf_fini(void)
{
	hook_unregister(frr_ha_role_changed, tf_role_changed);
	THREAD_OFF(tf.t_orphans);
	THREAD_OFF(tf.t_sweep);
	bgp_io_tap = NULL;
	bgp_supplied_connection = NULL;
	bgpd_ha_handover_fini();
	bgpd_ha_shadow_fini();
	bgpd_ha_sendlogs_fini();
	bgpd_ha_takeover_fini();
	frr_ha_taps_free(tf.taps);
	tf.taps = NULL;
}
