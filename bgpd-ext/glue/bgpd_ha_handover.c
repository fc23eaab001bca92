/*
 * The first steps of a session's data flow: the hand-over, then mirroring
 * with back-pressure (docs/transparent-failover.md).
 *
 * The active passes each TF (or GR, receive-only) session to the standby
 * when it comes up, or when a standby joins (the protect sweep): the socket
 * and two links over the standby's hand-over socket, then the history
 * streamed into the links (the pump) while the session goes on. It watches
 * the input link for the standby's word (it ended its shadow, or went
 * away) and leaves a session held back too long by its standby
 * unprotected. The standby accepts hand-overs on its hand-over socket and
 * gives each to bgpd_ha_shadow.c.
 */
#include <zebra.h>

#include <sys/socket.h>
#include <sys/un.h>

#include "frratomic.h"
#include "linklist.h"
#include "memory.h"
#include "network.h"
#include "privs.h"
#include "thread.h"

#include "bgpd/bgpd.h"
#include "bgpd/bgp_fsm.h"
#include "bgpd/bgp_io.h"

#include "bgpd_ha_tf_private.h"

extern struct zebra_privs_t bgpd_privs;

/* Socket buffer of the active's end of each link: room for bursts while
 * the standby catches up. The hand-over's history streams through it (it
 * need not fit); a full link holds its session back (bgp ha
 * standby-lag-limit), so a larger buffer only delays that. */
#define TF_LINK_BUFFER (2 << 20)
/* Hand-overs waiting for the standby to accept them (capped by the kernel's
 * net.core.somaxconn). */
#define HANDOVER_BACKLOG 1024
/* Hand-overs the standby accepts at one turn of its main loop. */
#define HANDOVER_ACCEPT_BATCH 64
/* How often an active looks for sessions a standby could take. */
#define TF_PROTECT_SWEEP_MS 1000
/* How often an active moves hand-overs on and checks the standby's lag. */
#define TF_PUMP_MS 50
/* What one pump may spend making histories, in time over all sessions and
 * in bytes for one (a link holds TF_LINK_BUFFER). */
#define TF_PUMP_MAKE_MS 20
#define TF_PUMP_MAKE_BUDGET (TF_LINK_BUFFER)
/* A sweep that has spent this long handing sessions over leaves the rest
 * to the next one. A hand-over costs little (the history is made later, as
 * the links take it), but a standby that joins a router with thousands of
 * sessions should not stop the main loop for all of them at once. */
#define TF_SWEEP_BUDGET_MS 200

/* Active: a mirrored session whose input link is watched for the standby's
 * word (it ended its shadow, or went away). */
struct ha_watch {
	struct peer *peer;
	int fd;	     /* the session's socket */
	int word_fd; /* the input link, as the tap holds it */
	struct thread *t_read;
};

/* One connection of the active to the hand-over socket: one hand-over
 * (the session, then the history's end). */
struct ha_handover_conn {
	int fd;
	struct thread *t_read;
	char vrf[FRR_HA_HANDOVER_TEXT_MAX], neighbor[FRR_HA_HANDOVER_TEXT_MAX];
	int shadow_fd; /* the session adopted, until its history's end */
};

static struct {
	int listen_fd; /* standby: hand-overs arrive here */
	struct list *handover_conns;
	struct list *watches;	   /* active: mirrored sessions */
	unsigned int lag_limit_ms; /* bgp ha standby-lag-limit */
	/* Active: the sessions the last sweep found the standby could not
	 * continue (told the standby with each STATUS), and each one that
	 * went on unprotected since (on bgpd's I/O pthread too). */
	_Atomic uint32_t unprotected;
	bool at_exit;		   /* the module's fini runs */
	struct thread *t_pump;
	struct thread *t_accept, *t_sweep;
} ho = {.listen_fd = -1};

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

/* A session that will restart gracefully is not continued: the standby
 * needs what the peer sends (its routes), not what we send. */
static bool receive_only(struct peer *peer)
{
	return bgpd_ha_peer_decision(peer).mode == FRR_HA_SESSION_GRACEFUL_RESTART;
}

