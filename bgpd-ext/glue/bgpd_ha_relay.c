/*
 * Dual-RP mode: the active's sessions handed to the standby host
 * (docs/dual-rp.md, "The hand-over across hosts"). The tap mirrors into
 * unix links as in local mode; here their far ends are watched on the main
 * thread and pumped onto the data channel (include/frr_ha/cross_host.h),
 * whose confirmations open each session's write gate. What the standby host
 * does with the streams happens in the core, on arrival.
 */
#include <zebra.h>

#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/sockios.h>
#include <netinet/tcp.h>

#include "jhash.h"
#include "memory.h"
#include "network.h"
#include "privs.h"
#include "thread.h"
#include "typesafe.h"

#include "json.h"
#include "vty.h"

#include "bgpd/bgpd.h"
#include "bgpd/bgp_fsm.h"

#include "../include/frr_ha/cross_host.h"
#include "bgpd_ha_tf_private.h"

extern struct zebra_privs_t bgpd_privs;

PREDECL_HASH(ha_relays);

/* One session's relay, by the number its streams carry. */
struct ha_relay {
	struct ha_relays_item by_session;
	uint64_t session;
	struct peer *peer;
	int fd; /* the session's socket, while it is the peer's */
	struct thread *t_read[3];
};

/* How often the standby host hears where each connection stands. */
#define RELAY_PROGRESS_MS 1000
/* The hold's NFQUEUE number: one dual-RP bgpd per network namespace. */
#define RELAY_HOLD_QUEUE 17900

/* How often the hold's lag limit is checked (a tenth of the shortest). */
#define RELAY_LAG_CHECK_MS 50

static struct thread *t_progress;
static struct thread *t_lag;
/* The hold: started with the first session handed across hosts, stopped
 * when this RP leaves the active role; why it could not start. */
static struct thread *t_hold;
static char hold_error[256];
static bool at_exit; /* the module's fini runs: bgpd's I/O pthread is gone */

static int relay_cmp(const struct ha_relay *a, const struct ha_relay *b)
{
	return numcmp(a->session, b->session);
}

static uint32_t relay_hash(const struct ha_relay *r)
{
	return jhash(&r->session, sizeof(r->session), 0x7e1a);
}

DECLARE_HASH(ha_relays, struct ha_relay, by_session, relay_cmp, relay_hash);

static struct ha_relays_head relays;

static struct ha_relay *relay_of(uint64_t session)
{
	struct ha_relay ref = {.session = session};

	return ha_relays_find(&relays, &ref);
}

static void relay_free(struct ha_relay *r)
{
	for (int i = 0; i < 3; i++)
		THREAD_OFF(r->t_read[i]);
	ha_relays_del(&relays, r);
	/* At exit bgpd's I/O pthread is gone (see watch_free). */
	if (!bm->terminating && !at_exit)
		peer_unlock(r->peer);
	XFREE(MTYPE_HA_SHADOW, r);
}

static void relay_read(struct thread *t);

bool bgpd_ha_relay_across_hosts(void)
{
	const struct frr_ha_rp_config *partner = bgpd_ha_rp_config(false);

	return partner && partner->tcp;
}

/* Watches what the relay says it reads now; frees it once it is gone. */
static void relay_rearm(struct ha_relay *r)
{
	struct frr_ha_node *node = bgpd_ha_pair_node();
	int fds[3];

	for (int i = 0; i < 3; i++)
		THREAD_OFF(r->t_read[i]);
	if (!node || !frr_ha_cross_host_relay_fds(node, r->session, fds)) {
		relay_free(r);
		return;
	}
	for (int i = 0; i < 3; i++)
		if (fds[i] >= 0)
			thread_add_read(bgpd_ha_tf_master(), relay_read, r, fds[i],
					&r->t_read[i]);
}

static void relay_read(struct thread *t)
{
	struct ha_relay *r = THREAD_ARG(t);
	struct frr_ha_node *node = bgpd_ha_pair_node();
	uint64_t session = r->session;

	if (node)
		frr_ha_cross_host_pump(node, session);
	/* An ended relay was freed by stream_relay_changed meanwhile. */
	if ((r = relay_of(session)))
		relay_rearm(r);
}

static void host_stream_relay_changed(void *ctx, uint64_t session)
{
	struct ha_relay *r = relay_of(session);

	(void)ctx;
	if (r)
		relay_rearm(r);
}

/* The hold's netlink messages, and the standby host's links grown past
 * net.core.wmem_max, need CAP_NET_ADMIN in effect. */
