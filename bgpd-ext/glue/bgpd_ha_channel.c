/*
 * The HA channel's sockets on FRR's event loop: listening, connecting,
 * reading and writing without blocking (a queue per channel), and moving
 * bytes outside the loop while a configuration line waits for the
 * standby's answer. What the bytes mean is the core's (frr_ha/pair.h):
 * every channel is a TLS 1.3 session run by the core over memory buffers,
 * so what this file reads and writes is ciphertext, in both modes.
 */
#include <zebra.h>

#include <poll.h>
#include <sys/un.h>

#include "lib_errors.h"
#include "linklist.h"
#include "log.h"
#include "memory.h"
#include "sockunion.h"
#include "thread.h"

#include "bgpd_ha_glue.h"
#include "../include/frr_ha/fence.h"

DEFINE_MTYPE_STATIC(BGPD_HA, HA_CHANNEL, "HA channel");
DEFINE_MTYPE_STATIC(BGPD_HA, HA_OUTQ, "HA channel output queue");

/* The active never waits for its standby: past this much unsent data the
 * standby is dropped and must re-sync. */
#define HA_BACKLOG_LIMIT (16u << 20)
#define HA_READ_CHUNK 65536
/* Connections the kernel completes while this RP is frozen or busy: the
 * connecting partner retries every heartbeat (each attempt given up after
 * the detection time), and a full queue drops its SYN, which TCP then
 * resends only a second or more later: too late for a standby that thawed
 * and gives its partner one detection time to be heard again. The tick's
 * drain accepts them all. */
#define HA_LISTEN_BACKLOG 64

struct ha_channel {
	uint64_t id;
	int fd;
	bool connecting; /* TCP connect not finished: not known to the core */
	bool outgoing;	 /* this RP connected (TLS client), else accepted */
	bool data;	 /* this RP connected it as the data channel (dual-RP) */
	bool failed;	 /* a write failed: reported to the core from the loop */
	struct thread *t_read, *t_write, *t_backlog, *t_failed;
	struct thread *t_give_up; /* a connect still unanswered is given up */
	uint8_t *out;
	size_t out_len, out_off, out_cap;
	/* Local mode: the process at the other end, taken before the
	 * handshake; it becomes the partner's if the handshake succeeds. */
	int pidfd;
	int pid;
	char pid_error[FRR_HA_TEXT_MAX];
};

/* The channels of this process (FRR modules are process-wide). */
static struct {
	struct thread_master *master;
	struct list *list;
	uint64_t next_id;
	int listen_fd;
	bool listen_busy_logged;
	struct thread *t_accept;
} chs = {.listen_fd = -1};

/* --- channels ---------------------------------------------------------------- */

static struct ha_channel *channel_find(uint64_t id)
{
	struct listnode *node;
	struct ha_channel *ch;

	for (ALL_LIST_ELEMENTS_RO(chs.list, node, ch))
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
	THREAD_OFF(ch->t_give_up);
	if (ch->fd >= 0)
		close(ch->fd);
	if (ch->pidfd >= 0)
		close(ch->pidfd);
	listnode_delete(chs.list, ch);
	XFREE(MTYPE_HA_OUTQ, ch->out);
	XFREE(MTYPE_HA_CHANNEL, ch);
}

/* The socket died under us (EOF, error): tell the core. */
static void channel_gone(struct ha_channel *ch)
{
	uint64_t id = ch->id;
	bool known = !ch->connecting;

	channel_free(ch);
	if (known && bgpd_ha_pair_node())
		frr_ha_node_channel_closed(bgpd_ha_pair_node(), id, bgpd_ha_now_ms());
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
			thread_add_write(chs.master, channel_write, ch, ch->fd,
					 &ch->t_write);
			return;
		}
		if (n <= 0) {
			zlog_warn("frr-ha: HA channel write failed: %s",
				  safe_strerror(errno));
			ch->failed = true;
			THREAD_OFF(ch->t_read);
			thread_add_event(chs.master, channel_failed, ch, 0,
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

	if (queued > HA_BACKLOG_LIMIT && bgpd_ha_pair_node())
		frr_ha_node_channel_backlog(bgpd_ha_pair_node(), ch->id, queued, bgpd_ha_now_ms());
}

static void channel_read(struct thread *t)
{
	struct ha_channel *ch = THREAD_ARG(t);
	uint8_t buf[HA_READ_CHUNK];
	ssize_t n = read(ch->fd, buf, sizeof(buf));

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
		thread_add_read(chs.master, channel_read, ch, ch->fd, &ch->t_read);
		return;
	}
	if (n <= 0) {
		channel_gone(ch);
		return;
	}
	/* Re-arm first: the core may close this channel while handling. */
	thread_add_read(chs.master, channel_read, ch, ch->fd, &ch->t_read);
	frr_ha_node_channel_bytes(bgpd_ha_pair_node(), ch->id, buf, n, bgpd_ha_now_ms());
}