static bool hand_over(struct peer *peer, char *why, size_t why_len)
{
	struct frr_ha_status status;
	struct frr_ha_handover h = {};
	struct frr_ha_handover_links links;
	/* dual-RP: the standby's ends of the links go to a relay onto the data
	 * channel; the hand-over connection is a local pair (the tap tells the
	 * history's end on it, the relay reads it). */
	bool across = bgpd_ha_relay_across_hosts();
	int conn[2] = {-1, -1};
	bool ok;

	frr_ha_node_status(bgpd_ha_pair_node(), &status);
	if (!status.partner_known || status.partner_role != FRR_HA_ROLE_STANDBY) {
		snprintf(why, why_len, "no standby when the session came up");
		return false;
	}
	if (across && !status.data_channel_up) {
		snprintf(why, why_len, "the data channel to the standby host is down");
		return false;
	}
	if (across) {
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, conn) < 0)
			goto fail_errno;
	} else if ((conn[0] = handover_connect(why, why_len)) < 0)
		return false;
	if (!link_pair(links.input)) {
		close(conn[0]);
		if (conn[1] >= 0)
			close(conn[1]);
		goto fail_errno;
	}
	if (!link_pair(links.sendlog)) {
		close(links.input[0]);
		close(links.input[1]);
		close(conn[0]);
		if (conn[1] >= 0)
			close(conn[1]);
		goto fail_errno;
	}
	{
		int mine[] = {conn[0], links.input[0], links.input[1], links.sendlog[0],
			      links.sendlog[1], conn[1]};
		int n = array_size(mine) - (conn[1] < 0);

		if (bgpd_ha_descriptors_short(mine, n, why, why_len)) {
			for (int i = 0; i < n; i++)
				close(mine[i]);
			return false;
		}
	}
	h.epoch = status.epoch;
	strlcpy(h.vrf, peer->bgp->name ? peer->bgp->name : "", sizeof(h.vrf));
	strlcpy(h.neighbor, peer->host, sizeof(h.neighbor));
	if (across)
		return bgpd_ha_relay_hand_over(peer, &h, &links, conn, receive_only(peer), why,
					       why_len);
	/* The standby gets the descriptors at once; the history is made and
	 * streams into the links afterwards, as the standby takes it (tf_pump),
	 * and its end is told on the connection, which the tap keeps. */
	frr_with_mutex (&peer->io_mtx) {
		ok = frr_ha_tap_hand_over(bgpd_ha_taps(), peer->fd, conn[0], &h, &links,
					  peer->max_packet_size, receive_only(peer), why,
					  why_len);
	}
	close(links.input[1]);
	close(links.sendlog[1]);
	close(conn[0]);
	return ok;
fail_errno:
	snprintf(why, why_len, "links: %s", safe_strerror(errno));
	return false;
}

/* --- the standby's word and the pump (active) ----------------------------------- */

static void watch_free(struct ha_watch *w)
{
	THREAD_OFF(w->t_read);
	listnode_delete(ho.watches, w);
	/* At exit bgpd's I/O pthread is gone: a last unlock would free the
	 * peer through bgp_reads_off(), which asserts it runs. (By the time
	 * the module's fini runs, bgpd has zeroed bm, terminating flag
	 * included: hence a flag of our own.) */
	if (!bm->terminating && !ho.at_exit)
		peer_unlock(w->peer);
	XFREE(MTYPE_HA_SHADOW, w);
}

/* A session unprotected here may have waited on a link or on the write
 * gate of a hand-over that is over (they close with it): both waits go
 * back to the socket. A write thread whose descriptor closed is dropped by
 * the event loop without running (POLLNVAL), so without that the session
 * would never write again. The I/O pthread moves them (bgp_io_rewait,
 * patch 0016): bgp_reads_off()/_on() would make this thread wait four
 * times for that busy pthread, a session at a time. */
static void tf_standby_word(struct thread *t)
{
	struct ha_watch *w = THREAD_ARG(t);
	struct peer *peer = w->peer;
	char why[256] = "";
	bool ended = false, watched = false;

	if (peer->fd == w->fd)
		frr_with_mutex (&peer->io_mtx) {
			ended = frr_ha_tap_take_standby_word(bgpd_ha_taps(), w->fd, why,
							     sizeof(why));
			watched = !ended &&
				  frr_ha_tap_standby_word_fd(bgpd_ha_taps(), w->fd) == w->word_fd;
		}
	if (ended) {
		bgpd_ha_tf_log_unprotected(peer, why);
		if (peer_established(peer))
			bgp_io_rewait(peer);
	}
	if (!watched) {
		watch_free(w);
		return;
	}
	thread_add_read(bgpd_ha_tf_master(), tf_standby_word, w, w->word_fd, &w->t_read);
}