void bgpd_ha_with_net_admin(void (*call)(void *), void *arg)
{
	frr_with_privs (&bgpd_privs) {
		call(arg);
	}
}

static void relay_hold_read(struct thread *t)
{
	struct frr_ha_node *node = bgpd_ha_pair_node();
	int fd = node ? frr_ha_cross_host_hold_fd(node) : -1;

	if (fd < 0)
		return;
	frr_ha_cross_host_hold_readable(node);
	thread_add_read(bgpd_ha_tf_master(), relay_hold_read, NULL, fd, &t_hold);
}

/* A standby host slow to confirm holds its sessions back through the hold
 * (their peers' acknowledgements wait), which no link of the tap sees: past
 * the lag limit they go on unprotected, as with a full link. */
static void relay_lag_check(struct thread *t)
{
	struct frr_ha_node *node = bgpd_ha_pair_node();

	if (!node || frr_ha_cross_host_hold_fd(node) < 0)
		return;
	frr_ha_cross_host_end_lagging(node, bgpd_ha_tf_lag_limit());
	thread_add_timer_msec(bgpd_ha_tf_master(), relay_lag_check, NULL, RELAY_LAG_CHECK_MS,
			      &t_lag);
}

/* The hold before any session is relayed: without it the active's kernel
 * would acknowledge bytes the standby host may never get. A hold that
 * cannot start (no nfnetlink_queue, no CAP_NET_ADMIN) leaves the sessions
 * relayed without it, said once and shown. */
static void relay_hold_ensure(struct frr_ha_node *node)
{
	char why[256] = "";
	bool ok;

	if (frr_ha_cross_host_hold_fd(node) >= 0)
		return;
	frr_with_privs (&bgpd_privs) {
		ok = frr_ha_cross_host_hold_start(node, RELAY_HOLD_QUEUE, bgpd_ha_with_net_admin, why,
						  sizeof(why));
	}
	if (!ok) {
		if (strcmp(why, hold_error) != 0)
			zlog_warn("frr-ha: the hold could not start: %s: sessions are handed to the standby host without it",
				  why);
		snprintf(hold_error, sizeof(hold_error), "%s", why);
		return;
	}
	hold_error[0] = '\0';
	zlog_info("frr-ha: the hold started (NFQUEUE %u)", RELAY_HOLD_QUEUE);
	thread_add_read(bgpd_ha_tf_master(), relay_hold_read, NULL,
			frr_ha_cross_host_hold_fd(node), &t_hold);
	thread_add_timer_msec(bgpd_ha_tf_master(), relay_lag_check, NULL, RELAY_LAG_CHECK_MS,
			      &t_lag);
}

void bgpd_ha_relay_hold_stop(void)
{
	struct frr_ha_node *node = bgpd_ha_pair_node();

	THREAD_OFF(t_hold);
	THREAD_OFF(t_lag);
	if (node && frr_ha_cross_host_hold_fd(node) >= 0) {
		frr_with_privs (&bgpd_privs) {
			frr_ha_cross_host_hold_stop(node);
		}
		zlog_info("frr-ha: the hold stopped");
	}
}

bool bgpd_ha_relay_hand_over(struct peer *peer, const struct frr_ha_handover *h,
			     const struct frr_ha_handover_links *links, const int conn[2],
			     bool receive_only, char *why, size_t why_len)
{
	struct frr_ha_node *node = bgpd_ha_pair_node();
	uint64_t session = 0;
	struct ha_relay *r;
	bool ok;

	relay_hold_ensure(node);
	/* CAP_NET_ADMIN: the socket is captured in repair mode for its image. */
	frr_with_privs (&bgpd_privs) {
		frr_with_mutex (&peer->io_mtx) {
			ok = frr_ha_cross_host_hand_over(node, bgpd_ha_taps(), peer->fd, h,
							 links, conn, peer->max_packet_size,
							 receive_only, &session, why, why_len);
		}
	}
	if (!ok)
		return false;
	r = XCALLOC(MTYPE_HA_SHADOW, sizeof(*r));
	r->session = session;
	r->peer = peer_lock(peer);
	r->fd = peer->fd;
	ha_relays_add(&relays, r);
	relay_rearm(r);
	return true;
}

/* Each relayed connection captured (repair mode, a few system calls under
 * the session's lock) and sent as progress: what the peer acknowledged, the
 * window, the timestamp clock. */
