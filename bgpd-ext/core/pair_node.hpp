// One route processor's view of the HA pair: the channel to its partner
// (handshake, heartbeats, bulk sync), its role and epoch, and who may own
// the peer sessions. It does no I/O: the host (the bgpd glue) moves bytes,
// runs timers, holds the ownership lock and applies role changes to bgpd.
//
// The rules, in one place:
// - Only the owner of the ownership lock is active (local mode: a flock the
//   kernel drops when the active dies; dual-RP: each host has its own, and
//   the epoch comparison below settles a healed split).
// - An RP in init waits for its partner up to the detection time; if the
//   partner is active it becomes standby; if both are undecided, the higher
//   priority (then the lower name) becomes active.
// - A standby that loses its partner takes over (local: at once, the lock
//   says whether the active is really gone; dual-RP: after the detection
//   time without a frame). There is no preemption.
// - Two actives that meet compare (epoch, priority, name): the lower one
//   steps down at once and never writes to a peer again.
// - Local mode: a standby fences (kills) an active that makes no progress
//   for the hang-detection time -- no STATUS from its main thread, or no
//   advance of its I/O thread's counter -- then takes over as after a
//   kill -9 (the lock, freed by the kernel, says when). Dual-RP mode has no
//   shared kernel to fence with: it keeps the silence rule above, and the
//   lease (pair_lease.hpp): the active asks its standby for a lease with
//   every STATUS and, once it asked, writes to peers only while one is
//   valid; a standby that granted one takes over after its partner's loss
//   only once every grant has expired (docs/dual-rp.md, "The lease").
#pragma once

#include "config_sync.hpp"
#include "connection_image.hpp"
#include "frame_codec.hpp"
#include "pair_lease.hpp"
#include "pair_types.hpp"
#include "remote_streams.hpp"
#include "secure_channel.hpp"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace frr_ha {

namespace wire {
class Message;
}

// What the node needs from the daemon around it.
class PairHost {
public:
    virtual ~PairHost() = default;
    virtual void send(ChannelId channel, const std::string &bytes) = 0;
    virtual void close(ChannelId channel) = 0;
    // Takes the ownership lock and returns the epoch stored with it, or
    // nothing while another RP holds it.
    virtual std::optional<std::uint64_t> acquire_ownership() = 0;
    virtual void store_epoch(std::uint64_t epoch) = 0;
    virtual void release_ownership() = 0;
    // Applies a role to bgpd: active runs the peers, others hold them.
    virtual void role_changed(Role role, std::uint64_t epoch) = 0;
    virtual std::vector<SessionItem> owned_sessions() = 0;
    // Why this RP could not take over the session, or "" if it can.
    virtual std::string check_session(const SessionItem &item) = 0;
    virtual void log(LogLevel level, const std::string &text) = 0;
    virtual std::int64_t wall_clock_ms() = 0;

    // This RP's I/O thread progress counter, sent with every STATUS
    // (0: not measured).
    virtual std::uint64_t io_progress() { return 0; }
    // The partner at the other end of this channel proved it holds the key:
    // (local mode) the host keeps a handle on that process, the one
    // fence_partner() may kill.
    virtual void partner_authenticated(ChannelId channel) { (void)channel; }
    // Whether the process at the other end of this (not yet authenticated)
    // channel is the one partner_authenticated() verified before: its
    // HELLO is then a sign of life of the active's main thread.
    virtual bool is_partner_process(ChannelId channel)
    {
        (void)channel;
        return false;
    }
    struct FenceResult {
        int pid = 0;  // the process signalled; 0: none
        std::string error;
    };
    // Kills the partner process verified by partner_authenticated() (local
    // mode); the host then reports its death with PairNode::partner_exited.
    virtual FenceResult fence_partner() { return {0, "this host cannot fence"}; }

    // Standby: why its shadows could not take their sessions over yet
    // without sending the peers their tables again ("" when they could).
    virtual std::string shadows_not_ready() { return {}; }
    // Active: how many of its sessions the standby could not continue now
    // (not handed over yet, or catching up); told the standby each STATUS.
    virtual std::uint32_t sessions_unprotected() { return 0; }

    // One configuration (config_sync.hpp). This RP's running configuration,
    // as `show running-config` prints it.
    virtual std::string running_config() { return {}; }
    struct ConfigRun {
        bool accepted = false;
        std::string output;  // what the line printed
    };
    // Runs a line on this RP's mirror of the active's vty session `session`
    // (a new mirror starts at the enable node).
    virtual ConfigRun run_config_line(std::uint64_t session, const std::string &line)
    {
        (void)session;
        (void)line;
        return {false, "% this RP cannot run configuration lines\n"};
    }
    virtual void end_config_session(std::uint64_t session) { (void)session; }

