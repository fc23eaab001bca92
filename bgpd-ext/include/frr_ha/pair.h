/*
 * The C boundary of the HA pair (core: ../../core/pair_node.hpp).
 *
 * The glue owns the sockets, timers, lock file and bgpd; the node owns the
 * protocol and the decisions. Plain C: fixed-size structs and callbacks.
 */
#ifndef FRR_HA_PAIR_H
#define FRR_HA_PAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FRR_HA_NAME_MAX 32
#define FRR_HA_PATH_MAX 108 /* sun_path */
#define FRR_HA_HOST_MAX 64
#define FRR_HA_KEY_MAX 128
#define FRR_HA_TEXT_MAX 256
#define FRR_HA_DEFAULT_PORT 5179
#define FRR_HA_DEFAULT_PRIORITY 100
#define FRR_HA_DEFAULT_INTERVAL_MS 100
#define FRR_HA_DEFAULT_MULTIPLIER 3
/* See docs/ha-pair.md ("Hung active") for how it was chosen. */
#define FRR_HA_DEFAULT_HANG_DETECTION_MS 3000
#define FRR_HA_HANG_DETECTION_MIN_MS 500
#define FRR_HA_HANG_DETECTION_MAX_MS 600000

struct frr_ha_rp_config {
	char name[FRR_HA_NAME_MAX + 1];
	bool tcp;
	char unix_path[FRR_HA_PATH_MAX];
	char host[FRR_HA_HOST_MAX];
	uint16_t port;
	uint8_t priority;
};

struct frr_ha_pair_config {
	char self[FRR_HA_NAME_MAX + 1];
	struct frr_ha_rp_config rps[2];
	unsigned int n_rps;
	char key[FRR_HA_KEY_MAX + 1];
	uint32_t interval_ms;
	uint32_t multiplier;
	uint32_t hang_detection_ms; /* 0: a hung active is never fenced */
	/* Dual-RP: an active whose service link is lost hands its role over. */
	bool switchover_on_link_loss;
};

enum frr_ha_role { FRR_HA_ROLE_INIT, FRR_HA_ROLE_ACTIVE, FRR_HA_ROLE_STANDBY };
enum frr_ha_log_level { FRR_HA_LOG_INFO, FRR_HA_LOG_WARNING, FRR_HA_LOG_ERROR };

struct frr_ha_session_item {
	const char *vrf;
	const char *neighbor;
	uint32_t remote_as;
	const char *state;
};

typedef void (*frr_ha_session_sink)(void *sink,
				    const struct frr_ha_session_item *item);
typedef void (*frr_ha_text_sink)(void *sink, const char *text, size_t len);

