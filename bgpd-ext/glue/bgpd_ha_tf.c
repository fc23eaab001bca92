/*
 * Transparent failover in local mode (docs/transparent-failover.md): the
 * active hands each TF session to the standby when it comes up (the socket
 * and two links, over the hand-over socket); the standby runs a shadow of
 * the session on bgpd's own FSM, fed by the mirror, writing nothing; when
 * the standby becomes active it continues the session on the same socket.
 *
 * The byte accounting is in the core (session_tap.hpp); this file wires it
 * into bgpd (patch 0007) and the pair's roles.
 */
#include <zebra.h>

#include <sys/socket.h>
#include <sys/un.h>

#include "linklist.h"
#include "memory.h"
#include "network.h"
#include "privs.h"
#include "stream.h"
#include "thread.h"

#include "bgpd/bgpd.h"
#include "bgpd/bgp_fsm.h"
#include "bgpd/bgp_io.h"
#include "bgpd/bgp_debug.h"
#include "bgpd/bgp_updgrp.h"

#include "bgpd_ha_glue.h"

extern struct zebra_privs_t bgpd_privs;

DEFINE_MTYPE_STATIC(BGPD_HA, HA_SHADOW, "HA shadow session");

/* Socket buffer of the active's end of each link: room for bursts while
 * the standby catches up. The hand-over's history streams through it (it
 * need not fit); a full link holds its session back (bgp ha
 * standby-lag-limit), so a larger buffer only delays that. */
#define TF_LINK_BUFFER (2 << 20)
/* A mirror that closed while this RP stays standby: the active ended the
 * session (not died: its death makes this RP active well within this). */
#define TF_MIRROR_END_GRACE_MS 1000
/* After a graceful end at takeover, how long this RP leaves the peer to
 * reconnect before connecting itself. */
#define TF_GR_PEER_FIRST_MOVE_S 5
/* How often an active looks for sessions a standby could take. */
#define TF_PROTECT_SWEEP_MS 1000
/* How often an active moves hand-overs on and checks the standby's lag. */
#define TF_PUMP_MS 50
/* A sweep that has spent this long making histories leaves the other
 * sessions to the next one: a full table's history takes a good fraction
 * of a second on the main thread (under the session's I/O lock), and two
 * of them back to back would double the main loop's pause. */
#define TF_SWEEP_BUDGET_MS 200

struct ha_shadow {
	struct peer *peer;
	int fd;	       /* bgpd's descriptor: the socket, then a stand-in */
	bool starting; /* bgp_start() takes fd next */
	struct thread *t_sendlog;
	struct thread *t_ended;
};

/* Active: a mirrored session whose input link is watched for the standby's
 * word (it ended its shadow, or went away). */
struct ha_watch {
	struct peer *peer;
	int fd;	     /* the session's socket */
	int word_fd; /* the input link, as the tap holds it */
	struct thread *t_read;
};

/* What the last takeover did, for show commands and tests. */
static struct bgpd_ha_takeover_summary last_takeover;

static struct {
	struct thread_master *master;
	struct frr_ha_taps *taps;
	struct list *shadows;
	int listen_fd; /* standby: hand-overs arrive here */
	struct list *handover_conns;
	struct list *differences; /* taken-over sessions awaiting their difference */
	struct list *watches;	  /* active: mirrored sessions */
	unsigned int lag_limit_ms; /* bgp ha standby-lag-limit */
	struct thread *t_pump;
	struct thread *t_accept, *t_sweep, *t_difference;
} tf = {.listen_fd = -1};

static enum frr_ha_role current_role(void)
{
	struct frr_ha_node *node = bgpd_ha_pair_node();

	return node ? frr_ha_node_role(node) : FRR_HA_ROLE_INIT;
}

/* The hand-over socket of an RP: beside its channel socket (local mode). */
static bool handover_path(bool self, struct sockaddr_un *sun)
{
	const struct frr_ha_rp_config *rp = bgpd_ha_rp_config(self);

	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (!rp || rp->tcp)
		return false;
	return snprintf(sun->sun_path, sizeof(sun->sun_path), "%s.sessions",
			rp->unix_path) < (int)sizeof(sun->sun_path);
}

/* --- bgpd's I/O through the taps (I/O pthread, peer->io_mtx held) ---------- */

static void tf_mirror_ended(struct thread *t);

