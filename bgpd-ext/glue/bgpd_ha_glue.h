/*
 * What the bgpd glue files share. C, FRR headers allowed; the HA core is
 * reached only through the headers in ../include/frr_ha.
 */
#ifndef FRR_HA_BGPD_HA_GLUE_H
#define FRR_HA_BGPD_HA_GLUE_H

#include "hook.h"
#include "memory.h"

#include "../include/frr_ha/bgpd_ha_core.h"
#include "../include/frr_ha/pair.h"
#include "../include/frr_ha/tap.h"

DECLARE_MGROUP(BGPD_HA);

struct vty;
struct json_object;
struct peer;
struct bgp;
struct thread_master;
union sockunion;

/* --- bgpd_ha_module.c: the module's lifecycle ----------------------------- */

/* This process's RP name (from -M ha:NAME), "" when loaded without one. */
const char *bgpd_ha_rp_name(void);

/* --- bgpd_ha_pair.c: the pair's host side (sockets, lock, roles) ---------- */

/* The pair's clock: monotonic milliseconds. */
uint64_t bgpd_ha_now_ms(void);
/* The configuration the CLI edits; applied with bgpd_ha_pair_apply(). */
struct frr_ha_pair_config *bgpd_ha_pair_config(void);
/* Starts the pair (once the configuration file is read) or applies a
 * changed configuration to it. */
void bgpd_ha_pair_apply(void);
void bgpd_ha_pair_init(struct thread_master *master);
void bgpd_ha_pair_fini(void);
/* The pair node, or NULL when this bgpd is not an RP of a pair. */
struct frr_ha_node *bgpd_ha_pair_node(void);
/* This RP's (self) or its partner's configuration, NULL if not configured. */
const struct frr_ha_rp_config *bgpd_ha_rp_config(bool self);
/* The partner's process as verified on the channel (local mode), 0 if none. */
int bgpd_ha_partner_pid(void);
/* This RP owns the sessions of an active heard to die whose exit is not
 * over: its threads wrote their last, its links are still open. */
bool bgpd_ha_partner_writers_gone(void);

/* --- bgpd_ha_lease.c: the lease of dual-RP mode (docs/dual-rp.md) ------------- */

/* The lease's clock: CLOCK_MONOTONIC_RAW, in ms. */
uint64_t bgpd_ha_lease_clock_ms(void);
/* Adds the lease's callbacks to the pair's host operations. */
void bgpd_ha_lease_host_ops(struct frr_ha_host_ops *ops);
/* Dual-RP mode: from now on bgpd's writes to peers stop at the deadline. */
void bgpd_ha_lease_start(struct thread_master *master);
/* show bgp ha [json]: "lease". */
void bgpd_ha_lease_show(struct vty *vty, struct json_object *json);
void bgpd_ha_lease_fini(void);

/* --- bgpd_ha_fence.c: the lease's fence in the kernel (docs/dual-rp.md) ------ */

/* Installs the nftables table (dual-RP, at the lease's start). */
void bgpd_ha_fence_install(void);
/* Open until `until` (less a margin), on the lease clock; shut if past. */
void bgpd_ha_fence_follow(uint64_t until, uint64_t now);
void bgpd_ha_fence_shut(void);
void bgpd_ha_fence_remove(void);
/* A leaving active: the connections closed here while its fence was shut
 * (orphans holding their 4-tuples) destroyed behind it; nothing while the
 * fence is open. */
void bgpd_ha_fence_destroy_orphans(void);
/* The service addresses the fence guards (their ARP and ND answers). */
void bgpd_ha_fence_guard(const char *const *addresses, size_t n);
/* show bgp ha: the fence's line; json: "fence" in the lease's object. */
void bgpd_ha_fence_show(struct vty *vty);
void bgpd_ha_fence_json(struct json_object *lease);

/* --- bgpd_ha_life.c: the life pages (local mode) ------------------------------ */

/* Holds this RP's page (main thread's writer now) and watches the partner's
 * (again when the configuration changes). */