static void relay_progress(struct thread *t)
{
	struct frr_ha_node *node = bgpd_ha_pair_node();
	struct ha_relay *r;

	thread_add_timer_msec(bgpd_ha_tf_master(), relay_progress, NULL, RELAY_PROGRESS_MS,
			      &t_progress);
	if (!node)
		return;
	frr_each (ha_relays, &relays, r) {
		struct peer *peer = r->peer;

		if (peer->fd != r->fd || !peer_established(peer))
			continue;
		frr_with_privs (&bgpd_privs) {
			frr_with_mutex (&peer->io_mtx) {
				frr_ha_cross_host_progress(node, bgpd_ha_taps(), r->fd,
							   r->session);
			}
		}
	}
}

void bgpd_ha_relay_host_ops(struct frr_ha_host_ops *ops)
{
	ops->stream_relay_changed = host_stream_relay_changed;
}

void bgpd_ha_relay_init(void)
{
	ha_relays_init(&relays);
	thread_add_timer_msec(bgpd_ha_tf_master(), relay_progress, NULL, RELAY_PROGRESS_MS,
			      &t_progress);
}

void bgpd_ha_relay_fini(void)
{
	struct ha_relay *r;

	at_exit = true;
	THREAD_OFF(t_progress);
	bgpd_ha_relay_hold_stop();
	while ((r = ha_relays_first(&relays)))
		relay_free(r);
	ha_relays_fini(&relays);
}

/* A relayed session that goes on unprotected because its standby host
 * lagged: what each side had, so that the log says where the bytes
 * stopped. The relay's view (what the standby host confirmed of what went
 * to it, the hold's oldest wait and whether the hold is read) and the
 * kernel's (what waits unread in the socket, when the peer's last data and
 * ACK came). Main thread. */
void bgpd_ha_relay_log_state(struct peer *peer)
{
	struct frr_ha_node *node = bgpd_ha_pair_node();
	struct frr_ha_cross_host_counters c;
	struct frr_ha_cross_host_stream s;
	struct tcp_info ti = {};
	socklen_t ti_len = sizeof(ti);
	int unread = -1;

	if (!node || peer->fd < 0)
		return;
	for (size_t i = 0; frr_ha_cross_host_stream_get(node, i, &s); i++) {
		if (!s.relay || strcmp(s.neighbor, peer->host) != 0)
			continue;
		frr_ha_cross_host_counters_get(node, &c);
		if (ioctl(peer->fd, SIOCINQ, &unread) != 0)
			unread = -1;
		if (getsockopt(peer->fd, IPPROTO_TCP, TCP_INFO, &ti, &ti_len) != 0)
			memset(&ti, 0, sizeof(ti));
		zlog_warn("frr-ha: %s: its streams to the standby host then: received %" PRIu64
			  " of %" PRIu64 " bytes confirmed, sent %" PRIu64 " of %" PRIu64
			  ", the oldest of its segments in the hold waited %" PRIu64
			  " ms; the hold %s (%s, %" PRIu64 " segments queued, %" PRIu64
			  " lost); its socket: %d bytes unread, the peer's last data %u ms ago, its last ACK %u ms ago, %u segments unacknowledged",
			  peer->host, s.received, s.offered_received, s.sent, s.offered_sent,
			  s.hold_wait_ms, c.hold_on ? "on" : "off",
			  t_hold ? "read" : "NOT read", c.hold_queued, c.hold_lost, unread,
			  ti.tcpi_last_data_recv, ti.tcpi_last_ack_recv, ti.tcpi_unacked);
		return;
	}
}

/* The connection as the standby host would rebuild it. */
static void relay_show_image(json_object *e, const struct frr_ha_cross_host_stream *s)
{
	json_object *img = json_object_new_object();

	json_object_string_add(img, "local", s->local);
	json_object_string_add(img, "remote", s->remote);
	json_object_int_add(img, "mss", s->mss);
	json_object_int_add(img, "sndWscale", s->snd_wscale);
	json_object_int_add(img, "rcvWscale", s->rcv_wscale);
	json_object_boolean_add(img, "sack", s->sack);
	json_object_boolean_add(img, "timestamps", s->timestamps);
	json_object_int_add(img, "peerAcked", s->peer_acked);
	json_object_int_add(img, "receivedAcked", s->received_acked);
	json_object_int_add(img, "progressAgeMs", s->progress_age_ms);
	json_object_object_add(e, "connection", img);
}