struct frr_ha_host_ops {
	void (*send)(void *ctx, uint64_t channel, const void *data, size_t len);
	void (*close)(void *ctx, uint64_t channel);
	/* Take the ownership lock; false while another RP holds it. */
	bool (*acquire_ownership)(void *ctx, uint64_t *stored_epoch);
	void (*store_epoch)(void *ctx, uint64_t epoch);
	void (*release_ownership)(void *ctx);
	void (*role_changed)(void *ctx, enum frr_ha_role role, uint64_t epoch);
	void (*owned_sessions)(void *ctx, frr_ha_session_sink emit, void *sink);
	/* true if this RP could take the session over, else false and why. */
	bool (*check_session)(void *ctx, const struct frr_ha_session_item *item,
			      char *why, size_t why_len);
	void (*log)(void *ctx, enum frr_ha_log_level level, const char *text);
	int64_t (*wall_clock_ms)(void *ctx);
	/* Optional (NULL: not provided). The I/O thread's progress counter,
	 * sent with every heartbeat (0: not measured). */
	uint64_t (*io_progress)(void *ctx);
	/* The partner on this channel authenticated: keep a handle on its
	 * process (local mode), the one fence_partner may kill. */
	void (*partner_authenticated)(void *ctx, uint64_t channel);
	/* Whether this channel's process is the one verified before (its
	 * HELLO then shows the partner's main thread runs). */
	bool (*is_partner_process)(void *ctx, uint64_t channel);
	/* Kill that process; returns its pid, or 0 and why not. Its death is
	 * reported with frr_ha_node_partner_exited(). */
	int (*fence_partner)(void *ctx, char *why, size_t why_len);
	/* One configuration (docs/ha-pair.md). Optional (NULL: none). This
	 * RP's running configuration, as `show running-config` prints it,
	 * given to put() in pieces. */
	void (*running_config)(void *ctx, frr_ha_text_sink put, void *sink);
	/* Runs a line on this RP's mirror of the active's vty session (a new
	 * mirror starts at the enable node); true if it succeeded. What the
	 * line printed goes to put(). */
	bool (*run_config_line)(void *ctx, uint64_t session, const char *line,
				frr_ha_text_sink put, void *sink);
	void (*end_config_session)(void *ctx, uint64_t session);
	/* The lease of dual-RP mode (docs/dual-rp.md). Optional (NULL: this
	 * RP neither asks for nor grants one, as an older RP). Its clock: ms of
	 * CLOCK_MONOTONIC_RAW (never slewed by a time daemon). */
	uint64_t (*lease_clock_ms)(void *ctx);
	/* The active may write to peers until until_ms on that clock
	 * (FRR_HA_LEASE_NO_DEADLINE: no lease binds it). */
	void (*lease_deadline)(void *ctx, uint64_t until_ms);
	/* The active's lease lapsed (silent) or was granted again. */
	void (*lease_lapsed)(void *ctx, bool silent);
	/* Call frr_ha_node_lease_timer() in in_ms (replaces the former one). */
	void (*lease_timer)(void *ctx, uint32_t in_ms);
	/* Dual-RP: a session's relay to the standby host changed what it
	 * watches, or ended (frr_ha_cross_host_relay_fds). Optional. */
	void (*stream_relay_changed)(void *ctx, uint64_t session);
	/* Dual-RP, standby: a session's receiver changed (its shadow can
	 * start, it watches differently, its history is complete, the peer
	 * acknowledged more) or ended (frr_ha_cross_host_receiver_get).
	 * Optional. */
	void (*stream_receiver_changed)(void *ctx, uint64_t session);
	/* Dual-RP, standby: runs call(arg) with CAP_NET_ADMIN in effect (the
	 * links to the shadows grow past net.core.wmem_max). Optional. */
	void (*privileged)(void (*call)(void *), void *arg);
	/* Dual-RP, active: how many of its sessions the standby could not
	 * continue now (not handed over yet, or catching up). Optional (NULL:
	 * none said, as an older RP). */
	uint32_t (*sessions_unprotected)(void *ctx);
};

#define FRR_HA_LEASE_NO_DEADLINE UINT64_MAX

struct frr_ha_counters {
	uint64_t frames_sent, frames_received, bytes_sent, bytes_received;
	uint64_t channels_up, channel_drops, auth_failures, version_mismatches;
	uint64_t malformed_frames, oversized_frames, handshake_timeouts;
	uint64_t partners_refused, backlog_drops, switchovers;
	/* The channel's TLS 1.3 session (docs/ha-pair.md, "Security"). */
	uint64_t tls_handshake_failures, reflections_refused;
	uint64_t records_rejected, truncations, closed_without_notify;
	/* The data channel (dual-RP, docs/dual-rp.md "The data channel"). */
	uint64_t data_channels_up, data_channels_refused, stream_pieces_refused;
};

struct frr_ha_status {
	char rp[FRR_HA_NAME_MAX + 1];
	enum frr_ha_role role;
	const char *role_name; /* for display: "init", "active", "standby" */
	uint64_t epoch;
	bool local_mode;
	uint8_t priority;
	bool ready;
	char not_ready_reason[FRR_HA_TEXT_MAX];
	char config_error[FRR_HA_TEXT_MAX];
	uint32_t interval_ms, multiplier, detection_ms;
	const char *channel; /* "down", "handshake", "up" */
	bool partner_configured;
	char partner_name[FRR_HA_NAME_MAX + 1];
	bool partner_known;
	enum frr_ha_role partner_role;
	const char *partner_role_name;
	uint64_t partner_epoch;
	bool partner_ready;
	char partner_not_ready_reason[FRR_HA_TEXT_MAX];
	int64_t partner_up_since_unix_ms;
	/* An active partner's sessions this RP could not continue now. */
	uint32_t partner_sessions_unprotected;
	/* The channel that is up: "TLSv1.3", "TLS_AES_256_GCM_SHA384" ("" if none). */
	char channel_tls_version[16];
	char channel_cipher[64];
	bool data_channel_up; /* dual-RP: the data channel beside it */
	/* The host's ids of the channel and of the data channel (0: none up). */
	uint64_t channel_id, data_channel_id;
	/* The last channel refused and why ("" while none was). */
	char last_refusal[FRR_HA_TEXT_MAX];
	int64_t last_refusal_unix_ms;
	const char *sync_state; /* "none", "syncing", "done" */
	uint32_t sync_items_received, sync_items_total;
	struct frr_ha_counters counters;
	/* A hung active (local mode): see docs/ha-pair.md. */
	uint32_t hang_detection_ms; /* in use; 0: off */
	const char *fencing; /* "disabled", "dual-rp", "inactive", "watching", "fencing" */
	bool progress_watching;
	uint64_t progress_heartbeats, progress_last_seq, progress_io;
	bool progress_io_reported;
	/* When they last arrived / moved, on the clock given to the node. */
	uint64_t progress_last_heartbeat_ms, progress_last_io_advance_ms;
	uint32_t progress_max_heartbeat_gap_ms, progress_max_io_stall_ms;
	uint32_t progress_max_own_tick_gap_ms;
};