static ssize_t tf_read(struct peer *peer, void *buf, size_t len)
{
	bool ended = false;
	ssize_t n = frr_ha_tap_read(tf.taps, peer->fd, buf, len, &ended);
	int saved = errno;

	if (ended)
		thread_add_event(tf.master, tf_mirror_ended, NULL, 0, NULL);
	errno = saved;
	return n;
}

static ssize_t tf_writev(struct peer *peer, const struct iovec *iov, int iovcnt)
{
	return frr_ha_tap_writev(tf.taps, peer->fd, iov, iovcnt);
}

static int tf_input_fd(struct peer *peer)
{
	return frr_ha_tap_input_fd(tf.taps, peer->fd);
}

static int tf_output_fd(struct peer *peer)
{
	return frr_ha_tap_output_fd(tf.taps, peer->fd);
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

/* --- shadows (standby) --------------------------------------------------------- */

static struct ha_shadow *shadow_of(struct peer *peer)
{
	struct listnode *node;
	struct ha_shadow *s;

	for (ALL_LIST_ELEMENTS_RO(tf.shadows, node, s))
		if (s->peer == peer)
			return s;
	return NULL;
}

bool bgpd_ha_tf_is_shadow(struct peer *peer)
{
	return shadow_of(peer) != NULL;
}

static void shadow_free(struct ha_shadow *s)
{
	THREAD_OFF(s->t_sendlog);
	THREAD_OFF(s->t_ended);
	listnode_delete(tf.shadows, s);
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
static void shadow_stop(struct ha_shadow *s, const char *why)
{
	struct peer *peer = s->peer;

	zlog_info("frr-ha: %s: shadow session ends: %s", peer->host, why);
	shadow_free(s);
	if (peer->status != Idle)
		BGP_EVENT_ADD(peer, BGP_Stop);
}

/* The shadow's FSM has the session's addresses (getsockname/getpeername of
 * the supplied socket, at the connection and at the OPEN): from now on
 * bgpd's descriptor is a stand-in. */
static bool shadow_isolated(struct ha_shadow *s)
{
	struct frr_ha_tap_info info = {};

	frr_with_mutex (&s->peer->io_mtx) {
		frr_ha_tap_info(tf.taps, s->fd, &info);
	}
	return info.isolated;
}

static void shadow_isolate(struct ha_shadow *s)
{
	char why[256] = "";
	bool ok;

	frr_with_mutex (&s->peer->io_mtx) {
		ok = frr_ha_tap_isolate(tf.taps, s->fd, why, sizeof(why));
	}
	if (!ok) {
		zlog_warn("frr-ha: %s: the shadow could not set the peer's socket apart: %s",
			  s->peer->host, why);
		frr_with_mutex (&s->peer->io_mtx) {
			frr_ha_tap_shadow_ended(tf.taps, s->fd, why);
		}
		shadow_stop(s, why);
	}
}

static int tf_supplied_connection(struct peer *peer)
{
	struct ha_shadow *s = shadow_of(peer);

	if (!s || !s->starting)
		return -1;
	s->starting = false;
	return s->fd;
}

static void tf_sendlog_read(struct thread *t)
{
	struct ha_shadow *s = THREAD_ARG(t);
	char why[256] = "";
	bool ok;
	int fd;

	frr_with_mutex (&s->peer->io_mtx) {
		ok = frr_ha_tap_drain_sendlog(tf.taps, s->fd, why, sizeof(why));
		fd = frr_ha_tap_sendlog_fd(tf.taps, s->fd);
	}
	if (!ok)
		zlog_warn("frr-ha: %s: %s", s->peer->host, why);
	if (fd >= 0)
		thread_add_read(tf.master, tf_sendlog_read, s, fd, &s->t_sendlog);
}

static void tf_shadow_expire(struct thread *t)
{
	struct ha_shadow *s = THREAD_ARG(t);

	if (current_role() == FRR_HA_ROLE_STANDBY)
		shadow_stop(s, "the active ended the session");
}

/* Some shadow's mirror closed: the active ended that session, handed over
 * (planned switchover) or died. Only the role, known shortly, tells. */
static void tf_mirror_ended(struct thread *t)
{
	struct listnode *node;
	struct ha_shadow *s;
	struct frr_ha_tap_info info;

	for (ALL_LIST_ELEMENTS_RO(tf.shadows, node, s)) {
		bool ended = false;

		frr_with_mutex (&s->peer->io_mtx) {
			ended = frr_ha_tap_info(tf.taps, s->fd, &info) &&
				info.mode == FRR_HA_TAP_MIRROR_ENDED;
		}
		if (ended && !s->t_ended)
			thread_add_timer_msec(tf.master, tf_shadow_expire, s,
					      TF_MIRROR_END_GRACE_MS, &s->t_ended);
	}
}

static struct peer *peer_by_name(const char *vrf, const char *neighbor)
{
	struct bgp *bgp = *vrf ? bgp_lookup_by_name(vrf) : bgp_get_default();
	struct listnode *node;
	struct peer *peer;

	if (!bgp)
		return NULL;
	for (ALL_LIST_ELEMENTS_RO(bgp->peer, node, peer))
		if (strcmp(peer->host, neighbor) == 0)
			return peer;
	return NULL;
}

/* The active handed a session over: start its shadow. */
static void tf_adopt(const struct frr_ha_handover *h, int fds[3])
{
	struct peer *peer = peer_by_name(h->vrf, h->neighbor);
	const char *refuse = NULL;
	struct ha_shadow *s;

	if (current_role() != FRR_HA_ROLE_STANDBY)
		refuse = "this RP is not standby";
	else if (!peer)
		refuse = "no such neighbor in this RP's configuration";
	else if (shadow_of(peer) || peer->status != Idle)
		refuse = "the neighbor already has a session here";
	else if (CHECK_FLAG(peer->flags, PEER_FLAG_SHUTDOWN) ||
		 CHECK_FLAG(peer->bgp->flags, BGP_FLAG_SHUTDOWN))
		refuse = "the neighbor is shut down in this RP's configuration";
	if (refuse) {
		char word[256];

		zlog_warn("frr-ha: refused the hand-over of %s%s%s: %s",
			  h->neighbor, *h->vrf ? " vrf " : "", h->vrf, refuse);
		/* The active reads why on the input link. */
		snprintf(word, sizeof(word), "refused the hand-over: %s", refuse);
		(void)send(fds[1], word, strlen(word), MSG_DONTWAIT | MSG_NOSIGNAL);
		for (int i = 0; i < 3; i++)
			close(fds[i]);
		return;
	}
	set_nonblocking(fds[1]);
	set_nonblocking(fds[2]);
	frr_with_mutex (&peer->io_mtx) {
		frr_ha_tap_add_shadow(tf.taps, fds[0], fds[1], fds[2], &h->bias);
	}
	s = XCALLOC(MTYPE_HA_SHADOW, sizeof(*s));
	s->peer = peer;
	s->fd = fds[0];
	s->starting = true;
	listnode_add(tf.shadows, s);
	thread_add_read(tf.master, tf_sendlog_read, s, fds[2], &s->t_sendlog);
	zlog_info("frr-ha: %s: shadowing the active's session", peer->host);
	BGP_EVENT_ADD(peer, BGP_Start);
}

/* One connection of the active to the hand-over socket: one hand-over. */
struct ha_handover_conn {
	int fd;
	struct thread *t_read;
};

static void handover_conn_free(struct ha_handover_conn *c)
{
	THREAD_OFF(c->t_read);
	close(c->fd);
	listnode_delete(tf.handover_conns, c);
	XFREE(MTYPE_HA_SHADOW, c);
}

static void tf_handover_read(struct thread *t)
{
	struct ha_handover_conn *c = THREAD_ARG(t);
	struct frr_ha_handover h;
	int fds[3];
	char why[256];

	if (!frr_ha_handover_receive(c->fd, &h, fds, why, sizeof(why))) {
		if (strcmp(why, "channel closed") != 0)
			zlog_warn("frr-ha: hand-over socket: %s", why);
		handover_conn_free(c);
		return;
	}
	tf_adopt(&h, fds);
	thread_add_read(tf.master, tf_handover_read, c, c->fd, &c->t_read);
}

static void tf_handover_accept(struct thread *t)
{
	struct ha_handover_conn *c;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int fd = accept4(tf.listen_fd, NULL, NULL, SOCK_CLOEXEC);

	thread_add_read(tf.master, tf_handover_accept, NULL, tf.listen_fd,
			&tf.t_accept);
	if (fd < 0)
		return;
	/* Only a process of our own user hands sessions over. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
	    cred.uid != geteuid()) {
		zlog_warn("frr-ha: hand-over socket: refused a connection from uid %u",
			  (unsigned int)cred.uid);
		close(fd);
		return;
	}
	c = XCALLOC(MTYPE_HA_SHADOW, sizeof(*c));
	c->fd = fd;
	listnode_add(tf.handover_conns, c);
	thread_add_read(tf.master, tf_handover_read, c, fd, &c->t_read);
}

static void handover_listen(void)
{
	struct sockaddr_un sun;
	mode_t old;
	int fd;

	if (tf.listen_fd >= 0 || !handover_path(true, &sun))
		return;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	unlink(sun.sun_path);
	old = umask(0077);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(fd, 2) < 0) {
		zlog_warn("frr-ha: hand-over socket %s: %s", sun.sun_path,
			  safe_strerror(errno));
		close(fd);
		umask(old);
		return;
	}
	umask(old);
	tf.listen_fd = fd;
	thread_add_read(tf.master, tf_handover_accept, NULL, fd, &tf.t_accept);
}

static void handover_stop_listening(void)
{
	struct sockaddr_un sun;

	struct ha_handover_conn *c;

	THREAD_OFF(tf.t_accept);
	if (tf.listen_fd >= 0) {
		close(tf.listen_fd);
		if (handover_path(true, &sun))
			unlink(sun.sun_path);
	}
	tf.listen_fd = -1;
	while (tf.handover_conns && (c = listnode_head(tf.handover_conns)))
		handover_conn_free(c);
}

/* --- hand-over (active) ---------------------------------------------------------- */

/* A connection to the standby's hand-over socket, for one hand-over: a
 * standby restarted since the last one is reached all the same. */
static int handover_connect(char *why, size_t why_len)
{
	struct sockaddr_un sun;
	int fd;

	if (!handover_path(false, &sun)) {
		snprintf(why, why_len, "no local standby configured");
		return -1;
	}
	/* Non-blocking: a standby that does not accept (stopped, busy) costs
	 * this hand-over, never the active's main thread. */
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		snprintf(why, why_len, "standby's hand-over socket %s: %s",
			 sun.sun_path, safe_strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static bool link_pair(int link[2])
{
	int size = TF_LINK_BUFFER;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, link) < 0)
		return false;
	frr_with_privs (&bgpd_privs) {
		/* beyond net.core.wmem_max: CAP_NET_ADMIN */
		if (setsockopt(link[0], SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
			setsockopt(link[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	}
	return true;
}

static bool hand_over(struct peer *peer, char *why, size_t why_len)
{
	struct frr_ha_status status;
	struct frr_ha_handover h = {};
	int in[2], out[2], conn;
	bool ok;
	/* A session that will restart gracefully is not continued: the
	 * standby needs what the peer sends (its routes), not what we send. */
	bool receive_only = bgpd_ha_peer_decision(peer).mode ==
			    FRR_HA_SESSION_GRACEFUL_RESTART;

	frr_ha_node_status(bgpd_ha_pair_node(), &status);
	if (!status.partner_known || status.partner_role != FRR_HA_ROLE_STANDBY) {
		snprintf(why, why_len, "no standby when the session came up");
		return false;
	}
	conn = handover_connect(why, why_len);
	if (conn < 0)
		return false;
	if (!link_pair(in)) {
		close(conn);
		goto fail_errno;
	}
	if (!link_pair(out)) {
		close(in[0]);
		close(in[1]);
		close(conn);
		goto fail_errno;
	}
	h.epoch = status.epoch;
	strlcpy(h.vrf, peer->bgp->name ? peer->bgp->name : "", sizeof(h.vrf));
	strlcpy(h.neighbor, peer->host, sizeof(h.neighbor));
	/* The standby gets the descriptors at once; the history streams into
	 * the links afterwards, as the standby takes it (tf_pump). */
	frr_with_mutex (&peer->io_mtx) {
		ok = frr_ha_tap_attach(tf.taps, peer->fd, in[0], out[0],
				       peer->max_packet_size, receive_only,
				       &h.bias, why, why_len);
	}
	if (ok)
		ok = frr_ha_handover_send(conn, &h, peer->fd, in[1], out[1],
					  why, why_len);
	close(in[1]);
	close(out[1]);
	close(conn);
	return ok;
fail_errno:
	snprintf(why, why_len, "links: %s", safe_strerror(errno));
	return false;
}

static void watch_free(struct ha_watch *w)
{
	THREAD_OFF(w->t_read);
	listnode_delete(tf.watches, w);
	/* At exit bgpd's I/O pthread is gone: a last unlock would free the
	 * peer through bgp_reads_off(), which asserts it runs. */
	if (!bm->terminating)
		peer_unlock(w->peer);
	XFREE(MTYPE_HA_SHADOW, w);
}

static void tf_standby_word(struct thread *t)
{
	struct ha_watch *w = THREAD_ARG(t);
	struct peer *peer = w->peer;
	char why[256] = "";
	bool ended = false, watched = false;

	if (peer->fd == w->fd)
		frr_with_mutex (&peer->io_mtx) {
			ended = frr_ha_tap_take_standby_word(tf.taps, w->fd, why, sizeof(why));
			watched = !ended &&
				  frr_ha_tap_standby_word_fd(tf.taps, w->fd) == w->word_fd;
		}
	if (ended)
		zlog_warn("frr-ha: %s: not protected: %s", peer->host, why);
	if (!watched) {
		watch_free(w);
		return;
	}
	thread_add_read(tf.master, tf_standby_word, w, w->word_fd, &w->t_read);
}

/* Hand-overs stream their history on, and a session held back by its
 * standby longer than the lag limit goes on unprotected: its I/O is woken
 * to wait on the socket again. */
static void tf_pump(struct thread *t)
{
	struct listnode *node;
	struct ha_watch *w;

	for (ALL_LIST_ELEMENTS_RO(tf.watches, node, w)) {
		struct peer *peer = w->peer;
		struct frr_ha_tap_info info = {};
		bool wake = false;

		if (peer->fd != w->fd || !peer_established(peer))
			continue;
		frr_with_mutex (&peer->io_mtx) {
			wake = frr_ha_tap_pump(tf.taps, w->fd, tf.lag_limit_ms);
			if (wake)
				frr_ha_tap_info(tf.taps, w->fd, &info);
		}
		if (!wake)
			continue;
		zlog_warn("frr-ha: %s: not protected: %s", peer->host, info.why);
		/* Both waits were on the links: rearm them on the socket
		 * (an armed thread is not moved by a second add). */
		bgp_reads_off(peer);
		bgp_reads_on(peer);
		bgp_writes_off(peer);
		bgp_writes_on(peer);
	}
	if (listcount(tf.watches))
		thread_add_timer_msec(tf.master, tf_pump, NULL, TF_PUMP_MS, &tf.t_pump);
}

/* The standby may end its shadow of a mirrored session at any time: the
 * active hears it at once rather than at the session's next byte. */
static void watch_standby(struct peer *peer)
{
	struct ha_watch *w;
	int word_fd;

	frr_with_mutex (&peer->io_mtx) {
		word_fd = frr_ha_tap_standby_word_fd(tf.taps, peer->fd);
	}
	if (word_fd < 0)
		return;
	w = XCALLOC(MTYPE_HA_SHADOW, sizeof(*w));
	w->peer = peer_lock(peer);
	w->fd = peer->fd;
	w->word_fd = word_fd;
	listnode_add(tf.watches, w);
	thread_add_read(tf.master, tf_standby_word, w, word_fd, &w->t_read);
	if (!tf.t_pump)
		thread_add_timer_msec(tf.master, tf_pump, NULL, TF_PUMP_MS, &tf.t_pump);
}

/* Watches of sessions that closed, or of every session (peer NULL and
 * all): before their links close with the taps. */
static void unwatch(struct peer *peer, bool all)
{
	struct listnode *node, *next;
	struct ha_watch *w;

	for (ALL_LIST_ELEMENTS(tf.watches, node, next, w))
		if (all || w->peer == peer || w->peer->fd != w->fd)
			watch_free(w);
}

static void unprotect(struct peer *peer, const char *why)
{
	frr_with_mutex (&peer->io_mtx) {
		frr_ha_tap_unprotect(tf.taps, peer->fd, why);
	}
}

bool bgpd_ha_tf_shadowed(struct peer *peer)
{
	return bgpd_ha_peer_decision(peer).mode != FRR_HA_SESSION_PLAIN_RESTART;
}

static int tf_status_changed(struct peer *peer)
{
	struct frr_ha_mode_decision decision;
	char why[256] = "";

	struct ha_shadow *shadow = shadow_of(peer);

	if (shadow) {
		/* bgpd reads the session's addresses off its descriptor at
		 * the connection and again at the peer's OPEN: isolated once
		 * the OPEN is in (OpenConfirm). Until then every write of
		 * the shadow goes through its tap (patches 0007, 0010). */
		if (peer->status >= OpenConfirm && peer->status <= Established &&
		    !shadow_isolated(shadow))
			shadow_isolate(shadow);
		if (!shadow_of(peer))
			return 0;
		if (peer->status == Established) {
			zlog_info("frr-ha: %s: shadow session Established", peer->host);
			frr_with_mutex (&peer->io_mtx) {
				frr_ha_tap_open_gate(tf.taps, peer->fd);
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
			frr_with_mutex (&peer->io_mtx) {
				frr_ha_tap_shadow_ended(tf.taps, shadow->fd, why);
			}
			shadow_free(shadow);
		}
		return 0;
	}
	if (peer->status != Established || peer->ostatus == Established)
		return 0;
	if (!bgpd_ha_pair_node()) {
		/* A bgpd with the module but no pair: nobody will take the
		 * session, so its history and stream records are dropped. */
		frr_with_mutex (&peer->io_mtx) {
			frr_ha_tap_exclude(tf.taps, peer->fd, "this bgpd is not an RP of an HA pair");
		}
		return 0;
	}
	if (current_role() != FRR_HA_ROLE_ACTIVE)
		return 0; /* a shadow coming up */
	decision = bgpd_ha_peer_decision(peer);
	if (decision.mode == FRR_HA_SESSION_PLAIN_RESTART) {
		frr_with_mutex (&peer->io_mtx) {
			frr_ha_tap_exclude(tf.taps, peer->fd, decision.reason);
		}
		return 0;
	}
	if (!hand_over(peer, why, sizeof(why))) {
		zlog_warn("frr-ha: %s: not protected: %s", peer->host, why);
		unprotect(peer, why);
		return 0;
	}
	zlog_info("frr-ha: %s: session handed to the standby", peer->host);
	watch_standby(peer);
	return 0;
}

static int tf_backward(struct peer *peer)
{
	/* A closed session's tap goes, and its links with it: the standby's
	 * shadow sees its mirror end. */
	unwatch(peer, false);
	frr_ha_taps_sweep(tf.taps);
	return 0;
}

/* A standby that joins (or comes back) gets the Established sessions it
 * lacks: their history is made from what the streams hold. */
static void tf_protect_sweep(struct thread *t)
{
	struct listnode *bn, *pn;
	struct bgp *bgp;
	struct peer *peer;
	struct frr_ha_status status;
	struct timeval start;
	char why[256];

	thread_add_timer_msec(tf.master, tf_protect_sweep, NULL,
			      TF_PROTECT_SWEEP_MS, &tf.t_sweep);
	if (current_role() != FRR_HA_ROLE_ACTIVE)
		return;
	frr_ha_node_status(bgpd_ha_pair_node(), &status);
	if (!status.partner_known || status.partner_role != FRR_HA_ROLE_STANDBY)
		return;
	monotime(&start);
	for (ALL_LIST_ELEMENTS_RO(bm->bgp, bn, bgp))
		for (ALL_LIST_ELEMENTS_RO(bgp->peer, pn, peer)) {
			bool attachable;

			if (!peer_established(peer) || !bgpd_ha_tf_shadowed(peer))
				continue;
			if (monotime_since(&start, NULL) > TF_SWEEP_BUDGET_MS * 1000)
				return; /* the rest at the next sweep */
			frr_with_mutex (&peer->io_mtx) {
				attachable = frr_ha_tap_attachable(tf.taps, peer->fd, why,
								   sizeof(why));
			}
			if (!attachable)
				continue;
			if (hand_over(peer, why, sizeof(why))) {
				zlog_info("frr-ha: %s: Established session handed to the standby",
					  peer->host);
				watch_standby(peer);
			} else
				unprotect(peer, why);
		}
}

/* --- role changes ------------------------------------------------------------------ */

/* The old active's last act for each mirrored session: never touch the
 * socket again, close the links. The new active continues from there. */
static void release_all(void)
{
	struct listnode *bn, *pn;
	struct bgp *bgp;
	struct peer *peer;

	unwatch(NULL, true);
	for (ALL_LIST_ELEMENTS_RO(bm->bgp, bn, bgp))
		for (ALL_LIST_ELEMENTS_RO(bgp->peer, pn, peer))
			if (peer->fd >= 0)
				frr_with_mutex (&peer->io_mtx) {
					frr_ha_tap_release(tf.taps, peer->fd);
				}
}

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
	frr_ha_tap_takeover_messages(tf.taps, peer->fd, emit_to_fifo, peer->obuf);
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

	for (ALL_LIST_ELEMENTS(tf.differences, node, next, d)) {
		struct peer *peer = d->peer;
		struct frr_ha_tap_info info = {};
		size_t n = 0;

		if (peer->status == Established && peer->fd == d->fd && !output_settled(peer))
			continue;
		if (peer->status == Established && peer->fd == d->fd) {
			frr_with_mutex (&peer->io_mtx) {
				send_first(peer);
				frr_ha_tap_info(tf.taps, peer->fd, &info);
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
		listnode_delete(tf.differences, d);
		peer_unlock(peer);
		XFREE(MTYPE_HA_SHADOW, d);
	}
	if (listcount(tf.differences))
		thread_add_timer_msec(tf.master, tf_difference_check, NULL, 100,
				      &tf.t_difference);
}

static void difference_later(struct peer *peer)
{
	struct ha_difference *d = XCALLOC(MTYPE_HA_SHADOW, sizeof(*d));

	d->peer = peer_lock(peer);
	d->fd = peer->fd;
	listnode_add(tf.differences, d);
	thread_add_timer_msec(tf.master, tf_difference_check, NULL, 100, &tf.t_difference);
}

/* A session whose switchover is a graceful restart: FRR's own GR code ends
 * it as a closed connection (the peer's routes stay, stale, until its
 * End-of-RIB) and closes the socket; the peer, seeing the close, keeps ours
 * and reconnects to an OPEN with the Restart State bit. */
static void end_for_graceful_restart(struct ha_shadow *s)
{
	struct peer *peer = s->peer;

	zlog_notice("frr-ha: %s: graceful restart: the session ends here; its routes are kept as stale until the peer's End-of-RIB",
		    peer->host);
	frr_with_mutex (&peer->io_mtx) {
		frr_ha_tap_end_for_graceful_restart(tf.taps, s->fd);
	}
	shadow_free(s);
	bgpd_ha_gr_session_ended(peer);
	/* The peer, seeing the close, reconnects at once; connecting from
	 * here at the same moment makes a connection collision, whose
	 * resolution FRR can end with the new session stopped (and the
	 * peer's routes flushed). The peer gets the first move; this RP
	 * connects later only if the peer does not. */
	peer->v_start = TF_GR_PEER_FIRST_MOVE_S;
	bgp_reads_off(peer);
	bgp_reads_on(peer);
}

/* RFC 4724 is possible with this peer: a session that cannot continue
 * restarts gracefully rather than plainly. */
static bool graceful_restart_possible(struct peer *peer)
{
	return CHECK_FLAG(peer->cap, PEER_CAP_RESTART_RCV) &&
	       CHECK_FLAG(peer->flags, PEER_FLAG_GRACEFUL_RESTART);
}

static void take_over_all(void)
{
	struct listnode *node, *next;
	struct ha_shadow *s;
	uint64_t started = bgpd_ha_now_ms();
	unsigned int continued = 0, graceful = 0, restarted = 0,
		     shadows = listcount(tf.shadows);

	memset(&last_takeover, 0, sizeof(last_takeover));
	last_takeover.happened = true;
	last_takeover.at_unix_ms = (int64_t)time(NULL) * 1000;
	for (ALL_LIST_ELEMENTS(tf.shadows, node, next, s)) {
		struct peer *peer = s->peer;
		struct frr_ha_tap_info info = {};
		struct frr_ha_mode_decision decision = bgpd_ha_peer_decision(peer);
		char why[256] = "";
		bool ok = false;

		THREAD_OFF(s->t_sendlog);
		THREAD_OFF(s->t_ended);
		if (peer->status == Established && peer->fd == s->fd &&
		    decision.mode == FRR_HA_SESSION_GRACEFUL_RESTART) {
			end_for_graceful_restart(s);
			graceful++;
			continue;
		}
		if (decision.mode == FRR_HA_SESSION_PLAIN_RESTART)
			snprintf(why, sizeof(why), "%s", decision.reason);
		else if (peer->status != Idle && peer->fd == s->fd)
			frr_with_mutex (&peer->io_mtx) {
				ok = frr_ha_tap_take_over(tf.taps, s->fd,
							  peer->max_packet_size, why,
							  sizeof(why));
				frr_ha_tap_info(tf.taps, s->fd, &info);
			}
		else
			snprintf(why, sizeof(why), "the shadow session is down");
		if (!ok && peer->status == Established && peer->fd == s->fd &&
		    graceful_restart_possible(peer)) {
			/* Never a continuation that guesses: a graceful
			 * restart keeps the peer's routes and ours. */
			zlog_warn("frr-ha: %s: not continued (%s): graceful restart instead",
				  peer->host, why);
			end_for_graceful_restart(s);
			graceful++;
			continue;
		}
		if (!ok) {
			shadow_stop(s, why);
			restarted++;
			continue;
		}
		last_takeover.completed_bytes += info.completed_bytes;
		last_takeover.unsent_messages += info.unsent_messages;
		last_takeover.differences_pending++;
		zlog_notice("frr-ha: %s: session continued (%zu bytes completed, %zu messages of the old active not sent)",
			    peer->host, info.completed_bytes, info.unsent_messages);
		shadow_free(s);
		difference_later(peer);
		continued++;
		/* Input: the rest of the mirror, then the socket itself. */
		bgp_reads_off(peer);
		bgp_reads_on(peer);
		bgp_writes_on(peer);
	}
	last_takeover.shadows = shadows;
	last_takeover.continued = continued;
	last_takeover.graceful = graceful;
	last_takeover.restarted = restarted;
	last_takeover.duration_ms = bgpd_ha_now_ms() - started;
	if (shadows)
		zlog_notice("frr-ha: %u of %u shadow sessions continued in %" PRIu64 " ms, %u restart gracefully, %u restart",
			    continued, shadows, bgpd_ha_now_ms() - started, graceful,
			    restarted);
}

void bgpd_ha_tf_last_takeover(struct bgpd_ha_takeover_summary *out)
{
	*out = last_takeover;
}

unsigned int bgpd_ha_tf_lag_limit(void)
{
	return tf.lag_limit_ms;
}

void bgpd_ha_tf_set_lag_limit(unsigned int ms)
{
	tf.lag_limit_ms = ms;
}

/* The frr_ha_role_changed hook: take over the shadows (active), hand every
 * mirrored session back untouched (leaving active), listen for hand-overs
 * (standby). */
static int tf_role_changed(enum frr_ha_role previous, enum frr_ha_role role)
{
	if (role == FRR_HA_ROLE_ACTIVE) {
		handover_stop_listening();
		take_over_all();
		return 0;
	}
	if (previous == FRR_HA_ROLE_ACTIVE)
		release_all();
	if (role == FRR_HA_ROLE_STANDBY)
		handover_listen();
	return 0;
}

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

void bgpd_ha_tf_init(struct thread_master *master)
{
	tf.master = master;
	tf.taps = frr_ha_taps_new();
	tf.shadows = list_new();
	tf.handover_conns = list_new();
	tf.differences = list_new();
	tf.watches = list_new();
	tf.lag_limit_ms = BGPD_HA_DEFAULT_LAG_LIMIT_MS;
	/* From the first connection on: an active keeps every session's
	 * history from its first byte until the session is handed over. */
	bgp_io_tap = &tf_tap;
	bgp_supplied_connection = tf_supplied_connection;
	hook_register(peer_status_changed, tf_status_changed);
	hook_register(peer_backward_transition, tf_backward);
	hook_register(frr_ha_role_changed, tf_role_changed);
	thread_add_timer_msec(master, tf_protect_sweep, NULL, TF_PROTECT_SWEEP_MS,
			      &tf.t_sweep);
}

void bgpd_ha_tf_fini(void)
{
	struct ha_shadow *s;

	hook_unregister(frr_ha_role_changed, tf_role_changed);
	THREAD_OFF(tf.t_sweep);
	THREAD_OFF(tf.t_difference);
	THREAD_OFF(tf.t_pump);
	bgp_io_tap = NULL;
	bgp_supplied_connection = NULL;
	handover_stop_listening();
	unwatch(NULL, true);
	list_delete(&tf.watches);
	while (tf.shadows && (s = listnode_head(tf.shadows)))
		shadow_free(s);
	list_delete(&tf.shadows);
	list_delete(&tf.handover_conns);
	while (tf.differences && listcount(tf.differences)) {
		struct ha_difference *d = listnode_head(tf.differences);

		listnode_delete(tf.differences, d);
		if (!bm->terminating)
			peer_unlock(d->peer);
		XFREE(MTYPE_HA_SHADOW, d);
	}
	list_delete(&tf.differences);
	frr_ha_taps_free(tf.taps);
	tf.taps = NULL;
}
