/*
 * The standby's shadows, the step of a session's data flow after the
 * hand-over (docs/transparent-failover.md). A hand-over starts one on bgpd's own FSM,
 * on the shared socket, fed by the mirror; once the FSM has the OPEN its
 * descriptor is isolated (the standby is silent by construction). A shadow
 * that ends here ends here only, and tells the active why.
 */
#include <zebra.h>

#include "jhash.h"
#include "memory.h"
#include "network.h"
#include "stream.h"
#include "thread.h"

#include "bgpd/bgpd.h"
#include "bgpd/bgp_fsm.h"
#include "bgpd/bgp_io.h"
#include "bgpd/bgp_debug.h"

#include "../include/frr_ha/cross_host.h"
#include "bgpd_ha_tf_private.h"

/* A mirror that closed while this RP stays standby: the active ended the
 * session (not died: its death makes this RP active well within this). */
#define TF_MIRROR_END_GRACE_MS 1000

/* Keyed by peer: a shadow is looked up on every status change of every
 * peer, which a list made O(sessions) each at a thousand sessions. */
static int shadow_cmp(const struct ha_shadow *a, const struct ha_shadow *b)
{
	return numcmp((uintptr_t)a->peer, (uintptr_t)b->peer);
}

static uint32_t shadow_hash(const struct ha_shadow *s)
{
	return jhash(&s->peer, sizeof(s->peer), 0x5ad0);
}

DECLARE_HASH(ha_shadows, struct ha_shadow, by_peer, shadow_cmp, shadow_hash);

static struct ha_shadows_head shadows;
static struct thread *t_mirror_ended; /* the main thread's master lock guards it */

unsigned int bgpd_ha_shadow_count(void)
{
	return ha_shadows_count(&shadows);
}

void bgpd_ha_shadow_each(struct ha_shadow **out)
{
	struct ha_shadow *s;

	frr_each (ha_shadows, &shadows, s)
		*out++ = s;
}

static struct ha_shadow *shadow_of(struct peer *peer)
{
	struct ha_shadow ref = {.peer = peer};

	return ha_shadows_find(&shadows, &ref);
}

bool bgpd_ha_tf_is_shadow(struct peer *peer)
{
	return shadow_of(peer) != NULL;
}

void bgpd_ha_shadow_free(struct ha_shadow *s)
{
	bgpd_ha_sendlog_stop(s);
	THREAD_OFF(s->t_ended);
	ha_shadows_del(&shadows, s);
	XFREE(MTYPE_HA_SHADOW, s);
}

/* Why a shadow's FSM left Established (or never got there), as told to the
 * active: bgpd's own reset reason and the NOTIFICATION it would have sent. */
static void shadow_end_reason(struct peer *peer, char *why, size_t len)
{
	int n = snprintf(why, len, "%s", peer_down_str[peer->last_reset]);

	if (peer->last_reset == PEER_DOWN_NOTIFY_SEND && n > 0 && (size_t)n < len)
		snprintf(why + n, len - n, " (%s/%s)",
			 bgp_notify_code_str(peer->notify.code),
			 bgp_notify_subcode_str(peer->notify.code, peer->notify.subcode));
}

/* The shadow ends without a trace at the peer: its writes are swallowed
 * and the active (or its death) decides the session's fate. */
void bgpd_ha_shadow_stop(struct ha_shadow *s, const char *why)
{
	struct peer *peer = s->peer;

	zlog_info("frr-ha: %s: shadow session ends: %s", peer->host, why);
	bgpd_ha_shadow_free(s);
	if (peer->status != Idle)
		BGP_EVENT_ADD(peer, BGP_Stop);
}

/* --- the shadow's start: a hand-over adopted -------------------------------- */

/* What the shadow's FSM queued goes to its tap (swallowed, recorded for the
 * difference) here, as bgpd's I/O pthread would: on a peer this RP once ran
 * as active, that pthread's wait for writing can be lost (FRR's event loop
 * keeps a stale wait after a descriptor closed), and a message left queued
 * would reach the peer at the takeover. Called with peer->io_mtx held. */
void bgpd_ha_shadow_swallow_queued(struct peer *peer)
{
	struct stream *msg;

	while ((msg = stream_fifo_pop(peer->obuf))) {
		struct iovec iov = {.iov_base = STREAM_DATA(msg),
				    .iov_len = stream_get_endp(msg)};

		(void)frr_ha_tap_writev(bgpd_ha_taps(), peer->fd, &iov, 1);
		stream_free(msg);
	}
}

/* By bgpd's hash of addresses: a hand-over at standby start is one lookup
 * each, not a walk of every peer (O(sessions^2) at a thousand). A neighbor
 * named by interface has no address: the walk finds it. */
