/*
 * The pair's host side in bgpd: the channel's sockets on FRR's event loop,
 * the ownership lock, and what a role means to bgpd (who runs the peers,
 * who listens, where a plain vtysh lands). Every decision is the core's
 * (frr_ha/pair.h); this file only carries it out.
 */
#include <zebra.h>

#include <poll.h>
#include <sys/file.h>
#include <sys/un.h>

#include "frr_pthread.h"
#include "frratomic.h"
#include "libfrr.h"
#include "linklist.h"
#include "memory.h"
#include "monotime.h"
#include "network.h"
#include "sockunion.h"
#include "thread.h"
#include "vrf.h"
#include "workqueue.h"

#include "bgpd/bgpd.h"
#include "bgpd/bgp_debug.h"
#include "bgpd/bgp_fsm.h"
#include "bgpd/bgp_network.h"
#include "bgpd/bgp_nexthop.h"
#include "bgpd/bgp_zebra.h"

#include "bgpd_ha_glue.h"
#include "../include/frr_ha/fence.h"

/* bgpd's connection to zebra (bgp_zebra.c; no public header declares it). */
extern struct zclient *zclient;

DEFINE_MGROUP(BGPD_HA, "frr-ha (bgpd)");
DEFINE_MTYPE_STATIC(BGPD_HA, HA_CHANNEL, "HA channel");
DEFINE_MTYPE_STATIC(BGPD_HA, HA_OUTQ, "HA channel output queue");

/* The active never waits for its standby: past this much unsent data the
 * standby is dropped and must re-sync. */
#define HA_BACKLOG_LIMIT (16u << 20)
#define HA_READ_CHUNK 65536

struct ha_channel {
	uint64_t id;
	int fd;
	bool connecting; /* TCP connect not finished: not known to the core */
	bool failed;	 /* a write failed: reported to the core from the loop */
	struct thread *t_read, *t_write, *t_backlog, *t_failed;
	uint8_t *out;
	size_t out_len, out_off, out_cap;
	/* Local mode: the process at the other end, taken before the
	 * handshake; it becomes the partner's if the handshake succeeds. */
	int pidfd;
	int pid;
	char pid_error[FRR_HA_TEXT_MAX];
};

/* The module's one instance (FRR modules are process-wide). */
static struct {
	struct thread_master *master;
	bool started; /* configuration file read: the pair may form */
	struct frr_ha_pair_config config;
	struct frr_ha_node *node;
	struct list *channels;
	uint64_t next_id;
	int listen_fd;
	char listen_desc[FRR_HA_PATH_MAX + 16];
	bool listen_busy_logged;
	struct thread *t_accept, *t_tick, *t_reconfigure;
	int lock_fd;
	bool lock_held;
	/* Active since the last takeover, zebra not yet told that this RP
	 * has sent everything it holds. */
	bool fib_confirm_pending;
	/* Local mode: the authenticated partner's process (pidfd), the only
	 * one a fence may kill; watched for its exit. */
	int partner_pidfd;
	int partner_pid;
	char partner_pid_error[FRR_HA_TEXT_MAX];
	struct thread *t_partner_exit;
} ha = {.listen_fd = -1, .lock_fd = -1, .partner_pidfd = -1};

/* The I/O pthread's progress, sent with every heartbeat: a timer on that
 * pthread's own event loop advances it each heartbeat interval. 0: not
 * measured (yet). */
static _Atomic uint64_t io_progress_counter;
static _Atomic uint32_t io_tick_ms = FRR_HA_DEFAULT_INTERVAL_MS;
static struct thread *t_io_tick; /* owned by the I/O pthread */
static bool io_tick_started;

