/*
 * What the files of the transparent failover share, in the order of a
 * session's data flow (docs/transparent-failover.md):
 *   bgpd_ha_tf.c       the taps, bgpd's I/O through them, the peer hooks
 *   bgpd_ha_handover.c the active passing a session, the standby taking it
 *   bgpd_ha_shadow.c   the standby's shadow of each session
 *   bgpd_ha_takeover.c the standby continuing its shadows, the difference
 *   bgpd_ha_gr.c       the sessions that end for a graceful restart
 * Not for the other glue files: they use bgpd_ha_glue.h.
 */
#ifndef FRR_HA_BGPD_HA_TF_PRIVATE_H
#define FRR_HA_BGPD_HA_TF_PRIVATE_H

#include "bgpd_ha_glue.h"

#include "typesafe.h"

struct thread;
struct list;

/* Shadows, hand-over connections, watches and pending differences. */
DECLARE_MTYPE(HA_SHADOW);

/* --- bgpd_ha_tf.c ---------------------------------------------------------- */

struct thread_master *bgpd_ha_tf_master(void);
/* Every session's tap, found by its socket; use each under peer->io_mtx. */
struct frr_ha_taps *bgpd_ha_taps(void);
/* This RP's role (init when it is not an RP of a pair). */
enum frr_ha_role bgpd_ha_tf_role(void);

/* --- bgpd_ha_handover.c ---------------------------------------------------- */

void bgpd_ha_handover_init(void);
void bgpd_ha_handover_fini(void);
/* Standby: the hand-over socket. */
void bgpd_ha_handover_listen(void);
void bgpd_ha_handover_stop_listening(void);
/* Active: a session just reached Established. */
void bgpd_ha_handover_session_up(struct peer *peer);
/* Watches of sessions that closed, or of every session (peer NULL and
 * all): before their links close with the taps. */
void bgpd_ha_handover_unwatch(struct peer *peer, bool all);

/* --- bgpd_ha_relay.c: dual-RP, sessions handed to the standby host ------- */

void bgpd_ha_relay_init(void);
void bgpd_ha_relay_fini(void);
/* This RP leaves the active role: the hold goes (what waits is dropped). */
void bgpd_ha_relay_hold_stop(void);
/* The standby is on another host (dual-RP): sessions go to it over the
 * data channel, not over a local hand-over socket. */
bool bgpd_ha_relay_across_hosts(void);
/* Hands the session over into links whose far ends go to the data channel;
 * takes every descriptor given (conn[0] is the tap's). */
bool bgpd_ha_relay_hand_over(struct peer *peer, const struct frr_ha_handover *h,
			     const struct frr_ha_handover_links *links, const int conn[2],
			     bool receive_only, char *why, size_t why_len);

/* --- bgpd_ha_receiver.c: dual-RP, the standby host's side ------------------ */

void bgpd_ha_receiver_init(void);
void bgpd_ha_receiver_fini(void);

/* --- bgpd_ha_shadow.c ------------------------------------------------------ */

PREDECL_HASH(ha_shadows);

struct ha_shadow {
	struct ha_shadows_item by_peer; /* found by peer on each status change */
	struct peer *peer;
	int fd;	       /* bgpd's descriptor: the socket, then a stand-in */
	bool starting; /* bgp_start() takes fd next */
	struct thread *t_sendlog; /* on the send logs' pthread (bgpd_ha_sendlogs.c) */
	bool sendlog_followed;	  /* main's: t_sendlog may be armed */
	struct thread *t_ended;
	uint32_t holdtime; /* the negotiated hold time, while the shadow runs none */
	/* Fed by the standby host's receiver (dual-RP): fd started as a
	 * placeholder, and the peer's socket is on the other host. */
	bool across_hosts;
	uint64_t session; /* across hosts: its receiver's session number */
};

void bgpd_ha_shadow_init(void);
void bgpd_ha_shadow_fini(void);
/* Every shadow of this RP (standby; the new active until its takeover):
 * how many, and each of them into `out` (room for that many). */
unsigned int bgpd_ha_shadow_count(void);
void bgpd_ha_shadow_each(struct ha_shadow **out);
/* The negotiated hold time back on a shadow's session at its takeover. */
void bgpd_ha_shadow_hold_timer_on(struct ha_shadow *s);
/* The active handed a session over: start its shadow. */
/* Returns the shadow's socket, or -1 when the hand-over was refused.
 * across_hosts: fds come from a receiver of the data channel (dual-RP). */
int bgpd_ha_shadow_adopt(const struct frr_ha_handover *h, int fds[3], bool across_hosts);
/* Dual-RP: the shadow on fd follows its receiver (session): the
 * connection's image and progress, the history held on this host. */
void bgpd_ha_shadow_follow_receiver(const char *vrf, const char *neighbor, int fd,
				    uint64_t session);
/* Dual-RP: the receiver feeding the shadow on fd ended; a shadow that may
 * no longer continue the session (frr_ha_cross_host_may_continue) stops. */
void bgpd_ha_shadow_receiver_ended(const char *vrf, const char *neighbor, int fd,
				   uint64_t session);
/* The active's links hold the whole history of the shadow on fd. */
void bgpd_ha_shadow_history_ended(const char *vrf, const char *neighbor, int fd,
				  const struct frr_ha_tap_bias *bias);
/* What the shadow's FSM queued goes to its tap (swallowed), not to the
 * peer at the takeover (peer->io_mtx held). */
void bgpd_ha_shadow_swallow_queued(struct peer *peer);
/* bgp_supplied_connection: the shared socket, to a shadow's bgp_start(). */
int bgpd_ha_shadow_supplied_connection(struct peer *peer);
/* A peer's FSM changed: false if the peer has no shadow here. */
bool bgpd_ha_shadow_status_changed(struct peer *peer);
/* Some shadow's mirror closed: one pass over the shadows, soon, on the main
 * thread (any pthread may call it). */
void bgpd_ha_shadow_mirror_ended_later(void);
void bgpd_ha_shadow_free(struct ha_shadow *s);
/* The shadow ends without a trace at the peer. */
void bgpd_ha_shadow_stop(struct ha_shadow *s, const char *why);

/* --- bgpd_ha_sendlogs.c: the standby's send logs, off the main thread ------ */

void bgpd_ha_sendlogs_init(void);
void bgpd_ha_sendlogs_fini(void);
/* Read the shadow's send-log link as the active writes it. */
void bgpd_ha_sendlog_follow(struct ha_shadow *s, int link);
/* Stop reading it (waits for a read under way): before the shadow goes. */
void bgpd_ha_sendlog_stop(struct ha_shadow *s);
/* The same for n shadows (NULL entries skipped), in one round trip. */
void bgpd_ha_sendlog_stop_all(struct ha_shadow **shadows, unsigned int n);

/* --- bgpd_ha_takeover.c ---------------------------------------------------- */

void bgpd_ha_takeover_init(void);
void bgpd_ha_takeover_fini(void);
/* The new active continues (or restarts) every shadow. */
void bgpd_ha_take_over_all(void);
/* The old active lets go of every mirrored session. */
void bgpd_ha_release_all(void);

/* --- bgpd_ha_gr.c ---------------------------------------------------------- */

/* RFC 4724 is possible with this peer. */
bool bgpd_ha_gr_possible(struct peer *peer);
/* Takeover ends this shadow's session for a graceful restart. */
void bgpd_ha_gr_end_shadow(struct ha_shadow *s);

#endif /* FRR_HA_BGPD_HA_TF_PRIVATE_H */