    // The lease (dual-RP mode). Its clock: milliseconds of a monotonic
    // clock no time daemon slews (CLOCK_MONOTONIC_RAW: the lease's proof
    // bounds the clock's rate). Nothing: this host has no such clock, and
    // neither asks for nor grants a lease (as an older RP).
    virtual std::optional<Millis> lease_clock_ms() { return std::nullopt; }
    // The active may write to peers until `until` on the lease clock
    // (PairLease::kNoDeadline: no lease binds it); a host checks it where it
    // writes.
    virtual void lease_deadline(Millis until) { (void)until; }
    // The active's lease lapsed (silent: it writes to no peer, closes no
    // session) or was granted again (it writes what waited).
    virtual void lease_lapsed(bool silent) { (void)silent; }
    // Calls PairNode::lease_timer(now) in `in_ms`, replacing the former
    // request: the lease's next deadline falls between two ticks.
    virtual void lease_timer(Millis in_ms) { (void)in_ms; }

    // The data channel (dual-RP mode, pair_data_channel.cpp) came up or
    // went down; while down, PairNode::send_stream sends nothing.
    virtual void data_channel_changed(bool up) { (void)up; }
    // What arrived on it, checked as far as the message alone shows.
    virtual void stream_chunk(const StreamChunk &chunk) { (void)chunk; }
    virtual void stream_ack(const StreamAck &ack) { (void)ack; }
    virtual void stream_session(const StreamSessionInfo &info) { (void)info; }
    virtual void stream_end(const StreamEnd &end) { (void)end; }
    virtual void stream_image(const SessionImage &image) { (void)image; }
    virtual void stream_progress(const SessionProgress &progress) { (void)progress; }
    virtual void stream_protection(const StreamProtection &p) { (void)p; }
    // A piece of this session was refused on arrival (why): its streams
    // end here and at the active.
    virtual void stream_refused(std::uint64_t session, const std::string &why)
    {
        (void)session;
        (void)why;
    }
};

struct PartnerView {
    bool known = false;  // a STATUS arrived on the current channel
    Role role = Role::Init;
    std::uint64_t epoch = 0;
    std::uint32_t priority = 0;
    bool ready = false;
    std::string not_ready_reason;
    std::uint64_t sync_generation = 0;
    std::int64_t up_since_unix_ms = 0;
    std::uint32_t lease_grantor_ms = 0;  // the lease it grants; 0: none
    bool data_channel = false;  // it accepts a data channel
    // As a standby host it continues a session that catches up first only
    // once told it is protected (StreamProtection).
    bool stream_protection = false;
    // As active: its sessions the standby could not continue now.
    std::uint32_t sessions_unprotected = 0;
};

class PairNode {
public:
    PairNode(PairHost &host, PairConfig config, Millis now);
    ~PairNode();
    PairNode(const PairNode &) = delete;
    PairNode &operator=(const PairNode &) = delete;

    // Channel events from the host. Every channel is a TLS 1.3 session
    // (secure_channel.hpp): the host gives the bytes it read (ciphertext)
    // and sends what the node gives it; `side` says whether this RP
    // accepted the connection or made it. The host reports the end of the
    // partner's stream (EOF) with channel_closed.
    // `purpose`: what a connecting side opens the channel for (an
    // accepting side learns it from the partner's HELLO).
    void channel_opened(ChannelId channel, Millis now,
                        ChannelSide side = ChannelSide::Accepted,
                        ChannelPurpose purpose = ChannelPurpose::Control);
    void channel_bytes(ChannelId channel, const void *data, std::size_t len, Millis now);
    void channel_closed(ChannelId channel, Millis now);
    void channel_backlog(ChannelId channel, std::size_t queued_bytes, Millis now);
    // Called every heartbeat interval.
    void tick(Millis now);
    // Dual-RP (pair_service_link.cpp): the interface of the service
    // addresses on this host has lost its link (its name), or has it (""),
    // said by the host at every tick and as soon as it changes. An active
    // without the link hands its role to a ready standby
    // (config().switchover_on_link_loss); a standby without it is not ready.
    void service_link(const std::string &lost_interface, Millis now);
    const std::string &service_link_lost() const { return link_lost_; }
    // The verified partner process is gone (local mode: its pidfd said so).
    void partner_exited(Millis now);
    // The active partner is dying (local mode: its life page said so, before
    // its exit is over): its channels are of no more use; a standby takes
    // over as soon as the ownership lock lets it (the host's lock then
    // knows the holder is dead).
    void partner_died(Millis now);