/* show bgp ha [json]: "streamsAcrossHosts" (dual-RP only). */
void bgpd_ha_relay_show(struct vty *vty, struct json_object *json)
{
	struct frr_ha_node *node = bgpd_ha_pair_node();
	struct frr_ha_cross_host_counters c;
	struct frr_ha_cross_host_stream s;
	json_object *j, *sessions;

	if (!node || !bgpd_ha_relay_across_hosts())
		return;
	frr_ha_cross_host_counters_get(node, &c);
	if (vty) {
		vty_out(vty,
			"Streams across hosts: %" PRIu64 " sessions to the standby host, %" PRIu64
			" from the active host (%" PRIu64 " catching up); %" PRIu64
			" bytes confirmed, %" PRIu64 " held (%" PRIu64
			" ahead of the shadows' links), %" PRIu64 " in flight, %" PRIu64
			" chunks refused\n",
			c.relays, c.receivers, c.catching_up, c.bytes_confirmed, c.bytes_held,
			c.bytes_ahead_of_links, c.bytes_in_flight, c.chunks_refused);
		if (c.hold_on)
			vty_out(vty,
				"Hold: %" PRIu64 " sessions, %" PRIu64 " segments queued, %" PRIu64
				" waited for the standby host, %" PRIu64
				" sessions ended at the lag limit\n",
				c.held_sessions, c.hold_queued, c.hold_waited, c.hold_lagging);
		else if (hold_error[0])
			vty_out(vty, "Hold: off: %s\n", hold_error);
		for (size_t i = 0; frr_ha_cross_host_stream_get(node, i, &s); i++)
			vty_out(vty,
				"  %s%s%s: session %" PRIu64 ", received %" PRIu64
				", sent %" PRIu64 " bytes %s, %s\n",
				s.neighbor, *s.vrf ? " vrf " : "", s.vrf, s.session, s.received,
				s.sent, s.relay ? "confirmed" : "held",
				s.is_protected ? "protected" : "catching up");
		return;
	}
	j = json_object_new_object();
	sessions = json_object_new_array();
	json_object_int_add(j, "toStandbyHost", c.relays);
	json_object_int_add(j, "fromActiveHost", c.receivers);
	json_object_int_add(j, "relaysStarted", c.relays_started);
	json_object_int_add(j, "relaysEnded", c.relays_ended);
	json_object_int_add(j, "receiversStarted", c.receivers_started);
	json_object_int_add(j, "receiversEnded", c.receivers_ended);
	json_object_int_add(j, "chunksRefused", c.chunks_refused);
	json_object_int_add(j, "catchingUp", c.catching_up);
	json_object_int_add(j, "bytesConfirmed", c.bytes_confirmed);
	json_object_int_add(j, "bytesHeld", c.bytes_held);
	json_object_int_add(j, "bytesAheadOfLinks", c.bytes_ahead_of_links);
	json_object_int_add(j, "bytesInFlight", c.bytes_in_flight);
	if (c.hold_on || hold_error[0]) {
		json_object *hold = json_object_new_object();

		json_object_boolean_add(hold, "on", c.hold_on);
		if (hold_error[0])
			json_object_string_add(hold, "error", hold_error);
		json_object_int_add(hold, "sessions", c.held_sessions);
		json_object_int_add(hold, "sessionsNotHeld", c.hold_refused);
		json_object_int_add(hold, "segmentsQueued", c.hold_queued);
		json_object_int_add(hold, "segmentsWaited", c.hold_waited);
		json_object_int_add(hold, "segmentsLost", c.hold_lost);
		json_object_int_add(hold, "sessionsLagging", c.hold_lagging);
		json_object_object_add(j, "hold", hold);
	}
	for (size_t i = 0; frr_ha_cross_host_stream_get(node, i, &s); i++) {
		json_object *e = json_object_new_object();

		json_object_int_add(e, "session", s.session);
		json_object_string_add(e, "side", s.relay ? "active" : "standby");
		json_object_string_add(e, "vrf", s.vrf);
		json_object_string_add(e, "neighbor", s.neighbor);
		json_object_int_add(e, "receivedBytes", s.received);
		json_object_int_add(e, "sentBytes", s.sent);
		json_object_boolean_add(e, "protected", s.is_protected);
		if (s.relay) {
			json_object_int_add(e, "offeredReceivedBytes", s.offered_received);
			json_object_int_add(e, "offeredSentBytes", s.offered_sent);
			json_object_boolean_add(e, "imageSent", s.image_sent);
			json_object_int_add(e, "holdWaitMs", s.hold_wait_ms);
		} else {
			json_object_int_add(e, "messagesReceived", s.messages_received);
			json_object_int_add(e, "messagesSent", s.messages_sent);
			json_object_int_add(e, "updatesSent", s.updates_sent);
			if (s.has_image)
				relay_show_image(e, &s);
		}
		json_object_array_add(sessions, e);
	}
	json_object_object_add(j, "sessions", sessions);
	json_object_object_add(json, "streamsAcrossHosts", j);
}