/* Hand-overs stream their history on, and a session held back by its
 * standby longer than the lag limit goes on unprotected: its I/O is woken
 * to wait on the socket again. Making histories is the main thread's work:
 * a pump spends at most TF_PUMP_MAKE_MS on it, however many sessions are
 * being handed over (each also makes a part whenever its own I/O runs). */
static void tf_pump(struct thread *t)
{
	struct listnode *node;
	struct ha_watch *w;
	struct timeval started, moving;
	unsigned int woken = 0;
	int64_t moved_us = 0;

	monotime(&started);

	for (ALL_LIST_ELEMENTS_RO(ho.watches, node, w)) {
		struct peer *peer = w->peer;
		struct frr_ha_tap_info info = {};
		bool wake = false;
		size_t budget = monotime_since(&started, NULL) < TF_PUMP_MAKE_MS * 1000
					? TF_PUMP_MAKE_BUDGET
					: 0;

		if (peer->fd != w->fd || !peer_established(peer))
			continue;
		frr_with_mutex (&peer->io_mtx) {
			wake = frr_ha_tap_pump(bgpd_ha_taps(), w->fd, ho.lag_limit_ms, budget);
			if (wake)
				frr_ha_tap_info(bgpd_ha_taps(), w->fd, &info);
		}
		if (!wake)
			continue;
		bgpd_ha_tf_log_unprotected(peer, info.why);
		monotime(&moving);
		bgp_io_rewait(peer);
		moved_us += monotime_since(&moving, NULL);
		woken++;
	}
	/* What moving their I/O cost this thread (it used to wait on the I/O
	 * pthread for each session). */
	if (woken)
		zlog_debug("frr-ha: %u sessions unprotected by the pump, I/O moved in %lld us",
			   woken, (long long)moved_us);
	if (listcount(ho.watches))
		thread_add_timer_msec(bgpd_ha_tf_master(), tf_pump, NULL, TF_PUMP_MS,
				      &ho.t_pump);
}

/* The standby may end its shadow of a mirrored session at any time: the
 * active hears it at once rather than at the session's next byte. */
static void watch_standby(struct peer *peer)
{
	struct ha_watch *w;
	int word_fd;

	frr_with_mutex (&peer->io_mtx) {
		word_fd = frr_ha_tap_standby_word_fd(bgpd_ha_taps(), peer->fd);
	}
	if (word_fd < 0)
		return;
	w = XCALLOC(MTYPE_HA_SHADOW, sizeof(*w));
	w->peer = peer_lock(peer);
	w->fd = peer->fd;
	w->word_fd = word_fd;
	listnode_add(ho.watches, w);
	thread_add_read(bgpd_ha_tf_master(), tf_standby_word, w, word_fd, &w->t_read);
	if (!ho.t_pump)
		thread_add_timer_msec(bgpd_ha_tf_master(), tf_pump, NULL, TF_PUMP_MS,
				      &ho.t_pump);
}

void bgpd_ha_handover_unwatch(struct peer *peer, bool all)
{
	struct listnode *node, *next;
	struct ha_watch *w;

	for (ALL_LIST_ELEMENTS(ho.watches, node, next, w))
		if (all || w->peer == peer || w->peer->fd != w->fd)
			watch_free(w);
}

static void unprotect(struct peer *peer, const char *why)
{
	frr_with_mutex (&peer->io_mtx) {
		frr_ha_tap_unprotect(bgpd_ha_taps(), peer->fd, why);
	}
}

unsigned int bgpd_ha_tf_lag_limit(void)
{
	return ho.lag_limit_ms;
}

void bgpd_ha_tf_set_lag_limit(unsigned int ms)
{
	ho.lag_limit_ms = ms;
}

/* --- which sessions the active hands over, and when ------------------------------ */

bool bgpd_ha_tf_shadowed(struct peer *peer)
{
	return bgpd_ha_peer_decision(peer).mode != FRR_HA_SESSION_PLAIN_RESTART;
}

void bgpd_ha_handover_session_up(struct peer *peer)
{
	struct frr_ha_mode_decision decision;
	char why[256] = "";

	if (!bgpd_ha_pair_node()) {
		/* A bgpd with the module but no pair: nobody will take the
		 * session, so its history and stream records are dropped. */
		frr_with_mutex (&peer->io_mtx) {
			frr_ha_tap_exclude(bgpd_ha_taps(), peer->fd,
					   "this bgpd is not an RP of an HA pair");
		}
		return;
	}
	if (bgpd_ha_tf_role() != FRR_HA_ROLE_ACTIVE)
		return; /* a shadow coming up */
	decision = bgpd_ha_peer_decision(peer);
	if (decision.mode == FRR_HA_SESSION_PLAIN_RESTART) {
		frr_with_mutex (&peer->io_mtx) {
			frr_ha_tap_exclude(bgpd_ha_taps(), peer->fd, decision.reason);
		}
		return;
	}
	if (!hand_over(peer, why, sizeof(why))) {
		bgpd_ha_tf_log_unprotected(peer, why);
		unprotect(peer, why);
		return;
	}
	zlog_info("frr-ha: %s: session handed to the standby", peer->host);
	watch_standby(peer);
}