uint64_t bgpd_ha_now_ms(void)
{
	struct timeval tv;

	monotime(&tv);
	return (uint64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

struct frr_ha_pair_config *bgpd_ha_pair_config(void)
{
	return &ha.config;
}

struct frr_ha_node *bgpd_ha_pair_node(void)
{
	return ha.node;
}

const struct frr_ha_rp_config *bgpd_ha_rp_config(bool self)
{
	for (unsigned int i = 0; i < ha.config.n_rps; i++)
		if ((strcmp(ha.config.rps[i].name, ha.config.self) == 0) == self)
			return &ha.config.rps[i];
	return NULL;
}

/* --- channels ---------------------------------------------------------------- */

static struct ha_channel *channel_find(uint64_t id)
{
	struct listnode *node;
	struct ha_channel *ch;

	for (ALL_LIST_ELEMENTS_RO(ha.channels, node, ch))
		if (ch->id == id)
			return ch;
	return NULL;
}

static void channel_free(struct ha_channel *ch)
{
	THREAD_OFF(ch->t_read);
	THREAD_OFF(ch->t_write);
	THREAD_OFF(ch->t_backlog);
	THREAD_OFF(ch->t_failed);
	if (ch->fd >= 0)
		close(ch->fd);
	if (ch->pidfd >= 0)
		close(ch->pidfd);
	listnode_delete(ha.channels, ch);
	XFREE(MTYPE_HA_OUTQ, ch->out);
	XFREE(MTYPE_HA_CHANNEL, ch);
}

/* The socket died under us (EOF, error): tell the core. */
static void channel_gone(struct ha_channel *ch)
{
	uint64_t id = ch->id;
	bool known = !ch->connecting;

	channel_free(ch);
	if (known && ha.node)
		frr_ha_node_channel_closed(ha.node, id, bgpd_ha_now_ms());
}

static void channel_read(struct thread *t);
static void channel_write(struct thread *t);

static void channel_failed(struct thread *t)
{
	channel_gone(THREAD_ARG(t));
}

/* Writes what is queued. A failure is reported to the core from the event
 * loop, never from here: the core may be in the middle of sending. */
static void channel_flush(struct ha_channel *ch)
{
	while (!ch->failed && ch->out_off < ch->out_len) {
		ssize_t n = write(ch->fd, ch->out + ch->out_off,
				  ch->out_len - ch->out_off);

		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
			      errno == EINTR)) {
			thread_add_write(ha.master, channel_write, ch, ch->fd,
					 &ch->t_write);
			return;
		}
		if (n <= 0) {
			zlog_warn("frr-ha: HA channel write failed: %s",
				  safe_strerror(errno));
			ch->failed = true;
			THREAD_OFF(ch->t_read);
			thread_add_event(ha.master, channel_failed, ch, 0,
					 &ch->t_failed);
			return;
		}
		ch->out_off += n;
	}
	ch->out_off = ch->out_len = 0;
}

static void channel_write(struct thread *t)
{
	channel_flush(THREAD_ARG(t));
}

static void channel_backlog(struct thread *t)
{
	struct ha_channel *ch = THREAD_ARG(t);
	size_t queued = ch->out_len - ch->out_off;

	if (queued > HA_BACKLOG_LIMIT && ha.node)
		frr_ha_node_channel_backlog(ha.node, ch->id, queued, bgpd_ha_now_ms());
}

static void channel_read(struct thread *t)
{
	struct ha_channel *ch = THREAD_ARG(t);
	uint8_t buf[HA_READ_CHUNK];
	ssize_t n = read(ch->fd, buf, sizeof(buf));

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
		thread_add_read(ha.master, channel_read, ch, ch->fd, &ch->t_read);
		return;
	}
	if (n <= 0) {
		channel_gone(ch);
		return;
	}
	/* Re-arm first: the core may close this channel while handling. */
	thread_add_read(ha.master, channel_read, ch, ch->fd, &ch->t_read);
	frr_ha_node_channel_bytes(ha.node, ch->id, buf, n, bgpd_ha_now_ms());
}

static struct ha_channel *channel_new(int fd, bool connecting)
{
	struct ha_channel *ch = XCALLOC(MTYPE_HA_CHANNEL, sizeof(*ch));

	ch->id = ++ha.next_id;
	ch->fd = fd;
	ch->pidfd = -1;
	ch->connecting = connecting;
	listnode_add(ha.channels, ch);
	return ch;
}

static void channel_open(struct ha_channel *ch)
{
	const struct frr_ha_rp_config *self = bgpd_ha_rp_config(true);

	ch->connecting = false;
	/* Before the HELLO goes out: the partner's answer to it proves that
	 * the process behind this pidfd is alive and holds the key. */
	if (self && !self->tcp)
		ch->pidfd = frr_ha_peer_pidfd(ch->fd, &ch->pid, ch->pid_error,
					      sizeof(ch->pid_error));
	thread_add_read(ha.master, channel_read, ch, ch->fd, &ch->t_read);
	frr_ha_node_channel_opened(ha.node, ch->id, bgpd_ha_now_ms());
}

static void channel_connected(struct thread *t)
{
	struct ha_channel *ch = THREAD_ARG(t);
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(ch->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err) {
		channel_free(ch); /* partner not there yet: retried next tick */
		return;
	}
	channel_open(ch);
}