static struct ha_channel *channel_new(int fd, bool connecting)
{
	struct ha_channel *ch = XCALLOC(MTYPE_HA_CHANNEL, sizeof(*ch));

	ch->id = ++chs.next_id;
	ch->fd = fd;
	ch->pidfd = -1;
	ch->connecting = connecting;
	ch->outgoing = connecting;
	listnode_add(chs.list, ch);
	return ch;
}

static void channel_open(struct ha_channel *ch)
{
	const struct frr_ha_rp_config *self = bgpd_ha_rp_config(true);

	ch->connecting = false;
	THREAD_OFF(ch->t_give_up);
	/* Before the HELLO goes out: the partner's answer to it proves that
	 * the process behind this pidfd is alive and holds the key. */
	if (self && !self->tcp)
		ch->pidfd = frr_ha_peer_pidfd(ch->fd, &ch->pid, ch->pid_error,
					      sizeof(ch->pid_error));
	thread_add_read(chs.master, channel_read, ch, ch->fd, &ch->t_read);
	if (ch->data)
		frr_ha_node_data_channel_opened(bgpd_ha_pair_node(), ch->id, bgpd_ha_now_ms());
	else
		frr_ha_node_channel_opened(bgpd_ha_pair_node(), ch->id, ch->outgoing,
					   bgpd_ha_now_ms());
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

/* A SYN that went nowhere (the partner's host down, its link just back)
 * is resent by TCP only after 1, 3, 7 s...: the next tick dials anew
 * instead, so the channel forms within a heartbeat of the partner being
 * reachable again. */
static unsigned int connect_wait_ms(void)
{
	const struct frr_ha_pair_config *cfg = bgpd_ha_pair_config();

	return cfg ? cfg->interval_ms * cfg->multiplier : 500;
}

static void channel_give_up(struct thread *t)
{
	channel_free(THREAD_ARG(t)); /* not known to the core yet */
}

static void channel_connect(bool data)
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
		ch = channel_new(fd, false);
		ch->outgoing = true;
		ch->data = data;
		channel_open(ch);
		return;
	}
	if (errno != EINPROGRESS) {
		close(fd); /* partner not listening yet */
		return;
	}
	ch = channel_new(fd, true);
	ch->data = data;
	thread_add_write(chs.master, channel_connected, ch, fd, &ch->t_write);
	thread_add_timer_msec(chs.master, channel_give_up, ch, connect_wait_ms(),
			      &ch->t_give_up);
}

static void channel_accept(struct thread *t)
{
	int fd = accept4(chs.listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	thread_add_read(chs.master, channel_accept, NULL, chs.listen_fd,
			&chs.t_accept);
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

void bgpd_ha_channels_listen_stop(void)
{
	THREAD_OFF(chs.t_accept);
	if (chs.listen_fd >= 0)
		close(chs.listen_fd);
	chs.listen_fd = -1;
}

void bgpd_ha_channels_listen_start(void)
{
	const struct frr_ha_rp_config *self = bgpd_ha_rp_config(true);
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, on = 1;

	if (chs.listen_fd >= 0 || !self || !(len = rp_sockaddr(self, &ss)))
		return;
	if (!self->tcp && unix_path_in_use(self->unix_path)) {
		if (!chs.listen_busy_logged)
			zlog_err("frr-ha: another process listens on %s: is a second rp %s running? Not listening until it is gone",
				 self->unix_path, self->name);
		chs.listen_busy_logged = true;
		return;
	}
	chs.listen_busy_logged = false;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (self->tcp)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	else
		unlink(self->unix_path); /* stale: nobody answered on it */
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, HA_LISTEN_BACKLOG) < 0) {
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
	chs.listen_fd = fd;
	thread_add_read(chs.master, channel_accept, NULL, fd, &chs.t_accept);
}


void bgpd_ha_channel_send(uint64_t id, const void *data, size_t len)
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
		thread_add_event(chs.master, channel_backlog, ch, 0, &ch->t_backlog);
}

void bgpd_ha_channel_close(uint64_t id)
{
	struct ha_channel *ch = channel_find(id);

	if (ch)
		channel_free(ch);
}


/* Reads what the partner sent while this RP was busy, before the tick
 * judges its silence: a stall of this RP's own never counts against the
 * partner. Connections waiting to be accepted first: a partner that keeps
 * reconnecting (its handshakes timed out on this busy RP) says HELLO on
 * each. */