struct frr_ha_fence {
	int64_t at_unix_ms;
	int pid; /* 0: nothing could be signalled (see error) */
	char reason[FRR_HA_TEXT_MAX];
	char error[FRR_HA_TEXT_MAX];
	bool partner_died;
	uint32_t died_after_ms; /* detection -> the partner's death */
	bool took_over;
	uint32_t active_after_ms; /* detection -> this RP active */
};

struct frr_ha_switchover {
	uint64_t epoch;
	const char *reason; /* "planned", "partner-lost", "channel-heal", "partner-hung",
			     * "link-loss" */
	int64_t at_unix_ms;
	uint32_t duration_ms;
};

/* Why the configuration cannot form a pair (into why), or true if it can. */
bool frr_ha_config_check(const struct frr_ha_pair_config *config, char *why,
			 size_t why_len);
void frr_ha_config_defaults(struct frr_ha_pair_config *config);

struct frr_ha_node;

struct frr_ha_node *frr_ha_node_new(const struct frr_ha_host_ops *ops,
				    void *ctx,
				    const struct frr_ha_pair_config *config,
				    uint64_t now_ms);
void frr_ha_node_free(struct frr_ha_node *node);
void frr_ha_node_reconfigure(struct frr_ha_node *node,
			     const struct frr_ha_pair_config *config,
			     uint64_t now_ms);

/* A connection to the partner's address (connected: true) or accepted on
 * this RP's own (false). The channel is a TLS 1.3 session: the bytes given
 * to frr_ha_node_channel_bytes and sent through ops->send are ciphertext. */
void frr_ha_node_channel_opened(struct frr_ha_node *node, uint64_t channel,
				bool connected, uint64_t now_ms);
void frr_ha_node_channel_bytes(struct frr_ha_node *node, uint64_t channel,
			       const void *data, size_t len, uint64_t now_ms);
void frr_ha_node_channel_closed(struct frr_ha_node *node, uint64_t channel,
				uint64_t now_ms);
void frr_ha_node_channel_backlog(struct frr_ha_node *node, uint64_t channel,
				 size_t queued, uint64_t now_ms);
void frr_ha_node_tick(struct frr_ha_node *node, uint64_t now_ms);
/* The partner process verified on the channel is gone (its pidfd said so). */
void frr_ha_node_partner_exited(struct frr_ha_node *node, uint64_t now_ms);
/* The active partner is dying (its life page said so, before its exit is
 * over): a standby takes over as soon as ops->acquire_ownership lets it. */
void frr_ha_node_partner_died(struct frr_ha_node *node, uint64_t now_ms);

bool frr_ha_node_should_connect(const struct frr_ha_node *node);
/* Dual-RP: the data channel beside the control channel. The host opens one
 * when told (the partner's address, as the control channel), and reports
 * it connected with frr_ha_node_data_channel_opened instead of
 * frr_ha_node_channel_opened; an accepted one is reported as any other. */
bool frr_ha_node_should_connect_data(const struct frr_ha_node *node);
void frr_ha_node_data_channel_opened(struct frr_ha_node *node, uint64_t channel,
				     uint64_t now_ms);
bool frr_ha_node_data_channel_up(const struct frr_ha_node *node);
enum frr_ha_role frr_ha_node_role(const struct frr_ha_node *node);
bool frr_ha_node_request_switchover(struct frr_ha_node *node, uint64_t now_ms,
				    char *why, size_t why_len);
/* Dual-RP: the interface of the service addresses on this host lost its
 * link (its name) or has it (""): said at every tick and at once when it
 * changes. An active without it hands its role to a ready standby. */