void bgpd_ha_life_start(struct thread_master *master);
/* Once bgpd's I/O pthread runs: its writer's mutex, then the page. */
void bgpd_ha_life_io_start(void);
/* The partner process heard to die (0: none since forgotten). */
int bgpd_ha_life_partner_died_pid(void);
void bgpd_ha_life_forget_death(void);
/* show bgp ha [json]: "lifePage" (docs/ha-pair.md). */
void bgpd_ha_life_show(struct vty *vty, struct json_object *json);
void bgpd_ha_life_fini(void);

/* --- bgpd_ha_channel.c: the HA channel's sockets ----------------------------- */

void bgpd_ha_channels_init(struct thread_master *master);
void bgpd_ha_channels_fini(void);
void bgpd_ha_channel_send(uint64_t id, const void *data, size_t len);
void bgpd_ha_channel_close(uint64_t id);
void bgpd_ha_channels_listen_start(void);
void bgpd_ha_channels_listen_stop(void);
void bgpd_ha_channels_listen_restart(void);
/* Each heartbeat: listen if not yet, connect if this RP is the one to. */
void bgpd_ha_channels_tick(void);
/* Reads what the partner sent while this RP was busy (before a tick). */
void bgpd_ha_channels_drain(void);
/* Moves the channels' bytes outside the event loop until done(arg) or
 * timeout_ms; returns done(arg). */
bool bgpd_ha_channels_run_until(bool (*done)(void *arg), void *arg,
				uint32_t timeout_ms);
/* Local mode: the process at the other end of a channel, taken before its
 * handshake; take_process hands its pidfd over (false and why if none). */
bool bgpd_ha_channel_take_process(uint64_t id, int *pidfd, int *pid, char *why,
				  size_t why_len);
int bgpd_ha_channel_pid(uint64_t id);
/* A TCP channel's two ends, "addr:port" ("[addr]:port" for IPv6): false for
 * no such channel, or one on a unix socket. */
bool bgpd_ha_channel_endpoints(uint64_t id, char *local, char *remote, size_t len);

/* --- bgpd_ha_relay.c: dual-RP, sessions handed to the standby host ------ */

/* Adds the relays' callback to the pair's host operations. */
void bgpd_ha_relay_host_ops(struct frr_ha_host_ops *ops);
/* Runs call(arg) with CAP_NET_ADMIN in effect. */
void bgpd_ha_with_net_admin(void (*call)(void *), void *arg);
/* And the standby host's receivers' (bgpd_ha_receiver.c). */
void bgpd_ha_receiver_host_ops(struct frr_ha_host_ops *ops);
/* Logs a relayed session's streams and socket (it went on unprotected,
 * its standby host lagging). */
void bgpd_ha_relay_log_state(struct peer *peer);
/* The host op of the active's unprotected sessions (bgpd_ha_handover.c). */
void bgpd_ha_handover_host_ops(struct frr_ha_host_ops *ops);
/* show bgp ha [json]: "streamsAcrossHosts" (dual-RP). */
void bgpd_ha_relay_show(struct vty *vty, struct json_object *json);

/* --- bgpd_ha_service.c: the service addresses of dual-RP mode ------------------ */

#define BGPD_HA_SERVICE_MAX 8
/* Adds or removes a service address ("A.B.C.D/M", "X:X::X:X/M"); false and
 * why when refused. */
bool bgpd_ha_service_set(const char *prefix, bool add, char *why, size_t why_len);
/* The 'bgp ha service-address' lines; whether any was written. */
bool bgpd_ha_service_write(struct vty *vty, const char *indent);
/* show bgp ha [json]: "serviceAddresses". */
void bgpd_ha_service_show(struct vty *vty, struct json_object *json);
/* Claims or releases them as this RP may or may not write to peers now
 * (role changes call it; so does the lease, when it lapses or returns). */
void bgpd_ha_service_follow(void);
/* Tells the pair whether the service addresses' interface has its link
 * (every tick, and as bgpd hears it go down). */
