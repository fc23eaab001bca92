/*
 * The C boundary of the session taps (core: ../../core/session_tap.hpp, active_tap.hpp, shadow_tap.hpp):
 * what stands between bgpd's I/O and each session's socket on both RPs.
 *
 * Every function takes the session's socket descriptor as seen by this
 * process and must be called with that session's I/O lock held (bgpd:
 * peer->io_mtx). Links passed in are owned by the taps from then on.
 */
#ifndef FRR_HA_TAP_H
#define FRR_HA_TAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct iovec;
struct frr_ha_taps;

struct frr_ha_tap_bias {
	uint64_t received, acked;
};

/* Where a session's bytes go (core: TapMode in tap_mode.hpp). */
enum frr_ha_tap_mode {
	FRR_HA_TAP_RECORDING,	 /* active, not handed over (yet) */
	FRR_HA_TAP_HANDING_OVER, /* active, descriptors passed, history streaming */
	FRR_HA_TAP_MIRRORING,	 /* active, handed over: protected */
	FRR_HA_TAP_UNPROTECTED,	 /* active, cannot be handed over */
	FRR_HA_TAP_RELEASED,	 /* old active after a planned switchover */
	FRR_HA_TAP_SHADOW,	 /* standby: the session's copy */
	FRR_HA_TAP_MIRROR_ENDED, /* standby: the mirror closed */
	FRR_HA_TAP_TAKING_OVER,	 /* new active: finishing the mirror */
	FRR_HA_TAP_LIVE,	 /* new active: plain I/O */
	FRR_HA_TAP_GRACEFUL_END, /* new active: graceful restart */
};

struct frr_ha_tap_info {
	enum frr_ha_tap_mode mode;
	const char *mode_name; /* for display: "recording", "mirroring", ... */
	char why[256];	  /* why a session is not protected, or "" */
	uint64_t consumed, written, mirrored;
	size_t sendlog_messages, completed_bytes, unsent_messages;
	uint64_t duplicates_dropped; /* takeover: mirrored bytes not read twice */
	/* takeover: bgpd's input moved from the parked descriptor to the
	 * mirror (its wait must be armed anew) */
	bool input_moved;
	bool isolated; /* shadow: bgpd's descriptor is a stand-in */
	bool history_complete; /* shadow: the active's links hold its history */
	bool receive_only; /* mirrored without a send log (graceful restart) */
	size_t takeover_diff_messages; /* sent to bring the peer up to date */
	/* Prefixes in what the streams hold: received from the peer, held by
	 * the peer from us, and (standby) sent by this RP's own FSM. */
	size_t received_prefixes, peer_holds_prefixes, shadow_sent_prefixes;
	char takeover_diff_problem[256]; /* why no difference could be made */
	char takeover_rebuilt[192]; /* across hosts: how the socket was rebuilt */
	/* Active: replication (SessionTap::ReplicationStats). */
	uint64_t bytes_mirrored, bytes_logged, backpressure_events;
	uint64_t lag_bytes, pending_bytes, history_bytes, held_ms;
	uint64_t held_p50_ms, held_p99_ms, held_max_ms;
	int64_t protected_after_ms; /* -1: not (yet) */
};

struct frr_ha_taps *frr_ha_taps_new(void);
void frr_ha_taps_free(struct frr_ha_taps *taps);
/* Where the taps say that a call which returns nothing was refused (a mode
 * change the session's state does not allow): the daemon's log. */
typedef void (*frr_ha_taps_log)(const char *text);
void frr_ha_taps_set_log(struct frr_ha_taps *taps, frr_ha_taps_log log);

/* bgpd's I/O: like read(2), writev(2). *mirror_ended is set when a
 * shadow's mirror has just closed. */
ssize_t frr_ha_tap_read(struct frr_ha_taps *taps, int fd, void *buf,
			size_t len, bool *mirror_ended);
ssize_t frr_ha_tap_writev(struct frr_ha_taps *taps, int fd,
			  const struct iovec *iov, int iovcnt);
int frr_ha_tap_input_fd(struct frr_ha_taps *taps, int fd);
/* What bgpd waits on to write (fd, or the send-log link while it is full)
 * and, while input is held back, the link whose writability frees it. */
int frr_ha_tap_output_fd(struct frr_ha_taps *taps, int fd);
int frr_ha_tap_input_held_on(struct frr_ha_taps *taps, int fd);
/* Whether the session's writes are swallowed here (a shadow's): they never
 * reach the peer, so no lease need hold them back. */
bool frr_ha_tap_swallows_writes(struct frr_ha_taps *taps, int fd);
/* Active, periodically: streams a hand-over on, making at most make_budget
 * bytes of its history; gives up protecting a session held back longer
 * than the limit. True: wake the session's I/O. */
bool frr_ha_tap_pump(struct frr_ha_taps *taps, int fd, unsigned int lag_limit_ms,
		     size_t make_budget);

/* The hand-over of one session to the standby (local mode), on a fresh
 * connection to its hand-over socket: the session's socket and the
 * standby's ends of its two links first, then, once the links hold the
 * history, where the streams stand (SessionTap::attach). */
#define FRR_HA_HANDOVER_TEXT_MAX 128
struct frr_ha_handover {
	uint64_t epoch;
	char vrf[FRR_HA_HANDOVER_TEXT_MAX];
	char neighbor[FRR_HA_HANDOVER_TEXT_MAX];
	bool has_bias; /* received: false when the history's end follows */
	struct frr_ha_tap_bias bias;
};
struct frr_ha_handover_links {
	int input[2];	/* [0] the active's end, [1] the standby's */
	int sendlog[2];
};
/* Active: hands the session on fd over on conn. The tap takes the active's
 * ends of the links and a copy of conn; the caller closes its conn and the
 * standby's ends. max_message is the session's largest message (4096, or
 * 65535 with RFC 8654); receive_only for a session that will restart
 * gracefully, not continue. */