static struct peer *peer_by_name(const char *vrf, const char *neighbor)
{
	struct bgp *bgp = *vrf ? bgp_lookup_by_name(vrf) : bgp_get_default();
	struct listnode *node;
	struct peer *peer;
	union sockunion su;

	if (!bgp)
		return NULL;
	if (str2sockunion(neighbor, &su) == 0) {
		peer = peer_lookup(bgp, &su);
		if (peer && strcmp(peer->host, neighbor) == 0)
			return peer;
	}
	for (ALL_LIST_ELEMENTS_RO(bgp->peer, node, peer))
		if (strcmp(peer->host, neighbor) == 0)
			return peer;
	return NULL;
}

int bgpd_ha_shadow_adopt(const struct frr_ha_handover *h, int fds[3], bool across_hosts)
{
	struct peer *peer = peer_by_name(h->vrf, h->neighbor);
	const char *refuse = NULL;
	char short_of[128];
	struct ha_shadow *s;

	if (bgpd_ha_tf_role() != FRR_HA_ROLE_STANDBY)
		refuse = "this RP is not standby";
	else if (!peer)
		refuse = "no such neighbor in this RP's configuration";
	else if (shadow_of(peer) && shadow_of(peer)->t_ended) {
		/* The active hands the session over anew: the shadow whose
		 * mirror ended is over; this hand-over comes again after the
		 * active's back-off, once the old one has cleared. */
		bgpd_ha_shadow_stop(shadow_of(peer), "the active hands the session over anew");
		refuse = "the previous shadow of the neighbor is still clearing";
	} else if (shadow_of(peer) || peer->status != Idle)
		refuse = "the neighbor already has a session here";
	else if (CHECK_FLAG(peer->flags, PEER_FLAG_SHUTDOWN) ||
		 CHECK_FLAG(peer->bgp->flags, BGP_FLAG_SHUTDOWN))
		refuse = "the neighbor is shut down in this RP's configuration";
	else if (bgpd_ha_descriptors_short(fds, 3, short_of, sizeof(short_of)))
		refuse = short_of;
	if (refuse) {
		char word[256];

		zlog_warn("frr-ha: refused the hand-over of %s%s%s: %s",
			  h->neighbor, *h->vrf ? " vrf " : "", h->vrf, refuse);
		/* The active reads why on the input link. */
		snprintf(word, sizeof(word), "refused the hand-over: %s", refuse);
		(void)send(fds[1], word, strlen(word), MSG_DONTWAIT | MSG_NOSIGNAL);
		for (int i = 0; i < 3; i++)
			close(fds[i]);
		return -1;
	}
	set_nonblocking(fds[1]);
	set_nonblocking(fds[2]);
	frr_with_mutex (&peer->io_mtx) {
		frr_ha_tap_add_shadow(bgpd_ha_taps(), fds[0], fds[1], fds[2],
				      h->has_bias ? &h->bias : NULL);
	}
	s = XCALLOC(MTYPE_HA_SHADOW, sizeof(*s));
	s->peer = peer;
	s->fd = fds[0];
	s->starting = true;
	s->across_hosts = across_hosts;
	ha_shadows_add(&shadows, s);
	bgpd_ha_sendlog_follow(s, fds[2]);
	zlog_info("frr-ha: %s: shadowing the active's session%s", peer->host,
		  across_hosts ? " from the active host" : "");
	/* A peer this RP ran as active (dual-RP: the old active stays as
	 * standby) may keep a wait its last session armed on a descriptor
	 * since closed: FRR's event loop dropped it (POLLNVAL) and left the
	 * peer's t_read/t_write set, which would keep the shadow from ever
	 * reading or writing. */
	bgp_reads_off(peer);
	bgp_writes_off(peer);
	BGP_EVENT_ADD(peer, BGP_Start);
	return fds[0];
}

void bgpd_ha_shadow_history_ended(const char *vrf, const char *neighbor, int fd,
				  const struct frr_ha_tap_bias *bias)
{
	struct peer *peer = peer_by_name(vrf, neighbor);
	struct ha_shadow *s = peer ? shadow_of(peer) : NULL;
	bool known = false;

	/* A shadow that ended meanwhile (its socket closed) is not told. */
	if (!s || s->fd != fd)
		return;
	frr_with_mutex (&peer->io_mtx) {
		known = frr_ha_tap_history_ended(bgpd_ha_taps(), fd, bias);
	}
	if (known)
		zlog_info("frr-ha: %s: the active's links hold the session's whole history",
			  peer->host);
}