/* Fills a sockaddr for an RP's channel address. */
static socklen_t rp_sockaddr(const struct frr_ha_rp_config *rp,
			     struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (!rp->tcp) {
		struct sockaddr_un *sun = (struct sockaddr_un *)ss;

		sun->sun_family = AF_UNIX;
		strlcpy(sun->sun_path, rp->unix_path, sizeof(sun->sun_path));
		return sizeof(*sun);
	}
	union sockunion su;

	if (str2sockunion(rp->host, &su) < 0)
		return 0;
	sockunion_set(&su, sockunion_family(&su),
		      (uint8_t *)sockunion_get_addr(&su),
		      sockunion_get_addrlen(&su));
	if (sockunion_family(&su) == AF_INET) {
		su.sin.sin_port = htons(rp->port);
		memcpy(ss, &su.sin, sizeof(su.sin));
		return sizeof(su.sin);
	}
	su.sin6.sin6_port = htons(rp->port);
	memcpy(ss, &su.sin6, sizeof(su.sin6));
	return sizeof(su.sin6);
}

static void channel_connect(void)
{
	const struct frr_ha_rp_config *partner = bgpd_ha_rp_config(false);
	struct sockaddr_storage ss;
	socklen_t len;
	struct ha_channel *ch;
	int fd;

	if (!partner || !(len = rp_sockaddr(partner, &ss)))
		return;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (connect(fd, (struct sockaddr *)&ss, len) == 0) {
		channel_open(channel_new(fd, false));
		return;
	}
	if (errno != EINPROGRESS) {
		close(fd); /* partner not listening yet */
		return;
	}
	ch = channel_new(fd, true);
	thread_add_write(ha.master, channel_connected, ch, fd, &ch->t_write);
}

static void channel_accept(struct thread *t)
{
	int fd = accept4(ha.listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	thread_add_read(ha.master, channel_accept, NULL, ha.listen_fd,
			&ha.t_accept);
	if (fd < 0)
		return;
	channel_open(channel_new(fd, false));
}

/* A live listener at a unix path means another process owns this RP name. */
static bool unix_path_in_use(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool live;

	strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
	live = fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	if (fd >= 0)
		close(fd);
	return live;
}

static void listen_stop(void)
{
	THREAD_OFF(ha.t_accept);
	if (ha.listen_fd >= 0)
		close(ha.listen_fd);
	ha.listen_fd = -1;
}

static void listen_start(void)
{
	const struct frr_ha_rp_config *self = bgpd_ha_rp_config(true);
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, on = 1;

	if (ha.listen_fd >= 0 || !self || !(len = rp_sockaddr(self, &ss)))
		return;
	if (!self->tcp && unix_path_in_use(self->unix_path)) {
		if (!ha.listen_busy_logged)
			zlog_err("frr-ha: another process listens on %s: is a second rp %s running? Not listening until it is gone",
				 self->unix_path, self->name);
		ha.listen_busy_logged = true;
		return;
	}
	ha.listen_busy_logged = false;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (self->tcp)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	else
		unlink(self->unix_path); /* stale: nobody answered on it */
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 4) < 0) {
		zlog_err("frr-ha: cannot listen on %s: %s",
			 self->tcp ? self->host : self->unix_path,
			 safe_strerror(errno));
		close(fd);
		return;
	}
	/* Only bgpd's own user may talk to the channel. */
	if (!self->tcp && chmod(self->unix_path, 0600) < 0)
		zlog_warn("frr-ha: chmod %s: %s", self->unix_path,
			  safe_strerror(errno));
	ha.listen_fd = fd;
	thread_add_read(ha.master, channel_accept, NULL, fd, &ha.t_accept);
}

/* --- the ownership lock (see docs/ha-pair.md) --------------------------------- */

static bool lock_open(void)
{
	char path[512];

	if (ha.lock_fd >= 0)
		return true;
	snprintf(path, sizeof(path), "%s/bgpd-ha.lock", frr_vtydir);
	ha.lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (ha.lock_fd < 0)
		zlog_err("frr-ha: cannot open the ownership lock %s: %s", path,
			 safe_strerror(errno));
	return ha.lock_fd >= 0;
}

static bool host_acquire_ownership(void *ctx, uint64_t *epoch)
{
	char buf[32] = "";

	if (!ha.lock_held) {
		if (!lock_open() || flock(ha.lock_fd, LOCK_EX | LOCK_NB) < 0)
			return false;
		ha.lock_held = true;
	}
	if (pread(ha.lock_fd, buf, sizeof(buf) - 1, 0) < 0)
		buf[0] = '\0';
	*epoch = strtoull(buf, NULL, 10);
	return true;
}