/* The pair node's host op: what the last sweep counted, and each session
 * that went on unprotected since. */
static uint32_t host_sessions_unprotected(void *ctx)
{
	return atomic_load_explicit(&ho.unprotected, memory_order_relaxed);
}

void bgpd_ha_tf_log_unprotected(struct peer *peer, const char *why)
{
	zlog_warn("frr-ha: %s: not protected: %s", peer->host, why);
	atomic_fetch_add_explicit(&ho.unprotected, 1, memory_order_relaxed);
}

void bgpd_ha_handover_host_ops(struct frr_ha_host_ops *ops)
{
	ops->sessions_unprotected = host_sessions_unprotected;
}

/* A standby that joins (or comes back) gets the Established sessions it
 * lacks: their history is made from what the streams hold. The sweep also
 * counts the sessions the standby could not continue now (the standby
 * waits longer before it takes those over: docs/dual-rp.md). */
static void tf_protect_sweep(struct thread *t)
{
	struct listnode *bn, *pn;
	struct bgp *bgp;
	struct peer *peer;
	struct frr_ha_status status;
	struct timeval start;
	uint32_t unprotected = 0;
	char why[256];

	thread_add_timer_msec(bgpd_ha_tf_master(), tf_protect_sweep, NULL,
			      TF_PROTECT_SWEEP_MS, &ho.t_sweep);
	if (bgpd_ha_tf_role() != FRR_HA_ROLE_ACTIVE) {
		atomic_store_explicit(&ho.unprotected, 0, memory_order_relaxed);
		return;
	}
	frr_ha_node_status(bgpd_ha_pair_node(), &status);
	if (!status.partner_known || status.partner_role != FRR_HA_ROLE_STANDBY)
		return;
	monotime(&start);
	for (ALL_LIST_ELEMENTS_RO(bm->bgp, bn, bgp))
		for (ALL_LIST_ELEMENTS_RO(bgp->peer, pn, peer)) {
			struct frr_ha_tap_info info = {};
			bool attachable, known;

			if (!peer_established(peer) || !bgpd_ha_tf_shadowed(peer))
				continue;
			if (monotime_since(&start, NULL) > TF_SWEEP_BUDGET_MS * 1000) {
				/* The rest at the next sweep; those not
				 * looked at may be unprotected too. */
				atomic_store_explicit(&ho.unprotected, unprotected + 1,
						      memory_order_relaxed);
				return;
			}
			frr_with_mutex (&peer->io_mtx) {
				attachable = frr_ha_tap_attachable(bgpd_ha_taps(), peer->fd,
								   receive_only(peer), why,
								   sizeof(why));
				known = frr_ha_tap_info(bgpd_ha_taps(), peer->fd, &info);
			}
			if (attachable || !known || info.mode != FRR_HA_TAP_MIRRORING)
				unprotected++;
			if (!attachable)
				continue;
			if (hand_over(peer, why, sizeof(why))) {
				zlog_info("frr-ha: %s: Established session handed to the standby",
					  peer->host);
				watch_standby(peer);
			} else
				unprotect(peer, why);
		}
	atomic_store_explicit(&ho.unprotected, unprotected, memory_order_relaxed);
}

/* --- hand-over (standby): the hand-over socket ----------------------------------- */

static void handover_conn_free(struct ha_handover_conn *c)
{
	THREAD_OFF(c->t_read);
	close(c->fd);
	listnode_delete(ho.handover_conns, c);
	XFREE(MTYPE_HA_SHADOW, c);
}