void bgpd_ha_shadow_follow_receiver(const char *vrf, const char *neighbor, int fd,
				    uint64_t session)
{
	struct peer *peer = peer_by_name(vrf, neighbor);
	struct ha_shadow *s = peer ? shadow_of(peer) : NULL;
	struct frr_ha_node *node = bgpd_ha_pair_node();
	bool complete = false;

	if (!s || s->fd != fd || !s->across_hosts || !node)
		return;
	s->session = session;
	frr_with_mutex (&peer->io_mtx) {
		complete = frr_ha_cross_host_shadow_follow(node, bgpd_ha_taps(), session, fd);
	}
	if (complete)
		zlog_info("frr-ha: %s: this host holds the session's whole history", peer->host);
}

void bgpd_ha_shadow_receiver_ended(const char *vrf, const char *neighbor, int fd,
				   uint64_t session)
{
	struct peer *peer = peer_by_name(vrf, neighbor);
	struct ha_shadow *s = peer ? shadow_of(peer) : NULL;
	struct frr_ha_node *node = bgpd_ha_pair_node();

	if (!s || s->fd != fd || !s->across_hosts || !node ||
	    frr_ha_cross_host_may_continue(node, session))
		return; /* it waits for the role (mirror_ended) */
	bgpd_ha_shadow_stop(s, "the active host ended its streams: it goes on without this host");
}

int bgpd_ha_shadow_supplied_connection(struct peer *peer)
{
	struct ha_shadow *s = shadow_of(peer);

	if (!s || !s->starting)
		return -1;
	s->starting = false;
	return s->fd;
}

/* --- isolation: the standby is silent by construction ----------------------- */

/* The shadow's FSM has the session's addresses (getsockname/getpeername of
 * the supplied socket, at the connection and at the OPEN): from now on
 * bgpd's descriptor is a stand-in. */
static bool shadow_isolated(struct ha_shadow *s)
{
	struct frr_ha_tap_info info = {};

	frr_with_mutex (&s->peer->io_mtx) {
		frr_ha_tap_info(bgpd_ha_taps(), s->fd, &info);
	}
	return info.isolated;
}

static void shadow_isolate(struct ha_shadow *s)
{
	char why[256] = "";
	bool ok;

	frr_with_mutex (&s->peer->io_mtx) {
		ok = frr_ha_tap_isolate(bgpd_ha_taps(), s->fd, why, sizeof(why));
	}
	if (!ok) {
		zlog_warn("frr-ha: %s: the shadow could not set the peer's socket apart: %s",
			  s->peer->host, why);
		bgpd_ha_sendlog_stop(s); /* before its link closes */
		frr_with_mutex (&s->peer->io_mtx) {
			frr_ha_tap_shadow_ended(bgpd_ha_taps(), s->fd, why);
		}
		bgpd_ha_shadow_stop(s, why);
	}
}

/* --- the shadow's FSM --------------------------------------------------------- */

/* A shadow runs no hold timer of its own: its session lives as long as the
 * active's, which ends the shadow when it ends the session (the links
 * close). A standby that is only busy, or stopped, for longer than the hold
 * time would otherwise end every shadow at once when it runs again, each
 * end a wait for the busy I/O pthread (bgp_reads_off), and the active would
 * hand every session over again. The keepalive timer stays (the shadow's
 * writes are swallowed); a hold time far beyond any stall stands in for the
 * negotiated one, which the takeover puts back. */
#define SHADOW_HOLD_TIME_S 65535

static void shadow_hold_timer_off(struct ha_shadow *s)
{
	struct peer *peer = s->peer;

	if (peer->v_holdtime == 0 || peer->v_holdtime == SHADOW_HOLD_TIME_S)
		return; /* none negotiated, or already off */
	s->holdtime = peer->v_holdtime;
	peer->v_holdtime = SHADOW_HOLD_TIME_S;
	THREAD_OFF(peer->t_holdtime);
	bgp_timer_set(peer);
}

void bgpd_ha_shadow_hold_timer_on(struct ha_shadow *s)
{
	struct peer *peer = s->peer;

	if (!s->holdtime || peer->status != Established)
		return;
	peer->v_holdtime = s->holdtime;
	s->holdtime = 0;
	THREAD_OFF(peer->t_holdtime);
	bgp_timer_set(peer);
}