static void host_store_epoch(void *ctx, uint64_t epoch)
{
	char buf[32];
	int len = snprintf(buf, sizeof(buf), "%" PRIu64 "\n", epoch);

	if (!ha.lock_held || pwrite(ha.lock_fd, buf, len, 0) != len ||
	    ftruncate(ha.lock_fd, len) < 0)
		zlog_err("frr-ha: cannot store epoch %" PRIu64 " with the ownership lock",
			 epoch);
}

static void host_release_ownership(void *ctx)
{
	if (ha.lock_held)
		flock(ha.lock_fd, LOCK_UN);
	ha.lock_held = false;
}

/* --- what a role means to bgpd ---------------------------------------------------- */

/* The vty socket this process listens on (it may have been moved with
 * --vty_socket), found among our own descriptors. */
static bool own_vty_socket(char *path, size_t len)
{
	int maxfd = getdtablesize();

	for (int fd = 0; fd < maxfd; fd++) {
		struct sockaddr_un sun;
		socklen_t sl = sizeof(sun);
		int acc = 0;
		socklen_t al = sizeof(acc);
		size_t plen;

		if (getsockname(fd, (struct sockaddr *)&sun, &sl) < 0 ||
		    sun.sun_family != AF_UNIX ||
		    getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &al) < 0 || !acc)
			continue;
		plen = strnlen(sun.sun_path, sizeof(sun.sun_path));
		if (plen > 9 && strcmp(sun.sun_path + plen - 9, "/bgpd.vty") == 0) {
			strlcpy(path, sun.sun_path, len);
			return true;
		}
	}
	return false;
}