void bgpd_ha_service_link_say(void);
/* Gives the fence the service addresses (after a change, an install). */
void bgpd_ha_service_guard(void);
/* Whether a session on this local address can move to the other host: not
 * dual-RP (one host), or a service address. */
bool bgpd_ha_service_address_moves(const union sockunion *local);
/* Whether this RP runs in dual-RP mode (its channel is TCP: the partner is
 * on another host, with a kernel of its own). */
bool bgpd_ha_dual_rp(void);
void bgpd_ha_service_init(struct thread_master *master);
void bgpd_ha_service_fini(void);

/* bgpd_ha_kernel_address.c: the interface (as bgpd knows it) the kernel holds
 * this local address on, or NULL; for a bgpd zebra has not told of it yet. */
struct interface *bgpd_ha_kernel_address_interface(const union sockunion *local,
						   vrf_id_t vrf_id);

/* bgpd_ha_memory.c: an RP gives freed heap back to the kernel. */
void bgpd_ha_memory_init(struct thread_master *master);
void bgpd_ha_memory_fini(void);

/* --- bgpd_ha_roles.c: what a role means to bgpd ------------------------------ */

/* Called on every role change, after the pair decided it and before bgpd's
 * sessions are run (active) or held (any other role). */
DECLARE_HOOK(frr_ha_role_changed,
	     (enum frr_ha_role previous, enum frr_ha_role role),
	     (previous, role));
/* Peers and listeners held (not init/active owner of the sessions). */
void bgpd_ha_hold_sessions(void);
/* The pair's host operations for roles and the bulk sync. */
void bgpd_ha_role_apply(void *ctx, enum frr_ha_role role, uint64_t epoch);
void bgpd_ha_owned_sessions(void *ctx, frr_ha_session_sink emit, void *sink);
bool bgpd_ha_check_session(void *ctx, const struct frr_ha_session_item *item,
			   char *why, size_t why_len);
/* The new active tells zebra once every session is synced. */
void bgpd_ha_confirm_fib_when_synced(void);

/* --- bgpd_ha_modes.c: per-neighbor failover modes -------------------------- */

enum frr_ha_configured_mode bgpd_ha_mode_get(struct bgp *bgp, const char *neighbor);
void bgpd_ha_mode_set(struct bgp *bgp, const char *neighbor,
		      enum frr_ha_configured_mode mode);
void bgpd_ha_modes_write(struct vty *vty, struct bgp *bgp);
/* A BGP instance is going away: forget its neighbors' modes. */
void bgpd_ha_modes_forget(struct bgp *bgp);
void bgpd_ha_modes_init(void);
void bgpd_ha_modes_fini(void);

/* The switchover decision for one of bgpd's sessions, read off the peer. */
struct frr_ha_mode_decision bgpd_ha_peer_decision(struct peer *peer);

/* --- transparent failover of sessions (local mode), one file per step of a
 * session's data flow; what they share is in bgpd_ha_tf_private.h ------------ */

/* bgpd_ha_tf.c: the taps, bgpd's I/O hooks, show info. */
void bgpd_ha_tf_init(struct thread_master *master);
void bgpd_ha_tf_fini(void);
/* Whether the standby shadows every Established TF or GR session (else
 * which one does not, and why): a planned switchover would restart a TF
 * session, or lose a GR peer's routes until it sends them again. */
bool bgpd_ha_tf_all_protected(char *why, size_t why_len);
/* The session's transparent-failover state, for show commands. */
struct frr_ha_tap_info;
bool bgpd_ha_tf_info(struct peer *peer, struct frr_ha_tap_info *info);
/* Whether the session's writes are swallowed here (a shadow's): safe from
 * bgpd's I/O pthread. */
bool bgpd_ha_tf_writes_swallowed(struct peer *peer);

