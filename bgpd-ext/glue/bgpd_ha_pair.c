/*
 * The pair's host side in bgpd: the pair node's lifecycle and clock, the
 * ownership lock, and the partner's process (local mode: watched, and the
 * one a fence may kill). The channel's sockets are bgpd_ha_channel.c's,
 * what a role means to bgpd is bgpd_ha_roles.c's. Every decision is the
 * core's (frr_ha/pair.h); these files only carry it out.
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

/* The module's one instance (FRR modules are process-wide). */
static struct {
	struct thread_master *master;
	bool started; /* configuration file read: the pair may form */
	struct frr_ha_pair_config config;
	struct frr_ha_node *node;
	struct thread *t_tick, *t_reconfigure;
	int lock_fd;
	bool lock_held;
	/* Ownership taken from an active heard to die (its life page) while its
	 * exit, and so its flock, is not over: the flock is taken at a tick. */
	int lock_of_dead;
	/* The last ownership taken was from an active heard to die: its
	 * threads wrote their last (whether or not its exit is over). */
	bool took_from_dead;
	bool lock_owner_logged;
	/* Local mode: the authenticated partner's process (pidfd), the only
	 * one a fence may kill; watched for its exit. */
	int partner_pidfd;
	int partner_pid;
	char partner_pid_error[FRR_HA_TEXT_MAX];
	struct thread *t_partner_exit;
} ha = {.lock_fd = -1, .partner_pidfd = -1};

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

/* The lock file holds "EPOCH PID": the last active's epoch and, while it
 * owns the sessions, its process (0 once it let them go; an older RP wrote
 * the epoch alone). */
static uint64_t lock_file_read(int *holder)
{
	char buf[64] = "", *end;
	uint64_t epoch;

	if (pread(ha.lock_fd, buf, sizeof(buf) - 1, 0) < 0)
		buf[0] = '\0';
	epoch = strtoull(buf, &end, 10);
	*holder = (int)strtol(end, NULL, 10);
	return epoch;
}

static void lock_file_write(uint64_t epoch, int holder)
{
	char buf[64];
	int len = snprintf(buf, sizeof(buf), "%" PRIu64 " %d\n", epoch, holder);

	if (pwrite(ha.lock_fd, buf, len, 0) != len || ftruncate(ha.lock_fd, len) < 0)
		zlog_err("frr-ha: cannot store epoch %" PRIu64 " with the ownership lock",
			 epoch);
}

static bool host_acquire_ownership(void *ctx, uint64_t *epoch)
{
	int holder = 0, died = bgpd_ha_life_partner_died_pid();

	if (!lock_open())
		return false;
	*epoch = lock_file_read(&holder);
	if (ha.lock_held || ha.lock_of_dead)
		return true;
	/* The file names the process that owns the sessions (0: nobody). */
	ha.took_from_dead = holder && holder == died;
	if (flock(ha.lock_fd, LOCK_EX | LOCK_NB) == 0) {
		/* Free, but the file names a running bgpd: the partner took
		 * the sessions from an active heard to die and has not taken
		 * the flock from the dead one's exit yet. */
		if (holder && holder != getpid() && !ha.took_from_dead &&
		    frr_ha_process_running(holder, "bgpd")) {
			flock(ha.lock_fd, LOCK_UN);
			if (!ha.lock_owner_logged)
				zlog_warn("frr-ha: the ownership lock is free but bgpd %d owns the sessions: this RP waits",
					  holder);
			ha.lock_owner_logged = true;
			return false;
		}
		ha.lock_owner_logged = false;
		ha.lock_held = true;
		return true;
	}
	/* Busy. Its holder may be the active heard to die: a dead process
	 * cannot write, its flock is only waiting for its exit. */
	if (!ha.took_from_dead)
		return false;
	ha.lock_of_dead = holder;
	zlog_info("frr-ha: the ownership lock's holder %d is dead (its exit is not over): this RP owns the sessions",
		  holder);
	return true;
}

/* A tick: the dead holder's exit is over, its flock is ours. */
static void lock_take_from_dead(void)
{
	if (!ha.lock_of_dead || flock(ha.lock_fd, LOCK_EX | LOCK_NB) < 0)
		return;
	zlog_info("frr-ha: the ownership lock of dead process %d is free: held by this RP",
		  ha.lock_of_dead);
	ha.lock_held = true;
	ha.lock_of_dead = 0;
	bgpd_ha_life_forget_death();
}

bool bgpd_ha_partner_writers_gone(void)
{
	return ha.took_from_dead && (ha.lock_held || ha.lock_of_dead);
}

