#include "pair_node.hpp"
#include "pair_node_channel.hpp"

#include "ha_channel.pb.h"

#include <algorithm>
#include <functional>
#include <tuple>

namespace frr_ha {

namespace {

wire::Role to_wire(Role role)
{
    switch (role) {
    case Role::Active:
        return wire::ROLE_ACTIVE;
    case Role::Standby:
        return wire::ROLE_STANDBY;
    case Role::Init:
        break;
    }
    return wire::ROLE_INIT;
}

Role from_wire(wire::Role role)
{
    switch (role) {
    case wire::ROLE_ACTIVE:
        return Role::Active;
    case wire::ROLE_STANDBY:
        return Role::Standby;
    default:
        break;
    }
    return Role::Init;
}

}  // namespace

PairNode::PairNode(PairHost &host, PairConfig config, Millis now)
    : host_(host), config_(std::move(config)), config_error_(config_problem(config_))
{
    // Dual-RP: nothing but the channel tells a starting RP that its
    // partner is active (no shared lock), and the partner dials only every
    // heartbeat, each attempt given up after the detection time: the
    // starting RP waits for that three times over before it takes the
    // role alone (docs/dual-rp.md, "Starting alone").
    init_deadline_ = now + detection_ms() * (local_mode() ? 1 : kDualRpStartWaits);
    if (!config_error_.empty())
        log(LogLevel::Error, "HA pair not formed: " + config_error_ +
                                 "; this RP runs alone, guarded by the ownership lock");
    host_.role_changed(Role::Init, epoch_);
}

PairNode::~PairNode() = default;

Millis PairNode::detection_ms() const
{
    return Millis{config_.interval_ms} * config_.multiplier;
}

// How long a partner may say nothing before its channel is closed: the
// detection time, except for the active's own standby in local mode. Its
// death is heard at once (the life lock); a standby that is only busy (a
// thousand shadows loading their tables) holds back just the sessions whose
// links it leaves full, while a closed channel would leave every session
// unprotected, to be handed over again: the very work it was behind on. So
// the active waits for it as long as a standby waits for its active before
// fencing it (the hang-detection time; its default when that is off).
Millis PairNode::silence_limit_ms(const Channel &ch) const
{
    // A local partner that is standby, to this RP's active or to this RP
    // that just handed it the active role (both standby until it says it
    // took it), may be busy: taking over thousands of sessions held a new
    // active's main thread 8 s at 2000 sessions, and an old active that
    // gave up on it after the detection time took back a role whose
    // sessions it had released (each one restarted). Its death is heard at
    // once on its life page; silence is judged by the hang-detection time.
    const bool partner_standby = (role_ == Role::Active || role_ == Role::Standby) &&
                                 partner_.role == Role::Standby &&
                                 ch.stage == Channel::Stage::Up && primary_ && *primary_ == ch.id;
    if (!partner_standby || !local_mode())
        return detection_ms();
    const Millis hang = config_.hang_detection_ms ? config_.hang_detection_ms
                                                  : kDefaultHangDetectionMs;
    return std::max<Millis>(hang, detection_ms());
}

Millis PairNode::hang_detection_ms() const
{
    if (config_.hang_detection_ms == 0)
        return 0;
    return std::max<Millis>(config_.hang_detection_ms, detection_ms());
}

std::string_view PairNode::fencing_state() const
{
    if (hang_detection_ms() == 0)
        return "disabled";
    if (!local_mode())
        return "dual-rp";
    if (fence_since_)
        return "fencing";
    return progress_.watching ? "watching" : "inactive";
}

const RpConfig *PairNode::self_rp() const
{
    for (const auto &rp : config_.rps)
        if (rp.name == config_.self)
            return &rp;
    return nullptr;
}

const RpConfig *PairNode::partner_rp() const
{
    if (!config_error_.empty())
        return nullptr;
    for (const auto &rp : config_.rps)
        if (rp.name != config_.self)
            return &rp;
    return nullptr;
}

bool PairNode::local_mode() const
{
    const auto *self = self_rp();
    return !self || !self->tcp;
}

bool PairNode::should_connect() const
{
    const auto *partner = partner_rp();
    return partner && channels_.empty() && config_.self < partner->name;
}

PairNode::Channel *PairNode::primary()
{
    if (!primary_)
        return nullptr;
    auto it = channels_.find(*primary_);
    return it == channels_.end() ? nullptr : it->second.get();
}

std::string PairNode::channel_tls_version() const
{
    auto it = primary_ ? channels_.find(*primary_) : channels_.end();
    return it == channels_.end() ? std::string() : it->second->tls->version();
}

std::string PairNode::channel_cipher() const
{
    auto it = primary_ ? channels_.find(*primary_) : channels_.end();
    return it == channels_.end() ? std::string() : it->second->tls->cipher();
}

ChannelState PairNode::channel_state() const
{
    if (primary_)
        return ChannelState::Up;
    return channels_.empty() ? ChannelState::Down : ChannelState::Handshake;
}

// --- channel events ---------------------------------------------------------

void PairNode::channel_opened(ChannelId id, Millis now, ChannelSide side,
                              ChannelPurpose purpose)
{
    const auto *partner = partner_rp();
    if (!partner) {
        log(LogLevel::Warning, "HA channel refused: " + config_error_);
        host_.close(id);
        return;
    }
    auto ch = std::make_unique<Channel>();
    try {
        ch->tls = std::make_unique<SecureChannel>(side, config_.self, partner->name, config_.key);
    } catch (const std::exception &e) {
        // A crypto library that fails (it should not) refuses the channel,
        // with the reason, rather than take the router down.
        log(LogLevel::Error, std::string("HA channel refused: ") + e.what());
        host_.close(id);
        return;
    }
    ch->id = id;
    ch->opened = ch->last_rx = now;
    ch->side = side;
    if (side == ChannelSide::Connected)
        ch->purpose = purpose;
    auto &ref = *ch;
    channels_[id] = std::move(ch);
    ref.tls->start();  // the connecting side's ClientHello
    flush(ref);
}

// What TLS has to send (handshake messages, records, alerts) goes out now.
void PairNode::flush(Channel &ch)
{
    auto bytes = ch.tls->take_output();
    if (bytes.empty())
        return;
    counters_.bytes_sent += bytes.size();
    host_.send(ch.id, bytes);
}

void PairNode::refused(const std::string &why)
{
    last_refusal_ = why;
    last_refusal_unix_ms_ = host_.wall_clock_ms();
}

// The TLS session failed: count it under its cause and close the channel,
// with a log line that says what happened. What the failure sent (an alert)
// goes to the partner first.
void PairNode::on_security_failure(Channel &ch)
{
    const auto &tls = *ch.tls;
    const bool handshake = ch.stage == Channel::Stage::Tls;
    const auto &partner = partner_rp()->name;
    const std::string who = tls.side() == ChannelSide::Connected
                                ? "rp " + partner
                                : "the process that connected";
    std::string why;
    if (handshake && tls.failure() != SecurityFailure::OldProtocol)
        counters_.tls_handshake_failures++;
    switch (tls.failure()) {
    case SecurityFailure::None:
        return;
    case SecurityFailure::OldProtocol:
        counters_.version_mismatches++;
        why = "protocol version mismatch: " + who +
              " speaks the HA channel without TLS (protocol version 1), this RP speaks " +
              std::to_string(kProtocolVersion) + " (TLS 1.3)";
        break;
    case SecurityFailure::WrongKey:
        counters_.auth_failures++;
        why = "authentication failed: rp " + partner +
              " does not hold this RP's key (check 'bgp ha key' on both): " + tls.failure_text();
        break;
    case SecurityFailure::Reflection:
        counters_.reflections_refused++;
        why = "reflection refused: a connection to rp " + config_.self +
              " claimed to come from rp " + config_.self + " itself";
        break;
    case SecurityFailure::UnknownIdentity:
        counters_.partners_refused++;
        why = "a process calling itself rp '" + tls.identity() + "' connected; the partner of rp " +
              config_.self + " is rp " + partner;
        break;
    case SecurityFailure::RecordIntegrity:
        counters_.records_rejected++;
        why = "record refused: " + tls.failure_text() + "; the channel's stream cannot be trusted";
        break;
    case SecurityFailure::Truncated:
        counters_.truncations++;
        why = tls.failure_text();
        break;
    case SecurityFailure::NotTls:
    case SecurityFailure::HandshakeIntegrity:
    case SecurityFailure::HandshakeFailed:
    case SecurityFailure::PartnerAlert:
    case SecurityFailure::Internal:
        why = std::string(handshake ? "TLS handshake refused: " : "TLS session failed: ") +
              tls.failure_text();
        break;
    }
    close_channel(ch.id, why, LogLevel::Error);
}

void PairNode::channel_bytes(ChannelId id, const void *data, std::size_t len, Millis now)
{
    auto it = channels_.find(id);
    if (it == channels_.end())
        return;
    Channel &ch = *it->second;
    counters_.bytes_received += len;
    // The active's main thread wrote this: a sign of life even on a channel
    // whose handshake will not finish (a busy standby answers too late).
    if (ch.stage != Channel::Stage::Up && progress_.watching && host_.is_partner_process(id))
        sign_of_life(now);
    std::string plain;
    const bool was_established = ch.tls->established();
    const bool ok = ch.tls->receive(data, len, &plain);
    flush(ch);
    if (!was_established && ch.tls->established()) {
        ch.stage = Channel::Stage::AwaitHello;
        wire::Message hello;
        hello.mutable_hello()->set_protocol_version(kProtocolVersion);
        hello.mutable_hello()->set_rp_name(config_.self);
        if (ch.side == ChannelSide::Connected && ch.purpose == ChannelPurpose::Data)
            hello.mutable_hello()->set_purpose(wire::CHANNEL_DATA);
        send(ch, hello);
        if (!channels_.count(id))
            return;
    }
    // What came before a failure passed its integrity check: it counts.
    ch.decoder.feed(plain.data(), plain.size());
    while (auto frame = ch.decoder.next()) {
        counters_.frames_received++;
        ch.last_rx = now;
        on_frame(ch, *frame, now);
        if (!channels_.count(id))
            return;  // closed while handling the frame
    }
    if (!ok) {
        on_security_failure(ch);
        return;
    }
    switch (ch.decoder.error()) {
    case FrameError::None:
        if (ch.tls->partner_closed())
            close_channel(id, "rp " + partner_rp()->name + " closed the channel",
                          LogLevel::Info);
        return;
    case FrameError::VersionMismatch:
        counters_.version_mismatches++;
        close_channel(id,
                      "protocol version mismatch: partner speaks version " +
                          std::to_string(ch.decoder.seen_version()) + ", this RP speaks " +
                          std::to_string(kProtocolVersion),
                      LogLevel::Error);
        return;
    case FrameError::Oversized:
        counters_.oversized_frames++;
        close_channel(id,
                      "oversized frame: " + std::to_string(ch.decoder.seen_length()) +
                          " bytes announced, at most " + std::to_string(kMaxFramePayload) +
                          " allowed",
                      LogLevel::Error);
        return;
    case FrameError::BadMagic:
    case FrameError::UnknownType:
        counters_.malformed_frames++;
        close_channel(id, std::string("malformed frame: ") +
                              std::string(describe(ch.decoder.error())),
                      LogLevel::Error);
        return;
    }
}

void PairNode::channel_closed(ChannelId id, Millis now)
{
    auto it = channels_.find(id);
    if (it == channels_.end())
        return;
    auto &ch = *it->second;
    const auto end = ch.tls->end_of_stream();
    if (end == SecureChannel::End::Truncated) {
        counters_.truncations++;
        refused("HA channel truncated: " + ch.tls->failure_text());
        log(LogLevel::Error, "HA channel closed by the partner in the middle of a TLS record: " +
                                 ch.tls->failure_text() + "; the partial record is dropped");
    } else if (ch.decoder.pending() > 0) {
        counters_.truncations++;
        refused("HA channel truncated in the middle of a frame");
        log(LogLevel::Warning, "HA channel closed by the partner in the middle of a frame (" +
                                   std::to_string(ch.decoder.pending()) +
                                   " bytes of a truncated frame dropped)");
    } else if (end == SecureChannel::End::NoNotify && ch.stage != Channel::Stage::Tls) {
        counters_.closed_without_notify++;
        log(LogLevel::Info, "HA channel ended without TLS close_notify: the partner died or "
                            "the connection was cut");
    }
    const bool was_primary = primary_ && *primary_ == id;
    channels_.erase(it);
    if (data_ && *data_ == id)
        data_channel_closed();
    if (was_primary) {
        primary_.reset();
        counters_.channel_drops++;
        log(LogLevel::Warning, "HA channel to rp " + partner_rp()->name + " lost");
        close_data_channels("the control channel ended");
        on_partner_lost(now);
        evaluate_role(now);  // local mode: the lock tells at once if it died
    }
}

void PairNode::channel_backlog(ChannelId id, std::size_t queued, Millis now)
{
    counters_.backlog_drops++;
    close_channel(id,
                  "partner cannot keep up: " + std::to_string(queued) +
                      " bytes wait to be sent; dropping the channel so that it re-syncs",
                  LogLevel::Warning);
    (void)now;
}

void PairNode::close_channel(ChannelId id, const std::string &why, LogLevel level)
{
    auto it = channels_.find(id);
    if (it == channels_.end())
        return;
    log(level, "HA channel closed: " + why);
    if (level == LogLevel::Error)
        refused(why);
    // A closing end says so (TLS close_notify); a failed session's alert,
    // if any, was already queued.
    it->second->tls->close();
    flush(*it->second);
    const bool was_primary = primary_ && *primary_ == id;
    channels_.erase(it);
    host_.close(id);
    if (data_ && *data_ == id)
        data_channel_closed();
    if (was_primary) {
        primary_.reset();
        counters_.channel_drops++;
        close_data_channels("the control channel ended");
        // The partner may well be alive (we closed): leave the takeover
        // decision to the lock (local) or the detection time (dual-RP).
        on_partner_lost(last_heard_);
    }
}

void PairNode::drop_channels(const std::string &why, Millis now)
{
    std::vector<ChannelId> ids;
    for (const auto &[id, ch] : channels_)
        ids.push_back(id);
    for (auto id : ids)
        close_channel(id, why, LogLevel::Info);
    (void)now;
}

void PairNode::send(Channel &ch, const wire::Message &msg)
{
    std::string payload;
    msg.SerializeToString(&payload);
    counters_.frames_sent++;
    ch.tls->send(encode_frame(FrameType::Control, payload));
    flush(ch);
}

void PairNode::send_status(Channel &ch)
{
    wire::Message msg;
    auto *st = msg.mutable_status();
    st->set_role(to_wire(role_));
    st->set_epoch(epoch_);
    st->set_priority(self_rp() ? self_rp()->priority : 0);
    st->set_ready(ready());
    st->set_not_ready_reason(not_ready_reason());
    if (role_ == Role::Active)
        own_generation_ = session_generation();
    st->set_sync_generation(own_generation_);
    st->set_seq(++status_seq_);
    st->set_io_progress(host_.io_progress());
    st->set_data_channel(!local_mode());
    st->set_stream_protection(!local_mode());
    if (role_ == Role::Active && !local_mode())
        st->set_sessions_unprotected(host_.sessions_unprotected());
    config_sync_.fill_status(*st);
    if (lease_enabled()) {
        if (role_ == Role::Standby && lease_.granting())
            st->set_lease_grantor_ms(lease_.lease_ms());
        // Ask a standby that grants our lease length; an older one (or one
        // that grants another length) is not asked: no lease then.
        const auto clock = host_.lease_clock_ms();
        if (role_ == Role::Active && lease_.holding() && partner_.known &&
            partner_.role == Role::Standby && partner_.lease_grantor_ms == lease_.lease_ms()) {
            const auto req = lease_.request(*clock);
            auto *wr = st->mutable_lease_request();
            wr->set_holder(req.holder);
            wr->set_seq(req.seq);
            wr->set_lease_ms(req.lease_ms);
        }
    }
    send(ch, msg);
    lease_update();
}

void PairNode::broadcast_status()
{
    if (auto *ch = primary())
        send_status(*ch);
}

// --- frames -----------------------------------------------------------------

void PairNode::on_frame(Channel &ch, const Frame &frame, Millis now)
{
    wire::Message msg;
    if (!msg.ParseFromString(frame.payload)) {
        counters_.malformed_frames++;
        close_channel(ch.id, "malformed frame: payload is not a valid HA message",
                      LogLevel::Error);
        return;
    }
    if (ch.stage != Channel::Stage::Up)
        on_handshake(ch, msg, now);
    else if (ch.purpose == ChannelPurpose::Data)
        on_data_message(ch, msg);
    else
        on_message(ch, msg, now);
}

// After the TLS handshake: the partner's HELLO. TLS has proven the key and
// the names (the PSK binds who connected to whom); the HELLO adds the
// protocol version, and a name that must be the one TLS authenticated.
void PairNode::on_handshake(Channel &ch, const wire::Message &msg, Millis now)
{
    const auto &partner = *partner_rp();
    if (!msg.has_hello()) {
        counters_.malformed_frames++;
        close_channel(ch.id, "partner sent a message before its HELLO", LogLevel::Error);
        return;
    }
    const auto &hello = msg.hello();
    if (hello.protocol_version() != kProtocolVersion) {
        counters_.version_mismatches++;
        close_channel(ch.id,
                      "protocol version mismatch: partner speaks version " +
                          std::to_string(hello.protocol_version()) + ", this RP speaks " +
                          std::to_string(kProtocolVersion),
                      LogLevel::Error);
        return;
    }
    if (hello.rp_name() != partner.name) {
        counters_.partners_refused++;
        close_channel(ch.id,
                      "a process calling itself rp '" + hello.rp_name() +
                          "' connected; the partner of rp " + config_.self + " is rp " +
                          partner.name,
                      LogLevel::Error);
        return;
    }
    if (on_data_hello(ch, msg))
        return;
    // The partner's new channel while its old one is only silent (the
    // active keeps a silent standby's channel past the detection time,
    // silence_limit_ms): the partner gave the old one up; so does this RP.
    if (const Channel *old = primary(); old && now > old->last_rx + detection_ms())
        close_channel(old->id,
                      "superseded by rp " + partner.name + "'s new channel (the old one silent for " +
                          std::to_string(now - old->last_rx) + " ms)",
                      LogLevel::Info);
    // Two processes holding the key and the partner's name (a second rp b
    // started by mistake): TLS cannot tell them apart, the pair can.
    if (primary_) {
        counters_.partners_refused++;
        wire::Message bye;
        bye.mutable_goodbye()->set_reason("rp " + partner.name + " is already paired with rp " +
                                          config_.self);
        send(ch, bye);
        close_channel(ch.id,
                      "refused a second rp " + partner.name +
                          ": the pair already has one (another process with the same name?)",
                      LogLevel::Error);
        return;
    }
    ch.stage = Channel::Stage::Up;
    primary_ = ch.id;
    last_heard_ = now;
    counters_.channels_up++;
    partner_ = PartnerView{};
    partner_.up_since_unix_ms = host_.wall_clock_ms();
    sync_state_ = SyncState::None;
    log(LogLevel::Info, "HA channel to rp " + partner.name + " up (" + ch.tls->version() + ", " +
                            ch.tls->cipher() + ", key proven by both)");
    host_.partner_authenticated(ch.id);
    send_status(ch);
}

void PairNode::on_message(Channel &ch, const wire::Message &msg, Millis now)
{
    last_heard_ = now;
    switch (msg.body_case()) {
    case wire::Message::kStatus: {
        const auto &st = msg.status();
        partner_.known = true;
        partner_.role = from_wire(st.role());
        partner_.epoch = st.epoch();
        partner_.priority = st.priority();
        partner_.ready = st.ready();
        partner_.not_ready_reason = st.not_ready_reason();
        partner_.sync_generation = st.sync_generation();
        partner_.lease_grantor_ms = st.lease_grantor_ms();
        partner_.data_channel = st.data_channel();
        partner_.stream_protection = st.stream_protection();
        partner_.sessions_unprotected = st.sessions_unprotected();
        evaluate_role(now);
        watch_progress(st.seq(), st.io_progress(), now);
        if (!channels_.count(ch.id))
            return;
        if (st.has_lease_request())
            on_lease_request(ch, msg);
        if (!channels_.count(ch.id))
            return;
        request_sync_if_needed(ch);
        config_sync_.partner_status(st, role_, partner_.role, now, to_partner(ch.id));
        return;
    }
    case wire::Message::kConfigLine:
    case wire::Message::kConfigAnswer:
    case wire::Message::kConfigSessionEnd:
    case wire::Message::kConfigRequest:
    case wire::Message::kConfigChunk: {
        const auto adoptions = config_sync_.view().adoptions;
        config_sync_.on_message(msg, role_, now, to_partner(ch.id));
        if (config_sync_.view().adoptions != adoptions && channels_.count(ch.id)) {
            // What the bulk sync found missing may be here now: again.
            sync_state_ = SyncState::None;
            request_sync_if_needed(ch);
        }
        return;
    }
    case wire::Message::kSyncRequest:
        if (role_ == Role::Active)
            send_sync(ch);
        return;
    case wire::Message::kSyncBegin:
        sync_state_ = SyncState::Syncing;
        sync_total_ = msg.sync_begin().items();
        sync_received_ = 0;
        sync_problems_.clear();
        return;
    case wire::Message::kSession: {
        if (sync_state_ != SyncState::Syncing)
            return;
        const auto &s = msg.session();
        sync_received_++;
        auto problem = host_.check_session(SessionItem{s.vrf(), s.neighbor(), s.remote_as(), s.state()});
        if (!problem.empty())
            sync_problems_.push_back(std::move(problem));
        return;
    }
    case wire::Message::kSyncEnd:
        if (sync_state_ != SyncState::Syncing)
            return;
        sync_state_ = SyncState::Done;
        synced_generation_ = msg.sync_end().generation();
        log(sync_problems_.empty() ? LogLevel::Info : LogLevel::Warning,
            "bulk sync from rp " + partner_rp()->name + " done: " +
                std::to_string(sync_received_) + " sessions" +
                (sync_problems_.empty() ? ", ready to take over"
                                        : "; not ready: " + sync_problems_.front()));
        broadcast_status();
        return;
    case wire::Message::kSwitchover:
        if (role_ == Role::Active) {
            log(LogLevel::Warning, "ignored a switchover request from rp " +
                                       partner_rp()->name + ": this RP is the active");
            return;
        }
        log(LogLevel::Info, "rp " + partner_rp()->name + " hands over the active role (" +
                                (msg.switchover().link_loss()
                                     ? "its host lost the link towards the peers"
                                     : "planned switchover") +
                                ")");
        pending_ = PendingTakeover{msg.switchover().link_loss() ? SwitchoverReason::LinkLoss
                                                                : SwitchoverReason::Planned,
                                   now, msg.switchover().new_epoch()};
        try_become_active(now);
        return;
    case wire::Message::kLeaseGrant:
        on_lease_grant(msg);
        return;
    case wire::Message::kGoodbye:
        close_channel(ch.id, "partner says: " + msg.goodbye().reason(), LogLevel::Warning);
        return;
    case wire::Message::kHello:
    case wire::Message::BODY_NOT_SET:
    // The streams travel on the data channel (docs/dual-rp.md), never here.
    case wire::Message::kStreamBytes:
    case wire::Message::kStreamConfirm:
    case wire::Message::kStreamSession:
    case wire::Message::kStreamEnd:
    case wire::Message::kStreamImage:
    case wire::Message::kStreamProgress:
    case wire::Message::kStreamProtection:
        counters_.malformed_frames++;
        close_channel(ch.id, "unexpected message on an authenticated channel", LogLevel::Error);
        return;
    }
}

// --- roles ------------------------------------------------------------------

bool PairNode::outranks_partner(bool compare_epochs) const
{
    const auto *self = self_rp();
    const auto *partner = partner_rp();
    if (compare_epochs && epoch_ != partner_.epoch)
        return epoch_ > partner_.epoch;
    if (self->priority != partner_.priority)
        return self->priority > partner_.priority;
    return self->name < partner->name;
}

void PairNode::on_partner_lost(Millis since)
{
    const std::uint32_t unprotected =
        partner_.known && partner_.role == Role::Active ? partner_.sessions_unprotected : 0;
    partner_ = PartnerView{};
    sync_state_ = SyncState::None;
    config_sync_.partner_lost();
    if (role_ == Role::Standby && !pending_) {
        pending_ = PendingTakeover{SwitchoverReason::PartnerLost, since, 0, unprotected};
        lock_busy_logged_ = false;
    }
}

// Dual-RP: how long the partner must stay silent before this standby takes
// over. A silence is a death or a partition (a flapping link, a frozen
// host), and the two look alike from here. When every session's shadow
// could continue it, taking over at once costs the peers nothing either
// way. When some could not (the active was still handing them over),
// taking over ends those sessions even if the active lives on, so a
// shorter partition is given the time to heal: twice the detection time.
Millis PairNode::takeover_silence_ms()
{
    if (!pending_->partner_unprotected)
        return detection_ms();
    if (!pending_->longer_wait_logged) {
        pending_->longer_wait_logged = true;
        log(LogLevel::Info,
            "rp " + partner_rp()->name + " lost while " +
                std::to_string(pending_->partner_unprotected) +
                " of its sessions were not protected by this RP: taking over after " +
                std::to_string(2 * detection_ms()) +
                " ms of silence (twice the detection time), so that a partner back by then keeps them");
    }
    return 2 * detection_ms();
}

void PairNode::evaluate_role(Millis now)
{
    if (role_ == Role::Active) {
        // Two actives (a healed split in dual-RP mode): the lower one yields.
        if (primary_ && partner_.known && partner_.role == Role::Active &&
            !outranks_partner(true)) {
            log(LogLevel::Warning, "rp " + partner_rp()->name + " is active at epoch " +
                                       std::to_string(partner_.epoch) +
                                       " and outranks this RP (epoch " +
                                       std::to_string(epoch_) + "): stepping down");
            step_down(now);
            become_standby(partner_.epoch, now);
        }
        return;
    }
    if (pending_ && pending_->reason == SwitchoverReason::PartnerLost && primary_ &&
        partner_.known && partner_.role == Role::Active) {
        pending_.reset();  // the partner is back, and active
        lease_wait_since_.reset();
    }
    if (pending_) {
        try_become_active(now);
        return;
    }
    if (primary_ && partner_.known) {
        if (partner_.role == Role::Active) {
            if (role_ != Role::Standby || epoch_ != partner_.epoch)
                become_standby(partner_.epoch, now);
            return;
        }
        // Nobody is active: the better RP takes the role, the other waits.
        // A partner's STATUS from an older epoch than this RP's was sent
        // before it read this RP's planned switchover to it: it says
        // nothing about now (its next STATUS will, or its silence).
        if (partner_.epoch < epoch_)
            return;
        if (outranks_partner(false))
            try_become_active(now);
        return;
    }
    if (!primary_ && role_ == Role::Init && now >= init_deadline_)
        try_become_active(now);
}

bool PairNode::try_become_active(Millis now)
{
    if (pending_ && !local_mode() && pending_->reason == SwitchoverReason::PartnerLost) {
        // This RP itself stalled (frozen, or its thread busy) for longer
        // than the detection time (tick() notes when it ran again): the
        // partner's silence meanwhile proves nothing. It gets a detection
        // time from then to be heard again.
        const Millis silent_since = std::max(pending_->since, progress_.own_resumed);
        if (now < silent_since + takeover_silence_ms())
            return false;  // dual-RP: silence must last the detection time (or twice)
        if (!lease_allows_takeover(now))
            return false;  // and every lease this RP granted must be over
    }
    auto stored = host_.acquire_ownership();
    if (!stored) {
        if (!lock_busy_logged_)
            log(LogLevel::Warning,
                "another RP holds the ownership lock: this RP stays " +
                    std::string(name_of(role_ == Role::Init ? Role::Init : Role::Standby)));
        lock_busy_logged_ = true;
        return false;
    }
    lock_busy_logged_ = false;
    const auto previous = role_;
    progress_.watching = false;
    if (fence_since_) {
        // The lock is free: the fenced partner is gone.
        auto &rec = fences_.back();
        if (!rec.partner_died) {
            rec.partner_died = true;
            rec.died_after_ms = static_cast<std::uint32_t>(now - *fence_since_);
        }
        rec.took_over = true;
        rec.active_after_ms = static_cast<std::uint32_t>(now - *fence_since_);
        fence_since_.reset();
    }
    std::uint64_t epoch = std::max({*stored, epoch_, partner_.epoch}) + 1;
    if (pending_ && pending_->epoch > epoch)
        epoch = pending_->epoch;
    epoch_ = epoch;
    host_.store_epoch(epoch_);
    role_ = Role::Active;
    config_sync_.role_changed(role_);
    // Nobody to ask yet: it writes without a lease until it asks.
    lease_role_changed();
    host_.role_changed(Role::Active, epoch_);
    const std::string lease_wait =
        lease_wait_since_ ? "; waited " + std::to_string(lease_.view(0).last_takeover_wait_ms) +
                                " ms past the detection time for the lease it granted to expire"
                          : std::string();
    lease_wait_since_.reset();
    if (previous == Role::Standby && pending_) {
        SwitchoverRecord rec;
        rec.epoch = epoch_;
        rec.reason = pending_->reason;
        rec.at_unix_ms = host_.wall_clock_ms();
        rec.duration_ms = static_cast<std::uint32_t>(now >= pending_->since ? now - pending_->since : 0);
        switchovers_.push_back(rec);
        counters_.switchovers++;
        log(LogLevel::Info, "switchover: this RP is now active at epoch " +
                                std::to_string(epoch_) + " (" +
                                std::string(name_of(rec.reason)) + ", " +
                                std::to_string(rec.duration_ms) + " ms)" + lease_wait);
    } else {
        log(LogLevel::Info, "this RP is active at epoch " + std::to_string(epoch_));
    }
    pending_.reset();
    sync_state_ = SyncState::None;
    broadcast_status();
    return true;
}

void PairNode::become_standby(std::uint64_t epoch, Millis now)
{
    (void)now;
    epoch_ = std::max(epoch_, epoch);
    if (role_ != Role::Standby) {
        role_ = Role::Standby;
        config_sync_.role_changed(role_);
        host_.role_changed(Role::Standby, epoch_);
        lease_role_changed();
        log(LogLevel::Info, "this RP is standby of rp " + partner_rp()->name + " at epoch " +
                                std::to_string(epoch_));
    }
    broadcast_status();
}

void PairNode::step_down(Millis now)
{
    (void)now;
    role_ = Role::Standby;
    config_sync_.role_changed(role_);
    // Hold the peers before anything else: from here on this RP writes to
    // no peer session.
    host_.role_changed(Role::Standby, epoch_);
    lease_role_changed();
    host_.release_ownership();
    sync_state_ = SyncState::None;
}

std::string PairNode::override_lease(Millis now)
{
    if (!lease_enabled())
        return "no lease binds this RP (local mode)";
    if (role_ != Role::Active)
        return "this RP is " + std::string(name_of(role_)) +
               ": only a silent active's lease can be overridden";
    if (primary())
        return "the channel to rp " + partner_rp()->name +
               " is up: its grants decide (clear the channel first if it must not)";
    if (!lease_.silent())
        return "the lease has not lapsed: this RP writes to peers";
    lease_.override_lapse();
    log(LogLevel::Warning,
        "lease overridden by the operator: writing to peers without a lease until a standby "
        "pairs again; if rp " + partner_rp()->name +
            " is alive and took over, both now write to the same sessions");
    lease_update();
    (void)now;
    return "";
}

std::string PairNode::request_switchover(Millis now, SwitchoverReason reason)
{
    if (role_ != Role::Active)
        return "this RP is " + std::string(name_of(role_)) + ": run the switchover on the active";
    auto *ch = primary();
    if (!ch)
        return "no standby connected";
    if (partner_.role != Role::Standby || !partner_.ready)
        return "standby not ready: " +
               (partner_.not_ready_reason.empty() ? std::string("it has not said it is ready")
                                                  : partner_.not_ready_reason);
    if (config_sync_.view().state != ConfigState::InStep)
        return "the standby's configuration is not this RP's (generation " +
               std::to_string(config_sync_.view().partner_generation) + " there, " +
               std::to_string(config_sync_.view().generation) + " here): " +
               (config_sync_.view().last_problem.empty() ? std::string("comparing")
                                                         : config_sync_.view().last_problem);
    const auto new_epoch = epoch_ + 1;
    const bool link_loss = reason == SwitchoverReason::LinkLoss;
    log(link_loss ? LogLevel::Warning : LogLevel::Info,
        std::string(link_loss ? "switchover on link loss (" + link_lost_ + ")" : "planned switchover") +
            ": handing the active role to rp " + partner_rp()->name + " at epoch " +
            std::to_string(new_epoch));
    epoch_ = new_epoch;
    step_down(now);
    wire::Message msg;
    msg.mutable_switchover()->set_new_epoch(new_epoch);
    msg.mutable_switchover()->set_link_loss(link_loss);
    send(*ch, msg);
    send_status(*ch);
    return {};
}

// --- readiness and bulk sync --------------------------------------------------

bool PairNode::ready() const
{
    return not_ready_reason().empty();
}

std::string PairNode::not_ready_reason() const
{
    if (!config_error_.empty())
        return "configuration: " + config_error_;
    // Ready means ready to take over: the active has nothing to take.
    if (role_ == Role::Active)
        return "this RP is the active";
    if (!primary_)
        return channels_.empty() ? "no channel to the partner" : "channel handshake in progress";
    if (partner_.role != Role::Active)
        return "partner is not active";
    // No sync makes up for it: the peers cannot be reached from here.
    if (!link_lost_.empty())
        return "the service interface " + link_lost_ + " has no link on this host";
    if (sync_state_ == SyncState::None)
        return "bulk sync not started";
    if (sync_state_ == SyncState::Syncing)
        return "bulk sync in progress (" + std::to_string(sync_received_) + "/" +
               std::to_string(sync_total_) + ")";
    if (auto why = config_sync_.not_ready_reason(); !why.empty())
        return why;
    if (synced_generation_ != partner_.sync_generation)
        return "the active's sessions changed since the last sync";
    if (!sync_problems_.empty())
        return sync_problems_.front() +
               (sync_problems_.size() > 1
                    ? " (and " + std::to_string(sync_problems_.size() - 1) + " more)"
                    : std::string());
    return host_.shadows_not_ready();
}

std::uint64_t PairNode::session_generation()
{
    // A digest of what a standby checks: which sessions exist, and their AS.
    std::uint64_t h = 1469598103934665603ull;
    auto mix = [&h](const std::string &s) {
        h ^= std::hash<std::string>{}(s);
        h *= 1099511628211ull;
    };
    auto sessions = host_.owned_sessions();
    for (const auto &s : sessions) {
        mix(s.vrf);
        mix(s.neighbor);
        mix(std::to_string(s.remote_as));
    }
    return h == 0 ? 1 : h;
}

void PairNode::send_sync(Channel &ch)
{
    own_generation_ = session_generation();
    auto sessions = host_.owned_sessions();
    wire::Message begin;
    begin.mutable_sync_begin()->set_generation(own_generation_);
    begin.mutable_sync_begin()->set_items(static_cast<std::uint32_t>(sessions.size()));
    send(ch, begin);
    for (const auto &s : sessions) {
        wire::Message item;
        auto *si = item.mutable_session();
        si->set_vrf(s.vrf);
        si->set_neighbor(s.neighbor);
        si->set_remote_as(s.remote_as);
        si->set_state(s.state);
        send(ch, item);
    }
    wire::Message end;
    end.mutable_sync_end()->set_generation(own_generation_);
    send(ch, end);
}

void PairNode::request_sync_if_needed(Channel &ch)
{
    if (role_ != Role::Standby || partner_.role != Role::Active ||
        sync_state_ == SyncState::Syncing)
        return;
    if (sync_state_ == SyncState::Done && synced_generation_ == partner_.sync_generation)
        return;
    wire::Message req;
    req.mutable_sync_request()->set_epoch(epoch_);
    sync_state_ = SyncState::Syncing;
    sync_received_ = sync_total_ = 0;
    send(ch, req);
}

// --- one configuration (config_sync.hpp) ----------------------------------------

ConfigSync::Send PairNode::to_partner(ChannelId id)
{
    return [this, id](const wire::Message &msg) {
        auto it = channels_.find(id);
        if (it != channels_.end())
            send(*it->second, msg);
    };
}

std::optional<std::uint64_t> PairNode::forward_config_line(std::uint64_t session,
                                                           const std::string &line,
                                                           std::string *why_not)
{
    auto *ch = primary();
    return config_sync_.forward(session, line,
                                ch ? to_partner(ch->id) : ConfigSync::Send([](const auto &) {}),
                                why_not);
}

void PairNode::end_config_session(std::uint64_t session)
{
    if (auto *ch = primary())
        config_sync_.end_session(session, to_partner(ch->id));
}

// --- time ---------------------------------------------------------------------

void PairNode::tick(Millis now)
{
    // Silent channels: a partner that says nothing for the detection time is
    // gone (or was never there: a connection that does not finish its
    // handshake).
    std::vector<std::tuple<ChannelId, bool, Millis>> silent;
    for (const auto &[id, ch] : channels_) {
        // A data channel speaks only when there are streams: its life is
        // the control channel's, which ends it.
        if (ch->purpose == ChannelPurpose::Data && ch->stage == Channel::Stage::Up)
            continue;
        const Millis limit = silence_limit_ms(*ch);
        if (now > ch->last_rx + limit)
            silent.emplace_back(id, ch->stage == Channel::Stage::Up, limit);
    }
    for (auto [id, was_up, limit] : silent) {
        if (!was_up)
            counters_.handshake_timeouts++;
        close_channel(id,
                      was_up ? "partner silent for more than " + std::to_string(limit) + " ms"
                             : "partner did not complete the handshake within " +
                                   std::to_string(detection_ms()) + " ms",
                      LogLevel::Warning);
    }
    if (last_tick_) {
        const Millis gap = now - last_tick_;
        max_own_tick_gap_ms_ = std::max(max_own_tick_gap_ms_, static_cast<std::uint32_t>(gap));
        if (gap > detection_ms())
            progress_.own_resumed = now;
    }
    last_tick_ = now;
    evaluate_role(now);
    check_progress(now);
    broadcast_status();
    lease_update();
}

// --- a hung active (local mode) ----------------------------------------------------

// A STATUS from the partner: while it is the active and this RP its
// standby, note when it came and whether the I/O counter moved. The times
// are arrival times: a standby that was itself busy reads what queued up
// meanwhile before it judges (the host drains the channel before a tick),
// so its own stalls never count against the active.
void PairNode::watch_progress(std::uint64_t seq, std::uint64_t io_progress, Millis now)
{
    if (role_ != Role::Standby || partner_.role != Role::Active) {
        progress_.watching = false;
        return;
    }
    if (!progress_.watching) {
        progress_ = PartnerProgress{};
        progress_.watching = true;
        progress_.last_heartbeat = progress_.last_status = progress_.last_io_advance = now;
    }
    const Millis since_status = now - progress_.last_status;
    sign_of_life(now);
    progress_.heartbeats++;
    progress_.last_seq = seq;
    progress_.last_status = now;
    if (io_progress != 0) {
        if (!progress_.io_reported || io_progress != progress_.io_progress) {
            if (progress_.io_reported) {
                const auto stall = static_cast<std::uint32_t>(now - progress_.last_io_advance);
                progress_.max_io_stall_ms = std::max(progress_.max_io_stall_ms, stall);
            }
            progress_.last_io_advance = now;
        } else if (since_status > detection_ms()) {
            // The main thread (or the whole process) paused: a counter
            // that did not move across the pause proves nothing yet.
            progress_.last_io_advance = now;
        }
        progress_.io_reported = true;
        progress_.io_progress = io_progress;
    } else {
        progress_.io_reported = false;  // an older partner: heartbeats only
    }
    if (fence_tried_ && !fence_since_) {
        log(LogLevel::Info, "rp " + partner_rp()->name + " makes progress again");
        fence_tried_ = false;
    }
}

// The active's main thread ran: a STATUS, or its HELLO on a new channel.
void PairNode::sign_of_life(Millis now)
{
    const auto gap = static_cast<std::uint32_t>(now - progress_.last_heartbeat);
    progress_.max_heartbeat_gap_ms = std::max(progress_.max_heartbeat_gap_ms, gap);
    progress_.last_heartbeat = now;
}

void PairNode::check_progress(Millis now)
{
    const Millis limit = hang_detection_ms();
    if (!progress_.watching || role_ != Role::Standby || limit == 0 || !local_mode() ||
        fence_tried_)
        return;
    const Millis silent = now - std::max(progress_.last_heartbeat, progress_.own_resumed);
    // Only what STATUS frames showed: the counter unchanged from the first
    // to the last of a run of them.
    const Millis io_still = progress_.last_status - progress_.last_io_advance;
    if (silent > limit)
        fence("no heartbeat for " + std::to_string(silent) + " ms", now);
    else if (progress_.io_reported && io_still > limit)
        fence("I/O thread made no progress for " + std::to_string(io_still) + " ms", now);
}

void PairNode::fence(const std::string &reason, Millis now)
{
    const auto &name = partner_rp()->name;
    fence_tried_ = true;
    FenceRecord rec;
    rec.at_unix_ms = host_.wall_clock_ms();
    rec.reason = reason;
    auto result = host_.fence_partner();
    rec.pid = result.pid;
    rec.error = result.error;
    fences_.push_back(rec);
    if (result.pid == 0) {
        log(LogLevel::Error, "rp " + name + " is hung (" + reason + ") but cannot be fenced: " +
                                 result.error + "; this RP stays standby");
        return;
    }
    log(LogLevel::Warning, "rp " + name + " is hung (" + reason + "): killed its process " +
                               std::to_string(result.pid) +
                               "; this RP takes over once it is gone");
    fence_since_ = now;
    pending_ = PendingTakeover{SwitchoverReason::PartnerHung, now, 0};
    lock_busy_logged_ = true;  // the lock stays busy until the process is gone
    try_become_active(now);
}

void PairNode::partner_exited(Millis now)
{
    if (!fence_since_)
        return;  // died on its own: the channel's EOF and the lock handle it
    auto &rec = fences_.back();
    if (!rec.partner_died) {
        rec.partner_died = true;
        rec.died_after_ms = static_cast<std::uint32_t>(now - *fence_since_);
        log(LogLevel::Info, "fenced process " + std::to_string(rec.pid) + " is gone, " +
                                std::to_string(rec.died_after_ms) + " ms after the hang was detected");
    }
    if (role_ == Role::Active)
        return;
    if (!pending_ || pending_->reason != SwitchoverReason::PartnerHung)
        pending_ = PendingTakeover{SwitchoverReason::PartnerHung, *fence_since_, 0};
    try_become_active(now);
}

void PairNode::partner_died(Millis now)
{
    if (role_ != Role::Standby)
        return;
    log(LogLevel::Info, "rp " + partner_rp()->name + " died: taking over before its exit is over");
    if (!pending_)
        pending_ = PendingTakeover{SwitchoverReason::PartnerLost, now, 0};
    drop_channels("rp " + partner_rp()->name + " died", now);
    evaluate_role(now);
}

// --- the lease (dual-RP mode: pair_lease.hpp, docs/dual-rp.md) -------------------

bool PairNode::lease_enabled() const
{
    return !local_mode() && config_error_.empty() && lease_.problem().empty() &&
           host_.lease_clock_ms().has_value();
}

// A new holder for an active (nobody asked yet: it writes without a lease),
// a new grantor for a standby (nothing granted: no promise to keep).
void PairNode::lease_role_changed()
{
    if (!lease_enabled())
        return;
    if (role_ == Role::Active)
        lease_.start_holding();
    else if (role_ == Role::Standby)
        lease_.start_granting();
    else
        lease_.stop();
    lease_update();
}

// The active's deadline and silence to the host, and a timer for the
// deadline when it falls between ticks.
void PairNode::lease_update()
{
    if (!lease_enabled())
        return;
    const Millis now = *host_.lease_clock_ms();
    // While standby it stays as it was: a leaving active stays silent until
    // it is active again (the role holds the sessions meanwhile).
    if (role_ == Role::Active) {
        const Millis deadline = lease_.deadline();
        if (deadline != lease_deadline_) {
            lease_deadline_ = deadline;
            host_.lease_deadline(deadline);
        }
        if (auto silent = lease_.update_silence(now)) {
            if (*silent)
                log(LogLevel::Warning,
                    lease_.view(now).grants_received == 0
                        ? "lease: asked rp " + partner_rp()->name +
                              " for a lease, none granted yet: writing to no peer until one is"
                        : "lease lapsed: no grant from rp " + partner_rp()->name +
                              " renewed it; writing to no peer (sessions kept) until one does "
                              "or the pair's epochs say who is active");
            else
                log(LogLevel::Info, lease_.asked() ? "lease granted by rp " + partner_rp()->name +
                                                         ": writing to peers again"
                                                   : "lease: no lease binds this RP now: "
                                                     "writing to peers again");
            host_.lease_lapsed(*silent);
        }
        if (deadline != PairLease::kNoDeadline && deadline > now)
            host_.lease_timer(deadline - now);
    } else if (lease_.silent() && lease_.update_silence(now)) {
        log(LogLevel::Info, "lease: no longer bound (this RP is not the active)");
    }
}

void PairNode::lease_timer(Millis now)
{
    lease_update();
    if (pending_)
        evaluate_role(now);
}

bool PairNode::may_write() const
{
    if (!lease_enabled() || role_ != Role::Active || !lease_.holding())
        return true;
    return lease_.may_write(*host_.lease_clock_ms());
}

LeaseView PairNode::lease_view() const
{
    if (local_mode()) {
        LeaseView v;
        v.note = "local mode: the ownership lock fences the active";
        return v;
    }
    if (!host_.lease_clock_ms()) {
        LeaseView v;
        v.note = "this host has no lease clock";
        return v;
    }
    if (!lease_.problem().empty()) {
        LeaseView v;
        v.note = "no lease: " + lease_.problem();
        return v;
    }
    auto v = lease_.view(*host_.lease_clock_ms());
    const std::string partner = partner_rp() ? partner_rp()->name : std::string("partner");
    if (v.role == "holder" && !v.in_force) {
        if (!partner_.known || partner_.role != Role::Standby)
            v.note = "no standby to ask: writing without a lease";
        else if (partner_.lease_grantor_ms == 0)
            v.note = "rp " + partner + " grants no lease (an older version): writing without one";
        else if (partner_.lease_grantor_ms != lease_.lease_ms())
            v.note = "rp " + partner + " grants a " + std::to_string(partner_.lease_grantor_ms) +
                     " ms lease, this RP needs " + std::to_string(lease_.lease_ms()) +
                     " ms: writing without one";
    } else if (v.role == "grantor" && !v.in_force) {
        v.note = "nothing granted: a takeover waits for no lease";
    } else if (v.role == "none") {
        v.note = "this RP is " + std::string(name_of(role_));
    }
    return v;
}

// The standby answers each request at once.
void PairNode::on_lease_request(Channel &ch, const wire::Message &msg)
{
    if (!lease_enabled())
        return;  // behaves as an older RP: it never said it grants
    const auto &req = msg.status().lease_request();
    const Millis now = *host_.lease_clock_ms();
    if (role_ != Role::Standby || !lease_.granting()) {
        lease_.refused("lease request " + std::to_string(req.seq()) + " refused: this RP is " +
                       std::string(name_of(role_)));
        return;
    }
    auto granted = lease_.grant(LeaseRequest{req.holder(), req.seq(), req.lease_ms()}, now);
    if (!granted)
        return;  // counted; the active's lease runs out on its own
    wire::Message reply;
    auto *g = reply.mutable_lease_grant();
    g->set_holder(granted->holder);
    g->set_seq(granted->seq);
    g->set_lease_ms(granted->lease_ms);
    send(ch, reply);
}

void PairNode::on_lease_grant(const wire::Message &msg)
{
    if (!lease_enabled() || role_ != Role::Active || !lease_.holding())
        return;
    const auto &g = msg.lease_grant();
    lease_.on_grant(LeaseGrant{g.holder(), g.seq(), g.lease_ms()}, *host_.lease_clock_ms());
    lease_update();
}

// After the detection time: a standby that granted a lease waits until
// every grant has expired, then grants no more.
bool PairNode::lease_allows_takeover(Millis now)
{
    (void)now;
    if (!lease_enabled() || !lease_.granting() || !lease_.binds_takeover())
        return true;
    const Millis lnow = *host_.lease_clock_ms();
    if (!lease_wait_since_) {
        lease_wait_since_ = lnow;
        if (!lease_.may_take_over(lnow))
            log(LogLevel::Info, "rp " + partner_rp()->name + " lost: taking over once the lease " +
                                    "this RP granted expires, in " +
                                    std::to_string(lease_.promised_until() - lnow) + " ms");
    }
    if (!lease_.may_take_over(lnow)) {
        host_.lease_timer(lease_.promised_until() - lnow);
        return false;
    }
    const auto waited = static_cast<std::uint32_t>(lnow - *lease_wait_since_);
    auto done = lease_.take_over(lnow, waited);
    if (!done) {
        log(LogLevel::Error, "lease: cannot take over: " + done.why());
        return false;
    }
    return true;
}

void PairNode::reconfigure(PairConfig config, Millis now)
{
    const auto *old_partner = partner_rp();
    const std::string old_address = old_partner ? old_partner->address : std::string();
    config_ = std::move(config);
    config_error_ = config_problem(config_);
    lease_.reconfigure(lease_defaults(config_.interval_ms, config_.multiplier));
    lease_update();
    const auto *partner = partner_rp();
    if (!partner || partner->address != old_address)
        drop_channels("HA configuration changed", now);
}

}  // namespace frr_ha