void bgpd_ha_channels_drain(void)
{
	uint64_t ids[8];
	size_t n_ids = 0;
	struct listnode *node;
	struct ha_channel *ch;

	for (int i = 0; chs.listen_fd >= 0 && i < HA_LISTEN_BACKLOG; i++) {
		int fd = accept4(chs.listen_fd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			break;
		channel_open(channel_new(fd, false));
	}

	/* A channel whose write failed (the partner closed it) may still hold
	 * what the partner wrote before: read that too. */
	for (ALL_LIST_ELEMENTS_RO(chs.list, node, ch))
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
			frr_ha_node_channel_bytes(bgpd_ha_pair_node(), ch->id, buf, n,
						  bgpd_ha_now_ms());
		}
	}
}


/* Moves the channels' bytes (outside the event loop) until done(arg) or
 * timeout_ms: a configuration line waits so for the standby's answer. */
bool bgpd_ha_channels_run_until(bool (*done)(void *arg), void *arg,
				     uint32_t timeout_ms)
{
	uint64_t deadline = bgpd_ha_now_ms() + timeout_ms;

	while (!done(arg)) {
		struct pollfd pfd[4];
		uint64_t ids[4], now = bgpd_ha_now_ms();
		struct listnode *node;
		struct ha_channel *ch;
		nfds_t n = 0;

		for (ALL_LIST_ELEMENTS_RO(chs.list, node, ch)) {
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
			frr_ha_node_channel_bytes(bgpd_ha_pair_node(), ch->id, buf, len,
						  bgpd_ha_now_ms());
		}
	}
	return true;
}


/* Listens (again: the own address may have changed). */
void bgpd_ha_channels_listen_restart(void)
{
	bgpd_ha_channels_listen_stop();
	bgpd_ha_channels_listen_start();
}

/* Each heartbeat: listen if not yet (a busy path frees up), and connect to
 * the partner when this RP is the connecting side and no channel is open;
 * in dual-RP mode, the data channel too once the control channel is up
 * (the core says when). A data channel never holds the control channel's
 * connection back. */
void bgpd_ha_channels_tick(void)
{
	struct listnode *node;
	struct ha_channel *ch;
	bool control = false, data = false;

	bgpd_ha_channels_listen_start();
	for (ALL_LIST_ELEMENTS_RO(chs.list, node, ch)) {
		if (ch->data)
			data = true;
		else
			control = true;
	}
	if (!control && frr_ha_node_should_connect(bgpd_ha_pair_node()))
		channel_connect(false);
	if (!data && frr_ha_node_should_connect_data(bgpd_ha_pair_node()))
		channel_connect(true);
}

bool bgpd_ha_channel_take_process(uint64_t id, int *pidfd, int *pid, char *why,
				  size_t why_len)
{
	struct ha_channel *ch = channel_find(id);

	if (!ch)
		return false;
	*pidfd = ch->pidfd;
	*pid = ch->pid;
	strlcpy(why, ch->pid_error, why_len);
	ch->pidfd = -1;
	return *pidfd >= 0;
}

/* "addr:port" or "[addr]:port" of a TCP socket's end (FRR's %pSUp). */
static bool endpoint_text(int fd, bool peer, char *out, size_t len)
{
	union sockunion su = {};
	socklen_t sl = sizeof(su);

	if ((peer ? getpeername(fd, &su.sa, &sl) : getsockname(fd, &su.sa, &sl)) < 0)
		return false;
	if (su.sa.sa_family != AF_INET && su.sa.sa_family != AF_INET6)
		return false;
	snprintfrr(out, len, "%pSUp", &su);
	return true;
}

bool bgpd_ha_channel_endpoints(uint64_t id, char *local, char *remote, size_t len)
{
	struct ha_channel *ch = id ? channel_find(id) : NULL;

	return ch && ch->fd >= 0 && endpoint_text(ch->fd, false, local, len) &&
	       endpoint_text(ch->fd, true, remote, len);
}

int bgpd_ha_channel_pid(uint64_t id)
{
	struct ha_channel *ch = channel_find(id);

	return ch ? ch->pid : 0;
}

void bgpd_ha_channels_init(struct thread_master *master)
{
	chs.master = master;
	chs.list = list_new();
}

void bgpd_ha_channels_fini(void)
{
	const struct frr_ha_rp_config *self = bgpd_ha_rp_config(true);
	bool listening = chs.listen_fd >= 0;
	struct ha_channel *ch;

	bgpd_ha_channels_listen_stop();
	if (listening && self && !self->tcp)
		unlink(self->unix_path);
	while (chs.list && (ch = listnode_head(chs.list)))
		channel_free(ch);
	if (chs.list)
		list_delete(&chs.list);
}
