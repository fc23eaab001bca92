// The extern "C" pair node: PairNode over the C glue's callbacks. Shared by
// the files of the C boundary (c_api_pair.cpp, c_api_config.cpp).
#pragma once

#include "frr_ha/pair.h"

#include "c_api_text.hpp"
#include "cross_host_streams.hpp"
#include "pair_node.hpp"

#include <algorithm>
#include <cstdio>

namespace frr_ha {

// Conversions between the C structs and the core's types (c_api_pair.cpp).
PairConfig to_core(const frr_ha_pair_config &c);
frr_ha_role to_c(Role role);
frr_ha_log_level to_c(LogLevel level);

// PairHost implemented by the C glue's callbacks.
class CHost final : public PairHost {
public:
    CHost(const frr_ha_host_ops &ops, void *ctx) : ops_(ops), ctx_(ctx) {}

    void send(ChannelId ch, const std::string &bytes) override
    {
        ops_.send(ctx_, ch, bytes.data(), bytes.size());
    }
    void close(ChannelId ch) override { ops_.close(ctx_, ch); }
    std::optional<std::uint64_t> acquire_ownership() override
    {
        std::uint64_t epoch = 0;
        if (!ops_.acquire_ownership(ctx_, &epoch))
            return std::nullopt;
        return epoch;
    }
    void store_epoch(std::uint64_t epoch) override { ops_.store_epoch(ctx_, epoch); }
    void release_ownership() override { ops_.release_ownership(ctx_); }
    void role_changed(Role role, std::uint64_t epoch) override
    {
        // The streams across hosts belong to one pair of roles.
        if (cross_ && role != Role::Active)
            cross_->end_relays("this RP is no longer active");
        if (cross_ && role != Role::Standby)
            cross_->end_receivers("this RP is no longer standby", role == Role::Active);
        ops_.role_changed(ctx_, to_c(role), epoch);
    }
    std::vector<SessionItem> owned_sessions() override
    {
        std::vector<SessionItem> out;
        ops_.owned_sessions(
            ctx_,
            [](void *sink, const frr_ha_session_item *item) {
                static_cast<std::vector<SessionItem> *>(sink)->push_back(SessionItem{
                    item->vrf, item->neighbor, item->remote_as, item->state});
            },
            &out);
        return out;
    }
    std::string check_session(const SessionItem &item) override
    {
        frr_ha_session_item c{item.vrf.c_str(), item.neighbor.c_str(), item.remote_as,
                              item.state.c_str()};
        char why[FRR_HA_TEXT_MAX] = "";
        if (ops_.check_session(ctx_, &c, why, sizeof(why)))
            return {};
        return why[0] ? why : "session " + item.neighbor + " cannot be taken over";
    }
    void log(LogLevel level, const std::string &text) override
    {
        ops_.log(ctx_, to_c(level), text.c_str());
    }
    std::int64_t wall_clock_ms() override { return ops_.wall_clock_ms(ctx_); }
    std::uint64_t io_progress() override
    {
        return ops_.io_progress ? ops_.io_progress(ctx_) : 0;
    }
    void partner_authenticated(ChannelId ch) override
    {
        // The partner is back on the control channel: it may grant this
        // RP's lease, or this RP its own, before any data channel is up.
        if (cross_)
            cross_->partner_back();
        if (ops_.partner_authenticated)
            ops_.partner_authenticated(ctx_, ch);
    }
    bool is_partner_process(ChannelId ch) override
    {
        return ops_.is_partner_process && ops_.is_partner_process(ctx_, ch);
    }
    FenceResult fence_partner() override
    {
        if (!ops_.fence_partner)
            return {0, "this host cannot fence"};
        char why[FRR_HA_TEXT_MAX] = "";
        int pid = ops_.fence_partner(ctx_, why, sizeof(why));
        return {pid > 0 ? pid : 0, pid > 0 ? std::string() : std::string(why)};
    }

    std::string running_config() override
    {
        std::string text;
        if (ops_.running_config)
            ops_.running_config(ctx_, append, &text);
        return text;
    }
    ConfigRun run_config_line(std::uint64_t session, const std::string &line) override
    {
        if (!ops_.run_config_line)
            return PairHost::run_config_line(session, line);
        ConfigRun run;
        run.accepted = ops_.run_config_line(ctx_, session, line.c_str(), append, &run.output);
        return run;
    }
    void end_config_session(std::uint64_t session) override
    {
        if (ops_.end_config_session)
            ops_.end_config_session(ctx_, session);
    }

    std::optional<Millis> lease_clock_ms() override
    {
        if (!ops_.lease_clock_ms)
            return std::nullopt;
        return ops_.lease_clock_ms(ctx_);
    }
    void lease_deadline(Millis until) override
    {
        if (ops_.lease_deadline)
            ops_.lease_deadline(ctx_, until);
    }
    void lease_lapsed(bool silent) override
    {
        if (ops_.lease_lapsed)
            ops_.lease_lapsed(ctx_, silent);
    }
    void lease_timer(Millis in_ms) override
    {
        if (ops_.lease_timer)
            ops_.lease_timer(ctx_, static_cast<std::uint32_t>(std::min<Millis>(in_ms, 3600000)));
    }