static void tf_handover_read(struct thread *t)
{
	struct ha_handover_conn *c = THREAD_ARG(t);
	enum frr_ha_handover_message kind;
	struct frr_ha_handover h;
	int fds[3];
	char why[256];

	if (!frr_ha_handover_receive(c->fd, &kind, &h, fds, why, sizeof(why))) {
		if (strcmp(why, "channel closed") != 0)
			zlog_warn("frr-ha: hand-over socket: %s", why);
		handover_conn_free(c);
		return;
	}
	if (kind == FRR_HA_HANDOVER_SESSION) {
		strlcpy(c->vrf, h.vrf, sizeof(c->vrf));
		strlcpy(c->neighbor, h.neighbor, sizeof(c->neighbor));
		c->shadow_fd = bgpd_ha_shadow_adopt(&h, fds, false);
	} else if (c->shadow_fd >= 0) {
		bgpd_ha_shadow_history_ended(c->vrf, c->neighbor, c->shadow_fd, &h.bias);
		c->shadow_fd = -1;
	}
	thread_add_read(bgpd_ha_tf_master(), tf_handover_read, c, c->fd, &c->t_read);
}

/* One connection from the backlog; false when it is empty. */
static bool handover_accept_one(void)
{
	struct ha_handover_conn *c;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int fd = accept4(ho.listen_fd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return false;
	/* Only a process of our own user hands sessions over. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
	    cred.uid != geteuid()) {
		zlog_warn("frr-ha: hand-over socket: refused a connection from uid %u",
			  (unsigned int)cred.uid);
		close(fd);
		return true;
	}
	c = XCALLOC(MTYPE_HA_SHADOW, sizeof(*c));
	c->fd = fd;
	c->shadow_fd = -1;
	listnode_add(ho.handover_conns, c);
	thread_add_read(bgpd_ha_tf_master(), tf_handover_read, c, fd, &c->t_read);
	return true;
}

/* A batch at a time: when a thousand sessions come up together, a busy
 * standby that took one hand-over per turn of its main loop let the
 * backlog fill, and the active's non-blocking connects then failed
 * (EAGAIN), leaving those sessions unprotected until a later sweep. */
static void tf_handover_accept(struct thread *t)
{
	thread_add_read(bgpd_ha_tf_master(), tf_handover_accept, NULL, ho.listen_fd,
			&ho.t_accept);
	for (int i = 0; i < HANDOVER_ACCEPT_BATCH && handover_accept_one(); i++)
		;
}

void bgpd_ha_handover_listen(void)
{
	struct sockaddr_un sun;
	mode_t old;
	int fd;

	if (ho.listen_fd >= 0 || !handover_path(true, &sun))
		return;
	/* Non-blocking: the accept loop stops at an empty backlog. */
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return;
	unlink(sun.sun_path);
	old = umask(0077);
	/* Sessions come up together (a restart, a link back): each hand-over
	 * is a connection here, and a full backlog refuses the active's
	 * non-blocking connect (EAGAIN), leaving the session unprotected until
	 * a later sweep. */
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    listen(fd, HANDOVER_BACKLOG) < 0) {
		zlog_warn("frr-ha: hand-over socket %s: %s", sun.sun_path,
			  safe_strerror(errno));
		close(fd);
		umask(old);
		return;
	}
	umask(old);
	ho.listen_fd = fd;
	thread_add_read(bgpd_ha_tf_master(), tf_handover_accept, NULL, fd, &ho.t_accept);
}

void bgpd_ha_handover_stop_listening(void)
{
	struct sockaddr_un sun;

	struct ha_handover_conn *c;

	THREAD_OFF(ho.t_accept);
	if (ho.listen_fd >= 0) {
		close(ho.listen_fd);
		if (handover_path(true, &sun))
			unlink(sun.sun_path);
	}
	ho.listen_fd = -1;
	while (ho.handover_conns && (c = listnode_head(ho.handover_conns)))
		handover_conn_free(c);
}

void bgpd_ha_handover_init(void)
{
	bgpd_ha_relay_init();
	bgpd_ha_receiver_init();
	ho.handover_conns = list_new();
	ho.watches = list_new();
	ho.lag_limit_ms = BGPD_HA_DEFAULT_LAG_LIMIT_MS;
	thread_add_timer_msec(bgpd_ha_tf_master(), tf_protect_sweep, NULL,
			      TF_PROTECT_SWEEP_MS, &ho.t_sweep);
}

void bgpd_ha_handover_fini(void)
{
	ho.at_exit = true;
	THREAD_OFF(ho.t_sweep);
	THREAD_OFF(ho.t_pump);
	bgpd_ha_handover_stop_listening();
	bgpd_ha_handover_unwatch(NULL, true);
	list_delete(&ho.watches);
	list_delete(&ho.handover_conns);
	bgpd_ha_relay_fini();
	bgpd_ha_receiver_fini();
}