bool bgpd_ha_shadow_status_changed(struct peer *peer)
{
	struct ha_shadow *shadow = shadow_of(peer);

	if (!shadow)
		return false;
	/* bgpd reads the session's addresses off its descriptor at
	 * the connection and again at the peer's OPEN: isolated once
	 * the OPEN is in (OpenConfirm). Until then every write of
	 * the shadow goes through its tap (patches 0007, 0010). */
	if (peer->status >= OpenConfirm && peer->status <= Established &&
	    !shadow_isolated(shadow))
		shadow_isolate(shadow);
	if (!shadow_of(peer))
		return true;
	if (peer->status == Established) {
		zlog_info("frr-ha: %s: shadow session Established", peer->host);
		shadow_hold_timer_off(shadow);
		frr_with_mutex (&peer->io_mtx) {
			frr_ha_tap_open_gate(bgpd_ha_taps(), peer->fd);
			bgpd_ha_shadow_swallow_queued(peer);
		}
		/* Poll the mirror again (it was parked at the gate). */
		bgp_reads_off(peer);
		bgp_reads_on(peer);
	}
	else if (peer->status == Idle || peer->status == Clearing ||
		 peer->status == Deleted) {
		/* The shadow ended on its own (hold timer, an operator,
		 * a configuration change or mismatch): on this RP
		 * only. The active's session goes on, unprotected with
		 * this reason, until it is handed over again. */
		char why[256];

		shadow_end_reason(peer, why, sizeof(why));
		zlog_warn("frr-ha: %s: shadow session went from %s to %s here only (the peer's session is untouched): %s",
			  peer->host, lookup_msg(bgp_status_msg, peer->ostatus, NULL),
			  lookup_msg(bgp_status_msg, peer->status, NULL), why);
		bgpd_ha_sendlog_stop(shadow); /* before its link closes */
		frr_with_mutex (&peer->io_mtx) {
			frr_ha_tap_shadow_ended(bgpd_ha_taps(), shadow->fd, why);
		}
		bgpd_ha_shadow_free(shadow);
	}
	return true;
}

/* --- the mirror's end ------------------------------------------------------------ */

static void tf_shadow_expire(struct thread *t)
{
	struct ha_shadow *s = THREAD_ARG(t);

	if (bgpd_ha_tf_role() == FRR_HA_ROLE_STANDBY)
		bgpd_ha_shadow_stop(s, "the active ended the session");
}

/* Across hosts the mirror also ends when the data channel goes down, and
 * this RP becomes active only after the detection time and the lease it
 * granted: the shadow waits for that, twice over. */
static unsigned int mirror_end_grace_ms(const struct ha_shadow *s)
{
	const struct frr_ha_pair_config *cfg = bgpd_ha_pair_config();

	if (!s->across_hosts || !cfg)
		return TF_MIRROR_END_GRACE_MS;
	return TF_MIRROR_END_GRACE_MS + 2 * cfg->interval_ms * cfg->multiplier;
}

/* Some shadow's mirror closed: the active ended that session, handed over
 * (planned switchover) or died. Only the role, known shortly, tells. */
static void mirror_ended(struct thread *t)
{
	struct ha_shadow *s;
	struct frr_ha_tap_info info;

	frr_each (ha_shadows, &shadows, s) {
		bool ended = false;

		frr_with_mutex (&s->peer->io_mtx) {
			ended = frr_ha_tap_info(bgpd_ha_taps(), s->fd, &info) &&
				info.mode == FRR_HA_TAP_MIRROR_ENDED;
		}
		if (ended && !s->t_ended)
			thread_add_timer_msec(bgpd_ha_tf_master(), tf_shadow_expire, s,
					      mirror_end_grace_ms(s), &s->t_ended);
	}
}

/* One pass for every mirror that ended meanwhile: a planned switchover ends
 * them all at once, and a pass per ended mirror, each over every shadow,
 * held the new active's main thread 8 s at 2000 sessions (so long that the
 * old active gave it up). From bgpd's I/O pthread too: the reference is
 * read and set under the main thread's master lock. */
void bgpd_ha_shadow_mirror_ended_later(void)
{
	thread_add_event(bgpd_ha_tf_master(), mirror_ended, NULL, 0, &t_mirror_ended);
}

void bgpd_ha_shadow_init(void)
{
	ha_shadows_init(&shadows);
}

void bgpd_ha_shadow_fini(void)
{
	unsigned int n = bgpd_ha_shadow_count();
	struct ha_shadow **all = XCALLOC(MTYPE_HA_SHADOW, (n + 1) * sizeof(*all));
	struct ha_shadow *s;

	THREAD_OFF(t_mirror_ended);
	bgpd_ha_shadow_each(all);
	bgpd_ha_sendlog_stop_all(all, n);
	XFREE(MTYPE_HA_SHADOW, all);
	while ((s = ha_shadows_first(&shadows)))
		bgpd_ha_shadow_free(s);
	ha_shadows_fini(&shadows);
}