bool frr_ha_tap_hand_over(struct frr_ha_taps *taps, int fd, int conn,
			  const struct frr_ha_handover *handover,
			  const struct frr_ha_handover_links *links,
			  size_t max_message, bool receive_only, char *why,
			  size_t why_len);
/* Whether an Established session could be handed over now (else why). */
bool frr_ha_tap_attachable(struct frr_ha_taps *taps, int fd, bool receive_only, char *why,
			   size_t why_len);
void frr_ha_tap_unprotect(struct frr_ha_taps *taps, int fd, const char *why);
/* The session will never be handed over: stop following its streams. */
void frr_ha_tap_exclude(struct frr_ha_taps *taps, int fd, const char *why);
/* Old active: never touch the socket again; fd becomes a stand-in.
 * silently: the socket closes in repair mode, sending nothing (dual-RP, a
 * session the standby host continues; CAP_NET_ADMIN), a socket without a
 * tap too. False (why: the step that failed, with its errno) when the
 * socket was not released as asked: bgpd's own close of fd will then send
 * what a close sends. */
bool frr_ha_tap_release(struct frr_ha_taps *taps, int fd, bool silently, char *why,
			size_t why_len);
/* Active: the input link of a mirrored session, where the standby says why
 * it ended its shadow (-1 if none); and taking that word: true when the
 * session is now unprotected (why: the standby's reason). */
int frr_ha_tap_standby_word_fd(struct frr_ha_taps *taps, int fd);
bool frr_ha_tap_take_standby_word(struct frr_ha_taps *taps, int fd, char *why,
				  size_t why_len);

/* Standby. bias NULL: it comes with frr_ha_tap_history_ended. */
void frr_ha_tap_add_shadow(struct frr_ha_taps *taps, int fd, int input_link,
			   int sendlog_link, const struct frr_ha_tap_bias *bias);
/* Shadow: the active's links hold the whole history. */
bool frr_ha_tap_history_ended(struct frr_ha_taps *taps, int fd,
			      const struct frr_ha_tap_bias *bias);
/* Shadow: fd (bgpd's descriptor) becomes a stand-in; the peer's socket is
 * held by the tap alone until the takeover gives fd back to it. */
bool frr_ha_tap_isolate(struct frr_ha_taps *taps, int fd, char *why,
			size_t why_len);
/* Shadow: it ended on this RP (fd may be closed by now): the active is
 * told why, and the tap, its links and its hold on the socket go. */
void frr_ha_tap_shadow_ended(struct frr_ha_taps *taps, int fd, const char *why);
/* The shadow's FSM is Established: it takes the rest of the mirror. */
void frr_ha_tap_open_gate(struct frr_ha_taps *taps, int fd);
int frr_ha_tap_sendlog_fd(struct frr_ha_taps *taps, int fd);
bool frr_ha_tap_drain_sendlog(struct frr_ha_taps *taps, int fd, char *why,
			      size_t why_len);
/* writers_gone: the old active's writing threads are dead (its life page
 * said so) though its links are still open: what they hold is their end.
 * md5_key (NULL: none): the session's TCP-MD5 key, for a socket rebuilt on
 * this host (a shadow across hosts: it needs CAP_NET_ADMIN).
 * info (may be NULL): the tap as the takeover left it, as frr_ha_tap_info
 * gives it, without a second lookup. */
bool frr_ha_tap_take_over(struct frr_ha_taps *taps, int fd,
			  size_t max_message, bool writers_gone,
			  const char *md5_key, struct frr_ha_tap_info *info,
			  char *why, size_t why_len);
/* After frr_ha_tap_take_over: the messages to send before any other, once. */
size_t frr_ha_tap_takeover_messages(struct frr_ha_taps *taps, int fd,
				    void (*emit)(void *ctx, const void *data,
						 size_t len),
				    void *ctx);
/* New active: the session restarts gracefully instead (see
 * SessionTap::end_for_graceful_restart): bgpd reads its end at once. */
void frr_ha_tap_end_for_graceful_restart(struct frr_ha_taps *taps, int fd);

/* Standby: one message of a hand-over connection. A session: *handover
 * and fds[0..2] (the socket and the links, owned by the caller). The
 * history's end: handover->bias. "channel closed" at the connection's end. */
enum frr_ha_handover_message {
	FRR_HA_HANDOVER_SESSION,
	FRR_HA_HANDOVER_HISTORY_END,
};
bool frr_ha_handover_receive(int conn, enum frr_ha_handover_message *kind,
			     struct frr_ha_handover *handover, int fds[3],
			     char *why, size_t why_len);

bool frr_ha_tap_info(struct frr_ha_taps *taps, int fd,
		     struct frr_ha_tap_info *out);
/* Drops the taps of closed sockets (their links close with them). */
void frr_ha_taps_sweep(struct frr_ha_taps *taps);

/* What the process's stream records share (path_pool.hpp, chunk_pool.hpp):
 * distinct attribute sets interned, and prefix-table chunks interned (one
 * copy for every record that holds the same prefixes and paths). */
void frr_ha_records_shared(size_t *paths, size_t *chunks);

#ifdef __cplusplus
}
#endif

#endif /* FRR_HA_TAP_H */