    // The host's lease timer (PairHost::lease_timer) fired.
    void lease_timer(Millis now);
    // Whether the active may write to peers now: always, unless it asked
    // its standby for a lease (dual-RP) and holds none valid.
    bool may_write() const;
    LeaseView lease_view() const;

    // Operator requests. Return "" on success, else why not.
    std::string request_switchover(Millis now,
                                   SwitchoverReason reason = SwitchoverReason::Planned);
    void drop_channels(const std::string &why, Millis now);
    // A lapsed active with no partner to ask writes again without a lease
    // (docs/dual-rp.md, "A lone or lapsed active").
    std::string override_lease(Millis now);

    // Replaces the configuration (already checked by config_problem()).
    void reconfigure(PairConfig config, Millis now);

    // One configuration: the active sends a configuration line to an
    // in-step standby before running it (its sequence number), or says why
    // not; the standby's answer is config_answer(seq). Session 0: a vty that
    // entered configuration before the standby followed.
    std::optional<std::uint64_t> forward_config_line(std::uint64_t session,
                                                     const std::string &line,
                                                     std::string *why_not);
    ConfigAnswer config_answer(std::uint64_t seq) const { return config_sync_.answer(seq); }
    void config_answer_timed_out(std::uint64_t seq, Millis waited)
    {
        config_sync_.answer_timed_out(seq, waited);
    }
    void config_changed() { config_sync_.changed(); }
    void end_config_session(std::uint64_t session);
    ConfigView config_view() const { return config_sync_.view(); }

    // Whether the host should open a channel to the partner now: none is
    // open, and this RP is the connecting side (the lower name).
    bool should_connect() const;

    // The data channel (dual-RP mode): whether the host should open one
    // now (the control channel is up, the partner accepts one, this RP is
    // the connecting side, none is open or opening), whether it is up, and
    // sending on it (false: it is not up, nothing was sent).
    bool should_connect_data() const;
    bool data_channel_up() const { return data_.has_value(); }
    // The host's ids of the channel to the partner and of the data channel
    // beside it (0: none up), so that show can name their endpoints.
    ChannelId control_channel_id() const { return primary_.value_or(0); }
    ChannelId data_channel_id() const { return data_.value_or(0); }
    bool send_stream(const StreamChunk &chunk);
    bool send_stream(const StreamAck &ack);
    bool send_stream(const StreamSessionInfo &info);
    bool send_stream(const StreamEnd &end);
    bool send_stream(const SessionImage &image);
    bool send_stream(const SessionProgress &progress);
    bool send_stream(const StreamProtection &p);

    const PairConfig &config() const { return config_; }
    const std::string &config_error() const { return config_error_; }
    const RpConfig *self_rp() const;
    const RpConfig *partner_rp() const;
    bool local_mode() const;
    Role role() const { return role_; }
    std::uint64_t epoch() const { return epoch_; }
    ChannelState channel_state() const;
    const PartnerView &partner() const { return partner_; }
    bool ready() const;
    std::string not_ready_reason() const;
    SyncState sync_state() const { return sync_state_; }
    std::uint32_t sync_items_received() const { return sync_received_; }
    std::uint32_t sync_items_total() const { return sync_total_; }
    const Counters &counters() const { return counters_; }
    // The TLS version and cipher suite of the channel that is up ("" when
    // none is).
    std::string channel_tls_version() const;
    std::string channel_cipher() const;
    // The last channel this RP refused, and why ("" while none was), on the
    // host's wall clock.
    const std::string &last_refusal() const { return last_refusal_; }
    std::int64_t last_refusal_unix_ms() const { return last_refusal_unix_ms_; }
    const std::vector<SwitchoverRecord> &switchovers() const { return switchovers_; }
    Millis detection_ms() const;
    // The hang-detection time in use (never below detection_ms()); 0: off.
    Millis hang_detection_ms() const;
    // "disabled", "dual-rp", "inactive", "watching" or "fencing".
    std::string_view fencing_state() const;
    const PartnerProgress &partner_progress() const { return progress_; }
    const std::vector<FenceRecord> &fences() const { return fences_; }
    // This RP's own longest time between two ticks (its main thread busy).
    std::uint32_t max_own_tick_gap_ms() const { return max_own_tick_gap_ms_; }

private:
    struct Channel;