/* A plain vtysh connects to <vtydir>/bgpd.vty: point it at the active. */
static void link_vty_to_self(void)
{
	char own[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char link_path[512], tmp[520];

	if (!own_vty_socket(own, sizeof(own)))
		return;
	snprintf(link_path, sizeof(link_path), "%s/bgpd.vty", frr_vtydir);
	if (strcmp(own, link_path) == 0)
		return; /* this RP uses the default path itself */
	snprintf(tmp, sizeof(tmp), "%s.ha-%d", link_path, (int)getpid());
	unlink(tmp);
	if (symlink(own, tmp) < 0 || rename(tmp, link_path) < 0) {
		zlog_warn("frr-ha: cannot point %s at %s: %s", link_path, own,
			  safe_strerror(errno));
		unlink(tmp);
	}
}

static void bgp_listeners(bool open)
{
	struct listnode *node;
	struct bgp *bgp;

	if (open)
		bgp_option_unset(BGP_OPT_NO_LISTEN);
	for (ALL_LIST_ELEMENTS_RO(bm->bgp, node, bgp))
		bgp_handle_socket(bgp, vrf_lookup_by_id(bgp->vrf_id),
				  VRF_UNKNOWN, open);
	if (!open)
		bgp_option_set(BGP_OPT_NO_LISTEN);
}

void bgpd_ha_hold_sessions(void)
{
	struct listnode *bn, *pn;
	struct bgp *bgp;
	struct peer *peer;

	/* Not the owner: no route goes to zebra, none is withdrawn from it. */
	bgp_option_set(BGP_OPT_NO_FIB);
	SET_FLAG(bm->flags, BM_FLAG_HOLD_PEERS);
	bgp_listeners(false);
	/* Drop without a NOTIFICATION: an RP that is not the owner writes
	 * nothing to a peer. */
	for (ALL_LIST_ELEMENTS_RO(bm->bgp, bn, bgp))
		for (ALL_LIST_ELEMENTS_RO(bgp->peer, pn, peer))
			if (peer->status != Idle && !bgpd_ha_tf_is_shadow(peer))
				BGP_EVENT_ADD(peer, BGP_Stop);
}

static void run_sessions(void)
{
	struct listnode *bn, *pn;
	struct bgp *bgp;
	struct peer *peer;

	bgp_option_unset(BGP_OPT_NO_FIB);
	bgpd_ha_gr_restart_window();
	UNSET_FLAG(bm->flags, BM_FLAG_HOLD_PEERS);
	bgp_listeners(true);
	for (ALL_LIST_ELEMENTS_RO(bm->bgp, bn, bgp)) {
		/* What the continued sessions taught this RP while standby goes
		 * to zebra now: the routes the old active installed are
		 * confirmed (identical ones untouched, with zebra -M ha). */
		bgp_zebra_announce_table(bgp, AFI_IP, SAFI_UNICAST);
		bgp_zebra_announce_table(bgp, AFI_IP6, SAFI_UNICAST);
		for (ALL_LIST_ELEMENTS_RO(bgp->peer, pn, peer))
			if (peer->status == Idle && peer_active(peer))
				BGP_EVENT_ADD(peer, BGP_Start);
	}
}

/* Every session that can be up is up, has sent End-of-RIB for all it
 * negotiated, zebra has answered every nexthop bgpd asked about, and
 * bestpath has caught up: the new active holds what it will hold, and has
 * sent it to zebra. */
static bool all_sessions_synced(void)
{
	struct listnode *bn, *pn;
	struct bgp *bgp;
	struct peer *peer;
	struct bgp_nexthop_cache *bnc;
	afi_t afi;
	safi_t safi;

	for (ALL_LIST_ELEMENTS_RO(bm->bgp, bn, bgp)) {
		if (bgp->process_queue && !work_queue_empty(bgp->process_queue))
			return false;
		/* A path whose nexthop zebra has not resolved yet is not
		 * selected yet: it would reach zebra after the signal. */
		for (afi = AFI_IP; afi < AFI_MAX; afi++)
			frr_each (bgp_nexthop_cache, &bgp->nexthop_cache_table[afi], bnc)
				if (!bnc->last_update)
					return false;
		for (ALL_LIST_ELEMENTS_RO(bgp->peer, pn, peer)) {
			if (!peer_active(peer) || CHECK_FLAG(peer->flags, PEER_FLAG_SHUTDOWN))
				continue;
			if (!peer_established(peer))
				return false;
			FOREACH_AFI_SAFI (afi, safi)
				if (peer->afc_nego[afi][safi] &&
				    !CHECK_FLAG(peer->af_sflags[afi][safi],
						PEER_STATUS_EOR_RECEIVED))
					return false;
		}
	}
	return true;
}

/* Tells zebra (zebra -M ha) that this RP, new active, has sent every route
 * it holds: routes of the old active it did not send again can go. */
static void confirm_fib_when_synced(void)
{
	static uint64_t synced_since;
	uint64_t now = bgpd_ha_now_ms();

	if (!ha.fib_confirm_pending)
		return;
	/* A premature "done" would remove routes the new active is still
	 * about to send (FIB churn); a late one costs nothing: require the
	 * state to hold for a second. */
	if (!all_sessions_synced()) {
		synced_since = 0;
		return;
	}
	if (!synced_since)
		synced_since = now;
	if (now - synced_since < 1000)
		return;
	if (bgp_zebra_update(AFI_UNSPEC, SAFI_UNSPEC, VRF_DEFAULT,
			     ZEBRA_CLIENT_ROUTE_UPDATE_COMPLETE) != BGP_GR_SUCCESS)
		return; /* zebra not connected yet: next tick */
	ha.fib_confirm_pending = false;
	synced_since = 0;
	zlog_notice("frr-ha: every session is synced: told zebra this RP has sent all its routes");
}

static void host_role_changed(void *ctx, enum frr_ha_role role, uint64_t epoch)
{
	static enum frr_ha_role previous = FRR_HA_ROLE_INIT;

	if (role == FRR_HA_ROLE_ACTIVE) {
		zlog_notice("frr-ha: rp %s is active (epoch %" PRIu64 "): running BGP sessions",
			    ha.config.self, epoch);
		bgpd_ha_tf_role_changed(previous, role);
		run_sessions();
		link_vty_to_self();
		ha.fib_confirm_pending = true;
	} else {
		zlog_notice("frr-ha: rp %s is %s (epoch %" PRIu64 "): BGP sessions held",
			    ha.config.self,
			    role == FRR_HA_ROLE_INIT ? "starting" : "standby", epoch);
		bgpd_ha_tf_role_changed(previous, role);
		bgpd_ha_hold_sessions();
		ha.fib_confirm_pending = false;
		/* Leaving the active role: the routes this RP installed stay in
		 * zebra (nothing was withdrawn). Reconnecting to zebra as a new
		 * client tells zebra (with zebra -M ha) that their owner left,
		 * so that the new active confirms them or they are swept. */
		if (previous == FRR_HA_ROLE_ACTIVE && zclient) {
			zlog_notice("frr-ha: handing the FIB over: reconnecting to zebra as standby");
			zclient_reset(zclient);
		}
	}
	previous = role;
}

/* --- sessions, as the bulk sync sees them ---------------------------------------- */

static void host_owned_sessions(void *ctx, frr_ha_session_sink emit, void *sink)
{
	struct listnode *bn, *pn;
	struct bgp *bgp;
	struct peer *peer;

	for (ALL_LIST_ELEMENTS_RO(bm->bgp, bn, bgp))
		for (ALL_LIST_ELEMENTS_RO(bgp->peer, pn, peer)) {
			struct frr_ha_session_item item = {
				.vrf = bgp->name_pretty,
				.neighbor = peer->host,
				.remote_as = peer->as,
				.state = lookup_msg(bgp_status_msg, peer->status, NULL),
			};
			emit(sink, &item);
		}
}

static bool host_check_session(void *ctx, const struct frr_ha_session_item *item,
			       char *why, size_t why_len)
{
	struct listnode *bn, *pn;
	struct bgp *bgp;
	struct peer *peer;

	for (ALL_LIST_ELEMENTS_RO(bm->bgp, bn, bgp)) {
		if (strcmp(bgp->name_pretty, item->vrf) != 0)
			continue;
		for (ALL_LIST_ELEMENTS_RO(bgp->peer, pn, peer)) {
			if (strcmp(peer->host, item->neighbor) != 0)
				continue;
			if (peer->as == item->remote_as)
				return true;
			snprintf(why, why_len,
				 "neighbor %s (%s) has remote-as %u here, %u on the active",
				 item->neighbor, item->vrf, peer->as, item->remote_as);
			return false;
		}
	}
	snprintf(why, why_len, "neighbor %s (%s) is not configured on this RP",
		 item->neighbor, item->vrf);
	return false;
}

/* --- the rest of the host --------------------------------------------------------- */

static void host_send(void *ctx, uint64_t id, const void *data, size_t len)
{
	struct ha_channel *ch = channel_find(id);

	if (!ch || ch->failed)
		return;
	if (ch->out_len + len > ch->out_cap) {
		size_t cap = MAX(ch->out_cap * 2, ch->out_len + len);

		ch->out = XREALLOC(MTYPE_HA_OUTQ, ch->out, cap);
		ch->out_cap = cap;
	}
	memcpy(ch->out + ch->out_len, data, len);
	ch->out_len += len;
	if (!ch->t_write)
		channel_flush(ch);
	if (ch->out_len - ch->out_off > HA_BACKLOG_LIMIT)
		thread_add_event(ha.master, channel_backlog, ch, 0, &ch->t_backlog);
}

static void host_close(void *ctx, uint64_t id)
{
	struct ha_channel *ch = channel_find(id);

	if (ch)
		channel_free(ch);
}

static void host_log(void *ctx, enum frr_ha_log_level level, const char *text)
{
	switch (level) {
	case FRR_HA_LOG_ERROR:
		zlog_err("frr-ha: %s", text);
		break;
	case FRR_HA_LOG_WARNING:
		zlog_warn("frr-ha: %s", text);
		break;
	case FRR_HA_LOG_INFO:
		zlog_info("frr-ha: %s", text);
		break;
	}
}

static int64_t host_wall_clock_ms(void *ctx)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static uint64_t host_io_progress(void *ctx);
static void host_partner_authenticated(void *ctx, uint64_t id);
static int host_fence_partner(void *ctx, char *why, size_t why_len);
static bool host_is_partner_process(void *ctx, uint64_t id);

static struct frr_ha_host_ops host_ops = {
	.send = host_send,
	.close = host_close,
	.acquire_ownership = host_acquire_ownership,
	.store_epoch = host_store_epoch,
	.release_ownership = host_release_ownership,
	.role_changed = host_role_changed,
	.owned_sessions = host_owned_sessions,
	.check_session = host_check_session,
	.log = host_log,
	.wall_clock_ms = host_wall_clock_ms,
	.io_progress = host_io_progress,
	.partner_authenticated = host_partner_authenticated,
	.fence_partner = host_fence_partner,
	.is_partner_process = host_is_partner_process,
};

/* --- lifecycle ------------------------------------------------------------------------ */

/* --- a hung active: progress and fencing (docs/ha-pair.md) ------------------------ */

static void io_tick(struct thread *t)
{
	atomic_fetch_add_explicit(&io_progress_counter, 1, memory_order_relaxed);
	thread_add_timer_msec(bgp_pth_io->master, io_tick, NULL,
			      atomic_load_explicit(&io_tick_ms, memory_order_relaxed),
			      &t_io_tick);
}

/* Once bgpd's I/O pthread runs, put the progress timer on its loop (the
 * thread stops with bgpd; the timer goes with its loop). */
static void io_tick_start(void)
{
	atomic_store_explicit(&io_tick_ms, ha.config.interval_ms,
			      memory_order_relaxed);
	if (io_tick_started || !bgp_pth_io ||
	    !atomic_load_explicit(&bgp_pth_io->running, memory_order_relaxed))
		return;
	io_tick_started = true;
	atomic_store_explicit(&io_progress_counter, 1, memory_order_relaxed);
	thread_add_timer_msec(bgp_pth_io->master, io_tick, NULL,
			      ha.config.interval_ms, &t_io_tick);
}

static uint64_t host_io_progress(void *ctx)
{
	return atomic_load_explicit(&io_progress_counter, memory_order_relaxed);
}

static void partner_process_forget(void)
{
	THREAD_OFF(ha.t_partner_exit);
	if (ha.partner_pidfd >= 0)
		close(ha.partner_pidfd);
	ha.partner_pidfd = -1;
	ha.partner_pid = 0;
}

static void partner_process_exited(struct thread *t)
{
	int pid = ha.partner_pid;

	partner_process_forget();
	zlog_info("frr-ha: the partner's process %d exited", pid);
	if (ha.node)
		frr_ha_node_partner_exited(ha.node, bgpd_ha_now_ms());
}

static void host_partner_authenticated(void *ctx, uint64_t id)
{
	struct ha_channel *ch = channel_find(id);

	if (!ch || (!bgpd_ha_rp_config(true) || bgpd_ha_rp_config(true)->tcp))
		return;
	partner_process_forget();
	if (ch->pidfd < 0) {
		strlcpy(ha.partner_pid_error, ch->pid_error,
			sizeof(ha.partner_pid_error));
		zlog_warn("frr-ha: the partner's process is unknown (%s): a hung partner cannot be fenced",
			  ch->pid_error);
		return;
	}
	ha.partner_pidfd = ch->pidfd;
	ha.partner_pid = ch->pid;
	ch->pidfd = -1;
	ha.partner_pid_error[0] = '\0';
	thread_add_read(ha.master, partner_process_exited, NULL,
			ha.partner_pidfd, &ha.t_partner_exit);
}

/* A live verified partner keeps its pid: a channel whose peer has that pid
 * is from the same process. */
static bool host_is_partner_process(void *ctx, uint64_t id)
{
	struct ha_channel *ch = channel_find(id);

	return ch && ha.partner_pidfd >= 0 && ch->pid == ha.partner_pid &&
	       !frr_ha_pidfd_exited(ha.partner_pidfd);
}

static int host_fence_partner(void *ctx, char *why, size_t why_len)
{
	int pid = ha.partner_pid;

	if (ha.partner_pidfd < 0) {
		snprintf(why, why_len, "no verified partner process%s%s",
			 *ha.partner_pid_error ? ": " : "",
			 ha.partner_pid_error);
		return 0;
	}
	if (!frr_ha_pidfd_kill(ha.partner_pidfd, why, why_len))
		return 0;
	zlog_warn("frr-ha: SIGKILL sent to the partner's process %d", pid);
	return pid;
}

int bgpd_ha_partner_pid(void)
{
	return ha.partner_pid;
}

/* Reads what the partner sent while this RP was busy, before the tick
 * judges its silence: a stall of this RP's own never counts against the
 * partner. Connections waiting to be accepted first: a partner that keeps
 * reconnecting (its handshakes timed out on this busy RP) says HELLO on
 * each. */
static void channels_drain(void)
{
	uint64_t ids[8];
	size_t n_ids = 0;
	struct listnode *node;
	struct ha_channel *ch;

	for (int i = 0; ha.listen_fd >= 0 && i < 4; i++) {
		int fd = accept4(ha.listen_fd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			break;
		channel_open(channel_new(fd, false));
	}

	/* A channel whose write failed (the partner closed it) may still hold
	 * what the partner wrote before: read that too. */
	for (ALL_LIST_ELEMENTS_RO(ha.channels, node, ch))
		if (n_ids < array_size(ids) && !ch->connecting)
			ids[n_ids++] = ch->id;
	for (size_t i = 0; i < n_ids; i++) {
		for (int rounds = 0; rounds < 64; rounds++) {
			uint8_t buf[HA_READ_CHUNK];
			ssize_t n;

			ch = channel_find(ids[i]);
			if (!ch)
				break;
			n = read(ch->fd, buf, sizeof(buf));
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
				      errno == EINTR))
				break;
			if (n <= 0) {
				channel_gone(ch);
				break;
			}
			frr_ha_node_channel_bytes(ha.node, ch->id, buf, n,
						  bgpd_ha_now_ms());
		}
	}
}