    // Dual-RP: the sessions' streams (frr_ha_node's, set once it is built).
    void set_cross_host(CrossHostStreams *cross) { cross_ = cross; }
    std::string shadows_not_ready() override { return cross_ ? cross_->shadows_behind() : ""; }
    std::uint32_t sessions_unprotected() override
    {
        return ops_.sessions_unprotected ? ops_.sessions_unprotected(ctx_) : 0;
    }
    void data_channel_changed(bool up) override
    {
        if (cross_ && !up) {
            cross_->end_relays("the data channel to the partner went down", true);
            cross_->end_receivers("the data channel to the partner went down", true);
        }
        // The partner is back and did not take over (else this RP's lease
        // lapsed and it steps down): the cut sessions go on unprotected,
        // and are handed over again.
        if (cross_ && up) {
            cross_->release_cut("the data channel came back");
            cross_->partner_back();
        }
    }
    void stream_chunk(const StreamChunk &chunk) override
    {
        if (cross_)
            cross_->on_chunk(chunk);
    }
    void stream_ack(const StreamAck &ack) override
    {
        if (cross_)
            cross_->on_ack(ack);
    }
    void stream_session(const StreamSessionInfo &info) override
    {
        if (cross_)
            cross_->on_session(info);
    }
    void stream_end(const StreamEnd &end) override
    {
        if (cross_)
            cross_->on_end(end);
    }
    void stream_image(const SessionImage &image) override
    {
        if (cross_)
            cross_->on_image(image);
    }
    void stream_progress(const SessionProgress &progress) override
    {
        if (cross_)
            cross_->on_progress(progress);
    }
    void stream_protection(const StreamProtection &p) override
    {
        if (cross_)
            cross_->on_protection(p);
    }
    void stream_refused(std::uint64_t session, const std::string &why) override
    {
        if (cross_)
            cross_->refused(session, why);
    }
    void stream_relay_changed(std::uint64_t session)
    {
        if (ops_.stream_relay_changed)
            ops_.stream_relay_changed(ctx_, session);
    }
    void stream_receiver_changed(std::uint64_t session)
    {
        if (ops_.stream_receiver_changed)
            ops_.stream_receiver_changed(ctx_, session);
    }
    void privileged(const std::function<void()> &call) { run_through(ops_.privileged, call); }
    // Runs `call` through a C host's privileged(call, arg) (none: as it is).
    static void run_through(void (*privileged)(void (*)(void *), void *),
                            const std::function<void()> &call)
    {
        if (!privileged) {
            call();
            return;
        }
        privileged([](void *c) { (*static_cast<const std::function<void()> *>(c))(); },
                   const_cast<std::function<void()> *>(&call));
    }

private:
    static void append(void *sink, const char *text, std::size_t len)
    {
        static_cast<std::string *>(sink)->append(text, len);
    }

    frr_ha_host_ops ops_;
    void *ctx_;
    CrossHostStreams *cross_ = nullptr;
};

}  // namespace frr_ha


struct frr_ha_node {
    frr_ha_node(const frr_ha_host_ops &ops, void *ctx, const frr_ha_pair_config &cfg,
                std::uint64_t now)
        : host(ops, ctx),
          node(host, frr_ha::to_core(cfg), now),
          cross(frr_ha::CrossHostStreams::Channel{
                    [this](const frr_ha::StreamSessionInfo &m) { return node.send_stream(m); },
                    [this](const frr_ha::StreamChunk &m) { return node.send_stream(m); },
                    [this](const frr_ha::StreamAck &m) { return node.send_stream(m); },
                    [this](const frr_ha::StreamEnd &m) { return node.send_stream(m); },
                    [this](const frr_ha::SessionImage &m) { return node.send_stream(m); },
                    [this](const frr_ha::SessionProgress &m) { return node.send_stream(m); },
                    [this](const frr_ha::StreamProtection &m) { return node.send_stream(m); }},
                frr_ha::CrossHostStreams::Host{
                    [this](std::uint64_t session) { host.stream_relay_changed(session); },
                    [this](std::uint64_t session) { host.stream_receiver_changed(session); },
                    [this](frr_ha::LogLevel level, const std::string &text) {
                        host.log(level, text);
                    },
                    [this](const std::function<void()> &call) { host.privileged(call); }})
    {
        host.set_cross_host(&cross);
    }
    ~frr_ha_node()
    {
        cross.set_hold(nullptr);
        host.set_cross_host(nullptr);
    }
    frr_ha::CHost host;
    frr_ha::PairNode node;
    frr_ha::CrossHostStreams cross;  // dual-RP: the sessions' streams
    std::unique_ptr<frr_ha::AckHold> hold;  // dual-RP active: the hold, once started
};