void frr_ha_node_service_link(struct frr_ha_node *node, const char *lost_interface,
			      uint64_t now_ms);
void frr_ha_node_drop_channels(struct frr_ha_node *node, const char *why,
			       uint64_t now_ms);
/* A lapsed active with no channel to its partner writes again without a
 * lease (the operator says no standby can take over). */
bool frr_ha_node_override_lease(struct frr_ha_node *node, uint64_t now_ms,
				char *why, size_t why_len);

void frr_ha_node_status(const struct frr_ha_node *node,
			struct frr_ha_status *out);
size_t frr_ha_node_switchover_count(const struct frr_ha_node *node);
bool frr_ha_node_switchover_get(const struct frr_ha_node *node, size_t index,
				struct frr_ha_switchover *out);
size_t frr_ha_node_fence_count(const struct frr_ha_node *node);
bool frr_ha_node_fence_get(const struct frr_ha_node *node, size_t index,
			   struct frr_ha_fence *out);

/* --- the lease (dual-RP mode; core: pair_lease.hpp) ------------------------- */

/* ops->lease_timer's timer fired. */
void frr_ha_node_lease_timer(struct frr_ha_node *node, uint64_t now_ms);
/* Whether the active may write to peers now (always, unless it asked its
 * standby for a lease and holds none valid). */
bool frr_ha_node_may_write(const struct frr_ha_node *node);

struct frr_ha_lease_status {
	char role[16]; /* "holder", "grantor", "none" */
	char note[FRR_HA_TEXT_MAX]; /* why no lease is in force, if none is */
	bool in_force, may_write;
	int64_t valid_for_ms, may_take_over_in_ms;
	uint32_t lease_ms;
	uint64_t requests_sent, grants_received, grants_refused, lapses;
	uint64_t requests_received, grants_given, requests_refused;
	uint64_t overrides;
	char last_refusal[FRR_HA_TEXT_MAX];
	uint32_t last_takeover_wait_ms;
	/* On this host's lease clock (0: never). */
	uint64_t last_lapse_at_ms, last_takeover_at_ms;
};
void frr_ha_node_lease_status(const struct frr_ha_node *node,
			      struct frr_ha_lease_status *out);

/* --- one configuration for the pair (core: config_sync.hpp) ---------------- */

/* A configuration line typed on the active: sent to an in-step standby
 * before the active runs it (true, *seq to wait on), or not (false, why).
 * Session 0: a vty that entered configuration before the standby followed. */
bool frr_ha_node_config_forward(struct frr_ha_node *node, uint64_t session,
				const char *line, uint64_t *seq, char *why,
				size_t why_len);
enum frr_ha_config_answer {
	FRR_HA_CONFIG_PENDING,
	FRR_HA_CONFIG_ACCEPTED,
	FRR_HA_CONFIG_REFUSED, /* output: the standby's error */
	FRR_HA_CONFIG_LOST,    /* output: why no answer will come */
};
enum frr_ha_config_answer frr_ha_node_config_answer(const struct frr_ha_node *node,
						    uint64_t seq, char *output,
						    size_t output_len);
/* No answer within waited_ms: the line runs on the active alone. */
void frr_ha_node_config_timed_out(struct frr_ha_node *node, uint64_t seq,
				  uint32_t waited_ms);
/* A configuration line ran on this RP. */
void frr_ha_node_config_changed(struct frr_ha_node *node);
/* The active's vty session left configuration (or closed). */
void frr_ha_node_config_session_end(struct frr_ha_node *node, uint64_t session);

struct frr_ha_config_status {
	const char *state; /* "alone", "comparing", "in-step", "catching-up", "differs" */
	bool in_step;
	uint64_t generation;
	char digest[65];
	bool partner_known;
	uint64_t partner_generation;
	char partner_digest[65];
	char last_problem[FRR_HA_TEXT_MAX];
	uint64_t lines_forwarded, lines_refused, lines_alone, answers_late;
	uint64_t lines_mirrored, adoptions, adoption_lines;
	uint32_t last_adoption_ms;
	size_t differences; /* read them with frr_ha_node_config_difference */
};
void frr_ha_node_config_status(const struct frr_ha_node *node,
			       struct frr_ha_config_status *out);
bool frr_ha_node_config_difference(const struct frr_ha_node *node, size_t index,
				   char *line, size_t line_len);

#ifdef __cplusplus
}
#endif

#endif /* FRR_HA_PAIR_H */
