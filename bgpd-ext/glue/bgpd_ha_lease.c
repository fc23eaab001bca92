/*
 * The lease of dual-RP mode in bgpd (docs/dual-rp.md, "The lease"): its
 * clock, and the active's silence. The pair node decides; this file gives
 * it CLOCK_MONOTONIC_RAW and stops bgpd's writes to peers once the lease's
 * deadline has passed, without closing any session:
 *
 * - every write to a peer's socket passes through bgpd's I/O tap, so a tap
 *   laid over the one in place refuses it (EAGAIN: the bytes stay in the
 *   peer's output queue) once the deadline has passed, checked against the
 *   clock just before the write;
 * - a refused write waits for a gate, a descriptor per session that is
 *   never writable while silent, so the I/O pthread does not spin; the gates
 *   open when a grant moves the deadline forward again, and what waited is
 *   written then;
 * - no session starts while silent (bgpd's hold flag), so no SYN leaves;
 * - and, below bgpd, the kernel's own fence (bgpd_ha_fence.c).
 *
 * Local mode never lays this tap (the ownership lock fences there).
 */
#include <zebra.h>

#include <pthread.h>
#include <sys/eventfd.h>

#include "frratomic.h"
#include "json.h"
#include "linklist.h"
#include "thread.h"
#include "vty.h"

#include "bgpd/bgpd.h"
#include "bgpd/bgp_fsm.h"
#include "bgpd/bgp_io.h"

#include "bgpd_ha_glue.h"
#include "frr_ha/cross_host.h"
#include "frr_ha/fence.h"

/* The deadline of the active's writes, on the lease clock. */
static _Atomic uint64_t deadline = FRR_HA_LEASE_NO_DEADLINE;
/* Writes refused, and waits put on a gate, since the start. */
static _Atomic uint64_t writes_held;

static const struct bgp_io_tap *inner; /* the tap laid under this one */
static struct bgp_io_tap lease_tap;
static struct thread_master *master;
static struct thread *t_timer;

/*
 * The gates. bgpd's event loop keeps one wait per descriptor, so each
 * session needs a descriptor of its own to wait on; all of them are dups of
 * one eventfd and so share its counter: one write shuts every gate, one read
 * opens them all. A gate is found by the session's socket descriptor, which
 * no other live session has; a gate left by a closed session is taken over
 * by the next session given the same descriptor number (a gate is only a
 * wait, it holds nothing of its session), so the table never outgrows the
 * process's descriptors and needs no word from bgpd when a peer goes.
 */
static pthread_mutex_t gates_mtx = PTHREAD_MUTEX_INITIALIZER;
static int gate_counter = -1; /* the eventfd every gate is a dup of */
static bool gates_shut;
static int *gate_by_socket; /* gate descriptor by socket descriptor, or -1 */
static size_t n_gate_slots;

uint64_t bgpd_ha_lease_clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool lease_may_write(void)
{
	uint64_t until = atomic_load_explicit(&deadline, memory_order_acquire);

	return until == FRR_HA_LEASE_NO_DEADLINE || bgpd_ha_lease_clock_ms() < until;
}

/* Under gates_mtx. A full eventfd is not writable: every gate then waits. */
static void gates_shut_locked(void)
{
	uint64_t full = UINT64_MAX - 1;

	if (!gates_shut && write(gate_counter, &full, sizeof(full)) == sizeof(full))
		gates_shut = true;
}

/* Under gates_mtx: room for socket descriptor fd, new slots without a gate. */
static bool gate_slot_ready(int fd)
{
	size_t want = n_gate_slots ? n_gate_slots : 64;
	int *more;

	if ((size_t)fd < n_gate_slots)
		return true;
	while (want <= (size_t)fd)
		want *= 2;
	more = realloc(gate_by_socket, want * sizeof(*more));
	if (!more)
		return false;
	for (size_t i = n_gate_slots; i < want; i++)
		more[i] = -1;
	gate_by_socket = more;
	n_gate_slots = want;
	return true;
}

/* The descriptor the session on socket fd waits on while silent, shut; -1
 * if none can be made (the caller then waits on the socket: a busy wait, but
 * still no write). */
static int gate_of(int fd)
{
	int gate = -1;

	if (fd < 0)
		return -1;
	pthread_mutex_lock(&gates_mtx);
	if (gate_counter < 0)
		gate_counter = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (gate_counter >= 0 && gate_slot_ready(fd)) {
		if (gate_by_socket[fd] < 0)
			gate_by_socket[fd] = fcntl(gate_counter, F_DUPFD_CLOEXEC, 0);
		gate = gate_by_socket[fd];
		gates_shut_locked();
	}
	pthread_mutex_unlock(&gates_mtx);
	return gate;
}