static void host_store_epoch(void *ctx, uint64_t epoch)
{
	if (!(ha.lock_held || ha.lock_of_dead)) {
		zlog_err("frr-ha: cannot store epoch %" PRIu64 ": the ownership lock is not this RP's",
			 epoch);
		return;
	}
	lock_file_write(epoch, getpid());
}

static void host_release_ownership(void *ctx)
{
	int holder;

	if (ha.lock_held) {
		lock_file_write(lock_file_read(&holder), 0);
		flock(ha.lock_fd, LOCK_UN);
	}
	ha.lock_held = false;
	ha.lock_of_dead = 0;
	ha.took_from_dead = false;
}

/* --- the rest of the host --------------------------------------------------------- */

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

static void host_send(void *ctx, uint64_t id, const void *data, size_t len)
{
	bgpd_ha_channel_send(id, data, len);
}

static void host_close(void *ctx, uint64_t id)
{
	bgpd_ha_channel_close(id);
}

static struct frr_ha_host_ops host_ops = {
	.send = host_send,
	.close = host_close,
	.acquire_ownership = host_acquire_ownership,
	.store_epoch = host_store_epoch,
	.release_ownership = host_release_ownership,
	.role_changed = bgpd_ha_role_apply,
	.owned_sessions = bgpd_ha_owned_sessions,
	.check_session = bgpd_ha_check_session,
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
	int pidfd, pid;
	char why[FRR_HA_TEXT_MAX] = "";

	if (!bgpd_ha_rp_config(true) || bgpd_ha_rp_config(true)->tcp)
		return;
	partner_process_forget();
	bgpd_ha_life_forget_death(); /* a new partner process */
	if (!bgpd_ha_channel_take_process(id, &pidfd, &pid, why, sizeof(why))) {
		strlcpy(ha.partner_pid_error, why, sizeof(ha.partner_pid_error));
		zlog_warn("frr-ha: the partner's process is unknown (%s): a hung partner cannot be fenced",
			  why);
		return;
	}
	ha.partner_pidfd = pidfd;
	ha.partner_pid = pid;
	ha.partner_pid_error[0] = '\0';
	thread_add_read(ha.master, partner_process_exited, NULL,
			ha.partner_pidfd, &ha.t_partner_exit);
}

/* A live verified partner keeps its pid: a channel whose peer has that pid
 * is from the same process. */
static bool host_is_partner_process(void *ctx, uint64_t id)
{
	return ha.partner_pidfd >= 0 && bgpd_ha_channel_pid(id) == ha.partner_pid &&
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

static void pair_tick(struct thread *t)
{
	thread_add_timer_msec(ha.master, pair_tick, NULL, ha.config.interval_ms,
			      &ha.t_tick);
	io_tick_start();
	bgpd_ha_life_io_start();
	lock_take_from_dead();
	bgpd_ha_channels_drain();
	bgpd_ha_service_link_say();
	frr_ha_node_tick(ha.node, bgpd_ha_now_ms());
	bgpd_ha_confirm_fib_when_synced();
	bgpd_ha_channels_tick();
}

static void pair_start_io(void)
{
	const struct frr_ha_rp_config *self = bgpd_ha_rp_config(true);

	if (self && self->tcp)
		bgpd_ha_lease_start(ha.master);
	bgpd_ha_life_start(ha.master);
	bgpd_ha_channels_listen_restart();
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

static int pair_config_read(struct thread_master *master)
{
	ha.started = true;
	bgpd_ha_pair_apply();
	return 0;
}

void bgpd_ha_pair_init(struct thread_master *master)
{
	ha.master = master;
	bgpd_ha_channels_init(master);
	bgpd_ha_config_sync_host_ops(&host_ops);
	bgpd_ha_lease_host_ops(&host_ops);
	bgpd_ha_relay_host_ops(&host_ops);
	bgpd_ha_receiver_host_ops(&host_ops);
	bgpd_ha_handover_host_ops(&host_ops);
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
	THREAD_OFF(ha.t_tick);
	THREAD_OFF(ha.t_reconfigure);
	bgpd_ha_channels_fini();
	bgpd_ha_lease_fini();
	if (ha.node)
		frr_ha_node_free(ha.node);
	ha.node = NULL;
	partner_process_forget();
	host_release_ownership(NULL);
	bgpd_ha_life_fini();
	if (ha.lock_fd >= 0)
		close(ha.lock_fd);
	ha.lock_fd = -1;
}