static void pair_tick(struct thread *t)
{
	thread_add_timer_msec(ha.master, pair_tick, NULL, ha.config.interval_ms,
			      &ha.t_tick);
	io_tick_start();
	channels_drain();
	frr_ha_node_tick(ha.node, bgpd_ha_now_ms());
	confirm_fib_when_synced();
	listen_start();
	if (list_isempty(ha.channels) && frr_ha_node_should_connect(ha.node))
		channel_connect();
}

static void pair_start_io(void)
{
	/* The own address may have changed. */
	listen_stop();
	listen_start();
	THREAD_OFF(ha.t_tick);
	thread_add_timer_msec(ha.master, pair_tick, NULL, ha.config.interval_ms,
			      &ha.t_tick);
}

static void pair_reconfigure(struct thread *t)
{
	if (!ha.node)
		return;
	frr_ha_node_reconfigure(ha.node, &ha.config, bgpd_ha_now_ms());
	pair_start_io();
}

void bgpd_ha_pair_apply(void)
{
	if (!ha.started || !*ha.config.self)
		return;
	if (ha.node) {
		/* From the event loop: the line may have come from the partner
		 * (a mirrored configuration line), in the middle of a frame. */
		thread_add_event(ha.master, pair_reconfigure, NULL, 0,
				 &ha.t_reconfigure);
		return;
	}
	ha.node = frr_ha_node_new(&host_ops, NULL, &ha.config, bgpd_ha_now_ms());
	if (!ha.node) {
		zlog_err("frr-ha: cannot start the HA pair");
		return;
	}
	pair_start_io();
}