    Millis silence_limit_ms(const Channel &ch) const;
    void send(Channel &ch, const wire::Message &msg);
    void send_status(Channel &ch);
    void broadcast_status();
    void close_channel(ChannelId id, const std::string &why, LogLevel level);
    void flush(Channel &ch);
    void on_security_failure(Channel &ch);
    void refused(const std::string &why);
    void on_frame(Channel &ch, const Frame &frame, Millis now);
    void on_handshake(Channel &ch, const wire::Message &msg, Millis now);
    void on_message(Channel &ch, const wire::Message &msg, Millis now);
    // pair_data_channel.cpp
    bool on_data_hello(Channel &ch, const wire::Message &msg);
    void on_data_message(Channel &ch, const wire::Message &msg);
    void data_channel_closed();
    void close_data_channels(const std::string &why);
    void refuse_stream_piece(std::uint64_t session, const char *what, const std::string &why);
    bool send_on_data(const wire::Message &msg);
    void on_partner_lost(Millis now);
    bool lease_enabled() const;
    void lease_role_changed();
    void lease_update();
    void on_lease_request(Channel &ch, const wire::Message &msg);
    void on_lease_grant(const wire::Message &msg);
    bool lease_allows_takeover(Millis now);
    void watch_progress(std::uint64_t seq, std::uint64_t io_progress, Millis now);
    void sign_of_life(Millis now);
    void check_progress(Millis now);
    void fence(const std::string &reason, Millis now);
    void evaluate_role(Millis now);
    bool outranks_partner(bool compare_epochs) const;
    bool try_become_active(Millis now);
    Millis takeover_silence_ms();
    void become_standby(std::uint64_t epoch, Millis now);
    void step_down(Millis now);
    void send_sync(Channel &ch);
    void request_sync_if_needed(Channel &ch);
    std::uint64_t session_generation();
    Channel *primary();
    ConfigSync::Send to_partner(ChannelId id);
    void log(LogLevel level, const std::string &text) { host_.log(level, text); }

    PairHost &host_;
    PairConfig config_;
    std::string config_error_;
    Role role_ = Role::Init;
    std::uint64_t epoch_ = 0;
    Millis init_deadline_ = 0;
    static constexpr Millis kDualRpStartWaits = 3;  // detection times, alone at start
    std::map<ChannelId, std::unique_ptr<Channel>> channels_;
    std::optional<ChannelId> primary_;
    std::optional<ChannelId> data_;  // the data channel, once up
    PartnerView partner_;
    Millis last_heard_ = 0;  // last frame from the authenticated partner

    // A takeover decided but not done yet (the lock may still be held).
    struct PendingTakeover {
        SwitchoverReason reason;
        Millis since;
        std::uint64_t epoch;  // 0: pick one
        // The lost active's sessions this RP could not continue, as its
        // last STATUS said: the silence must then last twice as long.
        std::uint32_t partner_unprotected = 0;
        bool longer_wait_logged = false;
    };
    std::optional<PendingTakeover> pending_;
    bool lock_busy_logged_ = false;

    SyncState sync_state_ = SyncState::None;
    std::uint64_t synced_generation_ = 0;
    std::uint32_t sync_total_ = 0;
    std::uint32_t sync_received_ = 0;
    std::vector<std::string> sync_problems_;
    std::uint64_t own_generation_ = 0;

    std::uint64_t status_seq_ = 0;
    Counters counters_;
    std::string last_refusal_;
    std::int64_t last_refusal_unix_ms_ = 0;
    PartnerProgress progress_;
    std::vector<FenceRecord> fences_;
    // A fence in progress: when the hang was detected (the partner was
    // signalled then); the last record of fences_ is its.
    std::optional<Millis> fence_since_;
    bool fence_tried_ = false;  // this hang was acted on (even if it failed)
    Millis last_tick_ = 0;
    std::uint32_t max_own_tick_gap_ms_ = 0;
    std::vector<SwitchoverRecord> switchovers_;
    ConfigSync config_sync_{host_};
    PairLease lease_{lease_defaults(config_.interval_ms, config_.multiplier)};
    Millis lease_deadline_ = PairLease::kNoDeadline;  // last given to the host
    // A takeover after the detection time, waiting for the lease: since
    // when (lease clock), and whether that was logged.
    std::optional<Millis> lease_wait_since_;
    // pair_service_link.cpp: the interface without its link ("": none),
    // and the last reason the switchover for it was refused (said once).
    std::string link_lost_;
    std::string link_refusal_;
};

}  // namespace frr_ha