/* bgpd_ha_handover.c: the hand-over, mirroring and back-pressure. */
/* Whether the active hands the session to the standby: transparent
 * failover, and graceful restart (whose shadow keeps the peer's routes in
 * the standby's RIB, to be kept as stale at takeover). */
bool bgpd_ha_tf_shadowed(struct peer *peer);
/* How long a full link may hold a session back before the session goes on
 * unprotected ("bgp ha standby-lag-limit"). Well under any keepalive
 * interval: while held, the session's keepalives wait too. */
#define BGPD_HA_DEFAULT_LAG_LIMIT_MS 500
unsigned int bgpd_ha_tf_lag_limit(void);
/* A session went on unprotected: logged with why, and counted at once for
 * the standby (the hand-over sweep recounts every second). Any pthread. */
void bgpd_ha_tf_log_unprotected(struct peer *peer, const char *why);
void bgpd_ha_tf_set_lag_limit(unsigned int ms);

/* bgpd_ha_shadow.c: the standby's shadows. */
/* A standby's shadow of the active's session: kept up while standby. */
bool bgpd_ha_tf_is_shadow(struct peer *peer);

/* bgpd_ha_takeover.c: the takeover and the difference. */
/* What the last takeover of this RP did (all zero before any). */
struct bgpd_ha_takeover_summary {
	bool happened;
	int64_t at_unix_ms;
	uint32_t duration_ms; /* the role change to every shadow decided */
	unsigned int shadows, continued, graceful, restarted;
	uint64_t completed_bytes;    /* half-written messages finished */
	uint64_t unsent_messages;    /* logged by the old active, never started */
	uint64_t duplicates_dropped; /* mirrored bytes not read twice */
	uint64_t difference_messages;
	unsigned int differences_pending, differences_failed;
};
void bgpd_ha_tf_last_takeover(struct bgpd_ha_takeover_summary *out);

/* --- bgpd_ha_gr.c: the new active as a restarting speaker (RFC 4724) ------ */

/* Takeover: sessions that open from now on (for the GR restart time) carry
 * the Restart State bit, and FRR's GR code treats them as after a restart. */
void bgpd_ha_gr_restart_window(void);
void bgpd_ha_gr_init(void);
void bgpd_ha_gr_fini(void);

/* --- bgpd_ha_standby_cli.c: commands a standby refuses ------------------- */

void bgpd_ha_standby_cli_init(void);
void bgpd_ha_standby_cli_fini(void);
/* The command `line` would run on this vty (FRR's matcher), or NULL. */
struct cmd_element;
const struct cmd_element *bgpd_ha_command_of(struct vty *vty, const char *line);

/* --- bgpd_ha_descriptors.c: file descriptors the pair needs ----------------- */

/* At load, before the event loop sizes its tables. */
void bgpd_ha_descriptors_raise(void);
void bgpd_ha_descriptors_log(void);
/* True (and why) when any of these descriptors is in the part of the limit
 * kept for bgpd's own sessions: the hand-over is not made. */
bool bgpd_ha_descriptors_short(const int *fds, int n, char *why, size_t why_len);
void bgpd_ha_descriptors_show(struct vty *vty, struct json_object *json);

/* --- bgpd_ha_config_sync.c: one configuration for the pair ---------------- */

struct json_object;
void bgpd_ha_config_sync_init(void);
void bgpd_ha_config_sync_fini(void);
/* Adds the configuration callbacks to the pair's host operations. */
void bgpd_ha_config_sync_host_ops(struct frr_ha_host_ops *ops);
/* One of the standby's mirrors of the active's vty sessions. */
bool bgpd_ha_config_is_mirror(const struct vty *vty);
/* `show bgp ha`'s configuration part (json: adds "configuration"). */
void bgpd_ha_config_sync_show(struct vty *vty, struct json_object *json);

/* --- bgpd_ha_vty.c ---------------------------------------------------------- */

/* Registers the module's CLI; called once from frr_late_init. */
void bgpd_ha_vty_init(void);

#endif /* FRR_HA_BGPD_HA_GLUE_H */