/* Moves the channels' bytes (outside the event loop) until done(arg) or
 * timeout_ms: a configuration line waits so for the standby's answer. */
bool bgpd_ha_pair_run_channels_until(bool (*done)(void *arg), void *arg,
				     uint32_t timeout_ms)
{
	uint64_t deadline = bgpd_ha_now_ms() + timeout_ms;

	while (!done(arg)) {
		struct pollfd pfd[4];
		uint64_t ids[4], now = bgpd_ha_now_ms();
		struct listnode *node;
		struct ha_channel *ch;
		nfds_t n = 0;

		for (ALL_LIST_ELEMENTS_RO(ha.channels, node, ch)) {
			if (ch->connecting || ch->failed || ch->fd < 0 ||
			    n == array_size(pfd))
				continue;
			pfd[n].fd = ch->fd;
			pfd[n].events = POLLIN;
			if (ch->out_off < ch->out_len)
				pfd[n].events |= POLLOUT;
			pfd[n].revents = 0;
			ids[n++] = ch->id;
		}
		if (n == 0 || now >= deadline)
			return done(arg);
		if (poll(pfd, n, (int)(deadline - now)) < 0 && errno != EINTR)
			return done(arg);
		for (nfds_t i = 0; i < n; i++) {
			uint8_t buf[HA_READ_CHUNK];
			ssize_t len;

			ch = channel_find(ids[i]);
			if (!ch)
				continue;
			if (pfd[i].revents & POLLOUT)
				channel_flush(ch);
			if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			len = read(ch->fd, buf, sizeof(buf));
			if (len < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (len <= 0) {
				channel_gone(ch);
				continue;
			}
			frr_ha_node_channel_bytes(ha.node, ch->id, buf, len,
						  bgpd_ha_now_ms());
		}
	}
	return true;
}

static int pair_config_read(struct thread_master *master)
{
	ha.started = true;
	bgpd_ha_pair_apply();
	return 0;
}

void bgpd_ha_pair_init(struct thread_master *master)
{
	ha.master = master;
	ha.channels = list_new();
	bgpd_ha_config_sync_host_ops(&host_ops);
	frr_ha_config_defaults(&ha.config);
	strlcpy(ha.config.self, bgpd_ha_rp_name(), sizeof(ha.config.self));
	if (!*ha.config.self)
		return; /* -M ha without a name: no pair */
	/* Until the pair says who owns the sessions, nobody runs them. */
	bgpd_ha_hold_sessions();
	hook_register(frr_config_post, pair_config_read);
}

void bgpd_ha_pair_fini(void)
{
	struct ha_channel *ch;
	const struct frr_ha_rp_config *self = bgpd_ha_rp_config(true);

	bool listening = ha.listen_fd >= 0;

	THREAD_OFF(ha.t_tick);
	THREAD_OFF(ha.t_reconfigure);
	listen_stop();
	if (listening && self && !self->tcp)
		unlink(self->unix_path);
	while (ha.channels && (ch = listnode_head(ha.channels)))
		channel_free(ch);
	if (ha.node)
		frr_ha_node_free(ha.node);
	ha.node = NULL;
	partner_process_forget();
	host_release_ownership(NULL);
	if (ha.lock_fd >= 0)
		close(ha.lock_fd);
	ha.lock_fd = -1;
	if (ha.channels)
		list_delete(&ha.channels);
}