static void gates_open(void)
{
	uint64_t count;

	pthread_mutex_lock(&gates_mtx);
	if (gates_shut && read(gate_counter, &count, sizeof(count)) == sizeof(count))
		gates_shut = false;
	pthread_mutex_unlock(&gates_mtx);
}

/* --- the tap over the tap: only writev and output_fd differ ----------------- */

/* Whether the lease holds this session's writes back now. A shadow's writes
 * reach no peer (its tap swallows them), so they pass: a standby that was
 * active keeps its old deadline, long past, and its shadows' messages
 * would otherwise stay queued in bgpd until bgpd ends the session for want
 * of progress (its send-queue check, two hold times). */
static bool lease_holds_back(struct peer *peer)
{
	return !lease_may_write() && !bgpd_ha_tf_writes_swallowed(peer);
}

static ssize_t lease_writev(struct peer *peer, const struct iovec *iov, int iovcnt)
{
	if (lease_holds_back(peer)) {
		atomic_fetch_add_explicit(&writes_held, 1, memory_order_relaxed);
		errno = EAGAIN;
		return -1;
	}
	if (inner && inner->writev)
		return inner->writev(peer, iov, iovcnt);
	return writev(peer->fd, iov, iovcnt);
}

static int lease_output_fd(struct peer *peer)
{
	if (lease_holds_back(peer)) {
		int fd = gate_of(peer->fd);

		if (fd >= 0) {
			atomic_fetch_add_explicit(&writes_held, 1, memory_order_relaxed);
			return fd;
		}
	}
	if (inner && inner->output_fd)
		return inner->output_fd(peer);
	return peer->fd;
}

/* Dual-RP mode: lay the tap over the one in place (the transparent
 * failover's), which then does everything else as before. */
void bgpd_ha_lease_start(struct thread_master *m)
{
	master = m;
	bgpd_ha_fence_install();
	if (bgp_io_tap == &lease_tap)
		return;
	inner = bgp_io_tap;
	if (inner)
		lease_tap = *inner;
	lease_tap.writev = lease_writev;
	lease_tap.output_fd = lease_output_fd;
	bgp_io_tap = &lease_tap;
}

/* --- the pair's host operations ------------------------------------------------- */

static uint64_t host_lease_clock_ms(void *ctx)
{
	return bgpd_ha_lease_clock_ms();
}

static void host_lease_deadline(void *ctx, uint64_t until)
{
	atomic_store_explicit(&deadline, until, memory_order_release);
	bgpd_ha_fence_follow(until, bgpd_ha_lease_clock_ms());
	if (lease_may_write())
		gates_open();
}

/* Peers that went down while silent start again (their start was held). */
static void sessions_start(void)
{
	struct listnode *bn, *pn;
	struct bgp *bgp;
	struct peer *peer;

	for (ALL_LIST_ELEMENTS_RO(bm->bgp, bn, bgp))
		for (ALL_LIST_ELEMENTS_RO(bgp->peer, pn, peer))
			if (peer->status == Idle && peer_active(peer))
				BGP_EVENT_ADD(peer, BGP_Start);
}

static void host_lease_lapsed(void *ctx, bool silent)
{
	if (silent) {
		SET_FLAG(bm->flags, BM_FLAG_HOLD_PEERS);
		bgpd_ha_fence_shut();
		bgpd_ha_service_follow(); /* the partner may be taking them */
		return;
	}
	gates_open();
	if (bgpd_ha_pair_node() &&
	    frr_ha_node_role(bgpd_ha_pair_node()) == FRR_HA_ROLE_ACTIVE) {
		/* No standby host took over: the sessions cut from it since
		 * the data channel went down go on unprotected. */
		frr_ha_cross_host_release_cut(bgpd_ha_pair_node());
		UNSET_FLAG(bm->flags, BM_FLAG_HOLD_PEERS);
		sessions_start();
		bgpd_ha_service_follow();
	}
}

static void lease_timer_fired(struct thread *t)
{
	if (bgpd_ha_pair_node())
		frr_ha_node_lease_timer(bgpd_ha_pair_node(), bgpd_ha_now_ms());
}

static void host_lease_timer(void *ctx, uint32_t in_ms)
{
	if (!master)
		return;
	THREAD_OFF(t_timer);
	thread_add_timer_msec(master, lease_timer_fired, NULL, in_ms, &t_timer);
}

