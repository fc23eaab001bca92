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

/* Socket buffer of the active's end of each link: room for a session's
 * history at hand-over and for bursts while the standby catches up. */
#define TF_LINK_BUFFER (8 << 20)
/* A mirror that closed while this RP stays standby: the active ended the
 * session (not died: its death makes this RP active well within this). */
#define TF_MIRROR_END_GRACE_MS 1000
/* After a graceful end at takeover, how long this RP leaves the peer to
 * reconnect before connecting itself. */
#define TF_GR_PEER_FIRST_MOVE_S 5
/* How often an active looks for sessions a standby could take. */
#define TF_PROTECT_SWEEP_MS 1000

struct ha_shadow {
	struct peer *peer;
	int fd;	       /* the session's socket, as this RP holds it */
	bool starting; /* bgp_start() takes fd next */
	struct thread *t_sendlog;
	struct thread *t_ended;
};

static struct {
	struct thread_master *master;
	struct frr_ha_taps *taps;
	struct list *shadows;
	int listen_fd; /* standby: hand-overs arrive here */
	struct list *handover_conns;
	struct list *differences; /* taken-over sessions awaiting their difference */
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

static const struct bgp_io_tap tf_tap = {
	.read = tf_read,
	.writev = tf_writev,
	.input_fd = tf_input_fd,
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
				strcmp(info.mode, "mirror-ended") == 0;
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
	if (refuse) {
		zlog_warn("frr-ha: refused the hand-over of %s%s%s: %s",
			  h->neighbor, *h->vrf ? " vrf " : "", h->vrf, refuse);
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
	struct timeval tv = {1, 0};
	int fd;

	if (!handover_path(false, &sun)) {
		snprintf(why, why_len, "no local standby configured");
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		snprintf(why, why_len, "standby's hand-over socket %s: %s",
			 sun.sun_path, safe_strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
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
	if (!status.partner_known || strcmp(status.partner_role, "standby") != 0) {
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
	/* The history goes into the links before the standby gets them; their
	 * buffers hold it. */
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
		if (peer->status == Established) {
			zlog_info("frr-ha: %s: shadow session Established", peer->host);
			frr_with_mutex (&peer->io_mtx) {
				frr_ha_tap_open_gate(tf.taps, peer->fd);
			}
			/* Poll the mirror again (it was parked at the gate). */
			bgp_reads_off(peer);
			bgp_reads_on(peer);
		}
		else if (peer->status == Idle || peer->status == Clearing) {
			/* The shadow failed on its own: the active's session
			 * goes on unprotected (its mirror sees the close). */
			zlog_warn("frr-ha: %s: shadow session went from %s to %s: %s",
				  peer->host, lookup_msg(bgp_status_msg, peer->ostatus, NULL),
				  lookup_msg(bgp_status_msg, peer->status, NULL),
				  peer_down_str[peer->last_reset]);
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
	return 0;
}

static int tf_backward(struct peer *peer)
{
	/* A closed session's tap goes, and its links with it: the standby's
	 * shadow sees its mirror end. */
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
	char why[256];

	thread_add_timer_msec(tf.master, tf_protect_sweep, NULL,
			      TF_PROTECT_SWEEP_MS, &tf.t_sweep);
	if (current_role() != FRR_HA_ROLE_ACTIVE)
		return;
	frr_ha_node_status(bgpd_ha_pair_node(), &status);
	if (!status.partner_known || strcmp(status.partner_role, "standby") != 0)
		return;
	for (ALL_LIST_ELEMENTS_RO(bm->bgp, bn, bgp))
		for (ALL_LIST_ELEMENTS_RO(bgp->peer, pn, peer)) {
			bool attachable;

			if (!peer_established(peer) || !bgpd_ha_tf_shadowed(peer))
				continue;
			frr_with_mutex (&peer->io_mtx) {
				attachable = frr_ha_tap_attachable(tf.taps, peer->fd, why,
								   sizeof(why));
			}
			if (!attachable)
				continue;
			if (hand_over(peer, why, sizeof(why)))
				zlog_info("frr-ha: %s: Established session handed to the standby",
					  peer->host);
			else
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
			if (info.takeover_diff_problem[0])
				zlog_warn("frr-ha: %s: no difference made after the takeover: %s",
					  peer->host, info.takeover_diff_problem);
			else
				zlog_notice("frr-ha: %s: %zu messages brought the peer up to date",
					    peer->host, n);
			if (n)
				bgp_writes_on(peer);
		}
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

static void take_over_all(void)
{
	struct listnode *node, *next;
	struct ha_shadow *s;
	uint64_t started = bgpd_ha_now_ms();
	unsigned int continued = 0, graceful = 0, shadows = listcount(tf.shadows);

	for (ALL_LIST_ELEMENTS(tf.shadows, node, next, s)) {
		struct peer *peer = s->peer;
		struct frr_ha_tap_info info = {};
		char why[256] = "";
		bool ok = false;

		THREAD_OFF(s->t_sendlog);
		THREAD_OFF(s->t_ended);
		if (peer->status == Established && peer->fd == s->fd &&
		    bgpd_ha_peer_decision(peer).mode == FRR_HA_SESSION_GRACEFUL_RESTART) {
			end_for_graceful_restart(s);
			graceful++;
			continue;
		}
		if (peer->status != Idle && peer->fd == s->fd)
			frr_with_mutex (&peer->io_mtx) {
				ok = frr_ha_tap_take_over(tf.taps, s->fd,
							  peer->max_packet_size, why,
							  sizeof(why));
				frr_ha_tap_info(tf.taps, s->fd, &info);
			}
		else
			snprintf(why, sizeof(why), "the shadow session is down");
		if (!ok) {
			shadow_stop(s, why);
			continue;
		}
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
	if (shadows)
		zlog_notice("frr-ha: %u of %u shadow sessions continued in %" PRIu64 " ms, %u restart gracefully",
			    continued, shadows, bgpd_ha_now_ms() - started, graceful);
}

void bgpd_ha_tf_role_changed(enum frr_ha_role previous, enum frr_ha_role role)
{
	if (role == FRR_HA_ROLE_ACTIVE) {
		handover_stop_listening();
		take_over_all();
		return;
	}
	if (previous == FRR_HA_ROLE_ACTIVE)
		release_all();
	if (role == FRR_HA_ROLE_STANDBY)
		handover_listen();
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
			if (bgpd_ha_tf_info(peer, &info) && strcmp(info.mode, "mirroring") == 0)
				continue;
			snprintf(why, why_len,
				 "neighbor %s is not protected by the standby yet (%s%s%s)",
				 peer->host, info.mode ? info.mode : "no stream",
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
	/* From the first connection on: an active keeps every session's
	 * history from its first byte until the session is handed over. */
	bgp_io_tap = &tf_tap;
	bgp_supplied_connection = tf_supplied_connection;
	hook_register(peer_status_changed, tf_status_changed);
	hook_register(peer_backward_transition, tf_backward);
	thread_add_timer_msec(master, tf_protect_sweep, NULL, TF_PROTECT_SWEEP_MS,
			      &tf.t_sweep);
}

void bgpd_ha_tf_fini(void)
{
	struct ha_shadow *s;

	THREAD_OFF(tf.t_sweep);
	THREAD_OFF(tf.t_difference);
	bgp_io_tap = NULL;
	bgp_supplied_connection = NULL;
	handover_stop_listening();
	while (tf.shadows && (s = listnode_head(tf.shadows)))
		shadow_free(s);
	list_delete(&tf.shadows);
	list_delete(&tf.handover_conns);
	while (tf.differences && listcount(tf.differences)) {
		struct ha_difference *d = listnode_head(tf.differences);

		listnode_delete(tf.differences, d);
		peer_unlock(d->peer);
		XFREE(MTYPE_HA_SHADOW, d);
	}
	list_delete(&tf.differences);
	frr_ha_taps_free(tf.taps);
	tf.taps = NULL;
}
