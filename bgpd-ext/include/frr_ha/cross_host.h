/*
 * Dual-RP mode: TF sessions handed to the standby host over the data
 * channel (docs/dual-rp.md, "The hand-over across hosts"). The active's tap
 * mirrors into unix links as in local mode; their far ends are read here
 * into the data channel, and the standby host's confirmations open each
 * session's write gate. The standby host checks, keeps and confirms the
 * streams. Main thread only, except where said.
 */
#ifndef FRR_HA_CROSS_HOST_H
#define FRR_HA_CROSS_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pair.h"
#include "tap.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The active hands the session on fd to the standby host. Takes every
 * descriptor given, both ends of both links and of conn (conn[0] the
 * tap's), whatever the outcome. Call with the session's I/O lock held.
 * session: the number its streams carry. */
bool frr_ha_cross_host_hand_over(struct frr_ha_node *node, struct frr_ha_taps *taps, int fd,
				 const struct frr_ha_handover *handover,
				 const struct frr_ha_handover_links *links, const int conn[2],
				 size_t max_message, bool receive_only, uint64_t *session,
				 char *why, size_t why_len);
/* The active's hold (docs/dual-rp.md, "The hold"): each session relayed
 * from now on has its own segments wait until the standby host confirmed
 * every byte their ACK covers. Start installs the nftables rule and binds
 * NFQUEUE queue (CAP_NET_ADMIN); stop removes it (what waits is dropped).
 * privileged runs call(arg) with CAP_NET_ADMIN in effect: the kernel wants
 * it on every verdict and set change the hold sends from then on.
 * Watch hold_fd and call hold_readable when it is readable. */
bool frr_ha_cross_host_hold_start(struct frr_ha_node *node, uint16_t queue,
				  void (*privileged)(void (*call)(void *), void *arg), char *why,
				  size_t why_len);
void frr_ha_cross_host_hold_stop(struct frr_ha_node *node);
/* The sessions whose data channel went down write and acknowledge nothing
 * the standby host lacks (it may be taking over): this RP writes to peers
 * again (its lease came back), so they go on unprotected. */
void frr_ha_cross_host_release_cut(struct frr_ha_node *node);
/* Every so often (main thread): sessions whose peer waited longer than
 * lag_limit_ms for an acknowledgement the standby host has not confirmed
 * go on unprotected (their taps hear why). Returns how many. */
size_t frr_ha_cross_host_end_lagging(struct frr_ha_node *node, unsigned int lag_limit_ms);
int frr_ha_cross_host_hold_fd(const struct frr_ha_node *node);
void frr_ha_cross_host_hold_readable(struct frr_ha_node *node);
/* Moves what the session's links hold onto the data channel. False: the
 * relay ended (its tap dropped it, or the channel went down). */
bool frr_ha_cross_host_pump(struct frr_ha_node *node, uint64_t session);
/* About every second, with the session's I/O lock held (and CAP_NET_ADMIN):
 * a capture of the socket on fd, sent to the standby host as progress. */
void frr_ha_cross_host_progress(struct frr_ha_node *node, struct frr_ha_taps *taps, int fd,
				uint64_t session);
/* What to watch for input (-1: nothing); false when the relay is gone.
 * ops->stream_relay_changed says when this changes. */
bool frr_ha_cross_host_relay_fds(const struct frr_ha_node *node, uint64_t session, int fds[3]);

/* Standby: one session's receiver, the shadow's source on this host. */
struct frr_ha_cross_host_receiver {
	char vrf[128], neighbor[128];
	uint64_t epoch;
	bool receive_only;
	/* Watch read_fd for the shadow's word (or its links' end), write_fd
	 * (-1: none) for room in a full link. */
	int read_fd, write_fd;
	bool shadow_wanted;    /* the image came: start the shadow */
	bool history_complete; /* the links hold the session's whole history */
	uint64_t peer_acked;   /* sent-stream offset the peer acknowledged */
};
/* False: no such receiver (it ended). ops->stream_receiver_changed says
 * when this changes. */
bool frr_ha_cross_host_receiver_get(const struct frr_ha_node *node, uint64_t session,
				    struct frr_ha_cross_host_receiver *out);
/* The shadow's descriptors, as a local hand-over gives them: a placeholder
 * socket with the session's addresses (repair mode: it never sends; needs
 * CAP_NET_ADMIN), the input link and the send-log link. */
bool frr_ha_cross_host_start_shadow(struct frr_ha_node *node, uint64_t session, int fds[3],
				    char *why, size_t why_len);
/* The shadow on fd (its I/O lock held) follows the session's receiver: the
 * connection's image and last progress (what the peer acknowledged), and
 * whether this host holds the whole history: true when that became so now. */
bool frr_ha_cross_host_shadow_follow(const struct frr_ha_node *node, struct frr_ha_taps *taps,
				     uint64_t session, int fd);
/* Whether the shadow fed by this session's receiver may continue the
 * session at a takeover: its receiver runs, or ended with the data channel
 * (or this RP's becoming active) and no channel to the partner came up
 * since. False: the active went on without this host. */
bool frr_ha_cross_host_may_continue(const struct frr_ha_node *node, uint64_t session);
/* write_fd has room; read_fd is readable. */
void frr_ha_cross_host_receiver_flush(struct frr_ha_node *node, uint64_t session);
void frr_ha_cross_host_receiver_word(struct frr_ha_node *node, uint64_t session);

struct frr_ha_cross_host_counters {
	uint64_t relays, relays_started, relays_ended;
	uint64_t receivers, receivers_started, receivers_ended;
	uint64_t chunks_refused, bytes_confirmed, bytes_held, bytes_in_flight;
	/* sessions on either side the standby host does not protect yet (they
	 * catch up first) */
	uint64_t catching_up;
	/* standby: bytes confirmed to the active that the shadows' links have
	 * not taken yet (within CrossHostStreams::kDefaultAheadOfLinks) */
	uint64_t bytes_ahead_of_links;
	/* active: the hold (its segments queued, those that waited for a
	 * confirmation, those the queue lost), sessions under it, and sessions
	 * relayed without it */
	bool hold_on;
	uint64_t held_sessions, hold_refused, hold_queued, hold_waited, hold_lost;
	/* active: sessions the hold's lag limit ended (standby too slow) */
	uint64_t hold_lagging;
};
void frr_ha_cross_host_counters_get(const struct frr_ha_node *node,
				struct frr_ha_cross_host_counters *out);

/* One session's streams on either side (relay: this RP is the active). */
struct frr_ha_cross_host_stream {
	uint64_t session;
	bool relay;
	char vrf[128], neighbor[128];
	uint64_t received, sent; /* confirmed (relay), held (standby) */
	uint64_t offered_received, offered_sent;	       /* relay */
	uint64_t messages_received, messages_sent, updates_sent; /* standby */
	bool image_sent; /* relay: the connection's image went */
	uint64_t hold_wait_ms; /* relay: its oldest segment's wait in the hold */
	/* the standby host holds every byte the peer may have (a session that
	 * catches up: not yet; no shadow continues it) */
	bool is_protected;
	/* standby: the connection as it would be rebuilt, and the last progress */
	bool has_image;
	char local[64], remote[64]; /* address:port */
	uint32_t mss;
	uint8_t snd_wscale, rcv_wscale;
	bool sack, timestamps;
	uint64_t peer_acked, received_acked; /* stream offsets */
	int64_t progress_age_ms;	     /* -1: none */
};
bool frr_ha_cross_host_stream_get(const struct frr_ha_node *node, size_t index,
				  struct frr_ha_cross_host_stream *out);

#ifdef __cplusplus
}
#endif

#endif /* FRR_HA_CROSS_HOST_H */