void bgpd_ha_lease_host_ops(struct frr_ha_host_ops *ops)
{
	ops->lease_clock_ms = host_lease_clock_ms;
	ops->lease_deadline = host_lease_deadline;
	ops->lease_lapsed = host_lease_lapsed;
	ops->lease_timer = host_lease_timer;
}

/* --- show bgp ha [json] ---------------------------------------------------------- */

void bgpd_ha_lease_show(struct vty *vty, struct json_object *json)
{
	struct frr_ha_node *node = bgpd_ha_pair_node();
	struct frr_ha_lease_status l;
	uint64_t held = atomic_load_explicit(&writes_held, memory_order_relaxed);

	if (!node)
		return;
	frr_ha_node_lease_status(node, &l);
	if (json) {
		json_object *j = json_object_new_object();

		json_object_string_add(j, "role", l.role);
		json_object_boolean_add(j, "inForce", l.in_force);
		json_object_boolean_add(j, "mayWrite", l.may_write);
		if (*l.note)
			json_object_string_add(j, "note", l.note);
		json_object_int_add(j, "leaseMs", l.lease_ms);
		json_object_int_add(j, "validForMs", l.valid_for_ms);
		json_object_int_add(j, "mayTakeOverInMs", l.may_take_over_in_ms);
		json_object_int_add(j, "requestsSent", l.requests_sent);
		json_object_int_add(j, "grantsReceived", l.grants_received);
		json_object_int_add(j, "grantsRefused", l.grants_refused);
		json_object_int_add(j, "lapses", l.lapses);
		json_object_int_add(j, "requestsReceived", l.requests_received);
		json_object_int_add(j, "grantsGiven", l.grants_given);
		json_object_int_add(j, "requestsRefused", l.requests_refused);
		json_object_int_add(j, "overrides", l.overrides);
		json_object_int_add(j, "writesHeld", held);
		json_object_int_add(j, "lastTakeoverWaitMs", l.last_takeover_wait_ms);
		/* CLOCK_MONOTONIC_RAW, ms: comparable only on one kernel. */
		json_object_int_add(j, "lastLapseClockMs", l.last_lapse_at_ms);
		json_object_int_add(j, "lastTakeoverClockMs", l.last_takeover_at_ms);
		bgpd_ha_fence_json(j);
		if (*l.last_refusal)
			json_object_string_add(j, "lastRefusal", l.last_refusal);
		json_object_object_add(json, "lease", j);
		return;
	}
	if (!bgpd_ha_rp_config(true) || !bgpd_ha_rp_config(true)->tcp)
		return; /* local mode: the ownership lock fences, no lease line */
	if (strcmp(l.role, "holder") == 0 && l.in_force)
		vty_out(vty, "Lease: holder, %s, valid for %" PRId64 " ms of %u; %" PRIu64
			     " requests, %" PRIu64 " grants, %" PRIu64 " refused, %" PRIu64
			     " lapses, %" PRIu64 " writes held\n",
			l.may_write ? "writing" : "silent (lapsed)", l.valid_for_ms,
			l.lease_ms, l.requests_sent, l.grants_received, l.grants_refused,
			l.lapses, held);
	else if (strcmp(l.role, "grantor") == 0 && l.in_force)
		vty_out(vty, "Lease: grantor, may take over in %" PRId64 " ms; %" PRIu64
			     " requests, %" PRIu64 " granted, %" PRIu64 " refused\n",
			l.may_take_over_in_ms, l.requests_received, l.grants_given,
			l.requests_refused);
	else
		vty_out(vty, "Lease: %s, not in force (%s)\n", l.role, l.note);
	if (*l.last_refusal)
		vty_out(vty, "  last refusal: %s\n", l.last_refusal);
	if (l.last_takeover_wait_ms)
		vty_out(vty, "  last takeover waited %u ms for the lease\n",
			l.last_takeover_wait_ms);
	if (l.overrides)
		vty_out(vty, "  overridden by the operator %" PRIu64 " times\n", l.overrides);
	bgpd_ha_fence_show(vty);
}

void bgpd_ha_lease_fini(void)
{
	THREAD_OFF(t_timer);
	bgpd_ha_fence_remove();
	if (bgp_io_tap == &lease_tap)
		bgp_io_tap = inner;
	pthread_mutex_lock(&gates_mtx);
	for (size_t i = 0; i < n_gate_slots; i++)
		if (gate_by_socket[i] >= 0)
			close(gate_by_socket[i]);
	free(gate_by_socket);
	gate_by_socket = NULL;
	n_gate_slots = 0;
	if (gate_counter >= 0)
		close(gate_counter);
	gate_counter = -1;
	gates_shut = false;
	pthread_mutex_unlock(&gates_mtx);
}
