// PairNode against PairNode: two RPs wired back to back in memory. The
// harness plays the glue's part: it carries bytes, runs the clock, and keeps
// the ownership lock as the kernel keeps a flock (local mode: one lock for
// both; dual-RP: one per host). Shared by test_pair_node.cpp,
// test_config_sync.cpp and test_pair_data_channel.cpp.
#pragma once

#include <catch2/catch.hpp>

#include "frame_codec.hpp"
#include "ha_channel.pb.h"
#include "pair_node.hpp"
#include "secure_channel.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <set>

using namespace frr_ha;

namespace {

const std::string kKey = "0123456789abcdef0123";

struct Lock {
    int owner = -1;
    std::uint64_t epoch = 0;
};

struct Wire;

class TestHost final : public PairHost {
public:
    TestHost(int id, Lock &lock, Wire &wire) : id_(id), lock_(&lock), wire_(wire) {}

    void send(ChannelId ch, const std::string &bytes) override;
    void close(ChannelId ch) override;
    std::optional<std::uint64_t> acquire_ownership() override
    {
        if (lock_->owner != -1 && lock_->owner != id_)
            return std::nullopt;
        lock_->owner = id_;
        return lock_->epoch;
    }
    void store_epoch(std::uint64_t epoch) override { lock_->epoch = epoch; }
    void release_ownership() override
    {
        if (lock_->owner == id_)
            lock_->owner = -1;
    }
    void role_changed(Role role, std::uint64_t) override { roles.push_back(role); }
    std::vector<SessionItem> owned_sessions() override { return sessions; }
    std::string check_session(const SessionItem &item) override
    {
        return known_neighbors.count(item.neighbor)
                   ? ""
                   : "neighbor " + item.neighbor + " is not configured on this RP";
    }
    void log(LogLevel, const std::string &text) override { logs.push_back(text); }
    std::int64_t wall_clock_ms() override { return 1'800'000'000'000; }
    std::uint64_t io_progress() override { return io; }
    void data_channel_changed(bool up) override { data_channel.push_back(up); }
    void stream_chunk(const StreamChunk &chunk) override { chunks.push_back(chunk); }
    void stream_ack(const StreamAck &ack) override { acks.push_back(ack); }
    void partner_authenticated(ChannelId ch) override { authenticated.push_back(ch); }
    bool is_partner_process(ChannelId) override { return same_process; }
    FenceResult fence_partner() override
    {
        fence_calls++;
        if (!fence_error.empty())
            return {0, fence_error};
        return {4242, ""};
    }

    // One configuration: this RP's running configuration is `config`, one
    // line each; "no X" removes X, a line starting with "bad" is refused.
    std::string running_config() override
    {
        std::string text;
        for (const auto &line : config)
            text += line + "\n";
        return text;
    }
    ConfigRun run_config_line(std::uint64_t session, const std::string &line) override
    {
        ran.emplace_back(session, line);
        if (line.rfind("bad", 0) == 0)
            return {false, "% Unknown command: " + line + "\n"};
        if (line == "configure terminal" || line == "exit" || line == "end")
            return {true, ""};
        if (line.rfind("no ", 0) == 0) {
            config.erase(std::remove(config.begin(), config.end(), line.substr(3)), config.end());
            return {true, ""};
        }
        if (std::find(config.begin(), config.end(), line) == config.end())
            config.push_back(line);
        return {true, ""};
    }
    void end_config_session(std::uint64_t session) override { ended.push_back(session); }

    // The lease: this host's clock runs at the harness's, from its own
    // offset; a host without one behaves as an RP older than the lease.
    std::optional<Millis> lease_clock_ms() override
    {
        if (!has_lease_clock || !clock)
            return std::nullopt;
        return *clock + clock_offset;
    }
    void lease_deadline(Millis until) override { deadline = until; }
    void lease_lapsed(bool silent_now) override
    {
        silent = silent_now;
        silences.emplace_back(*lease_clock_ms(), silent_now);
    }
    void lease_timer(Millis in_ms) override { wake_at = *lease_clock_ms() + in_ms; }
    std::uint32_t sessions_unprotected() override { return unprotected; }
    // What the glue does before a write: the deadline it was given.
    bool writes_now() const { return !silent && *clock + clock_offset < deadline; }

    bool logged(const std::string &part) const
    {
        for (const auto &l : logs)
            if (l.find(part) != std::string::npos)
                return true;
        return false;
    }

    int id_;
    Lock *lock_;
    Wire &wire_;
    std::vector<Role> roles;
    std::vector<SessionItem> sessions{{"default", "192.0.2.2", 65002, "Established"}};
    std::set<std::string> known_neighbors{"192.0.2.2"};
    std::vector<std::string> logs;
    std::uint64_t io = 1;      // the I/O thread's counter (0: not reported)
    bool io_stuck = false;     // the I/O thread makes no progress
    std::vector<ChannelId> authenticated;
    int fence_calls = 0;
    bool same_process = true;  // new channels come from the verified partner
    std::string fence_error;   // fence_partner() fails with it
    std::vector<std::string> config{"router bgp 65001", "bgp ha key k"};
    std::vector<std::pair<std::uint64_t, std::string>> ran;  // (session, line)
    std::vector<std::uint64_t> ended;
    const Millis *clock = nullptr;
    Millis clock_offset = 0;
    bool has_lease_clock = true;
    Millis deadline = ~Millis{0};
    bool silent = false;
    std::vector<std::pair<Millis, bool>> silences;  // (lease clock, silent)
    std::optional<Millis> wake_at;                  // lease clock
    std::vector<bool> data_channel;                 // each change, up or down
    std::vector<StreamChunk> chunks;
    std::vector<StreamAck> acks;
    std::uint32_t unprotected = 0;  // the active's sessions the standby could not continue
};

// Carries bytes between the two ends of each channel.
struct Wire {
    struct Delivery {
        int to;
        ChannelId ch;
        std::string bytes;
    };
    std::deque<Delivery> queue;
    std::deque<std::pair<int, ChannelId>> closes;  // (side that must hear it, ch)
    std::map<ChannelId, std::pair<int, int>> ends;
};

void TestHost::send(ChannelId ch, const std::string &bytes)
{
    auto it = wire_.ends.find(ch);
    if (it == wire_.ends.end())
        return;
    int to = it->second.first == id_ ? it->second.second : it->second.first;
    wire_.queue.push_back({to, ch, bytes});
}

void TestHost::close(ChannelId ch)
{
    auto it = wire_.ends.find(ch);
    if (it == wire_.ends.end())
        return;
    int other = it->second.first == id_ ? it->second.second : it->second.first;
    wire_.ends.erase(it);
    wire_.closes.push_back({other, ch});
}

PairConfig config_for(const std::string &self, bool tcp, const std::string &key = kKey)
{
    PairConfig c;
    c.self = self;
    c.rps = {RpConfig{"a", tcp ? "tcp:10.0.0.1:5179" : "unix:/run/a.sock", tcp, 200},
             RpConfig{"b", tcp ? "tcp:10.0.0.2:5179" : "unix:/run/b.sock", tcp, 100}};
    c.key = key;
    return c;
}

// Up to three RP processes ("a", "b", and an intruder) on one clock.
struct Harness {
    explicit Harness(bool tcp = false) : tcp(tcp)
    {
        locks.resize(3);
    }

    int start(const std::string &name, const std::string &key = kKey)
    {
        int id = static_cast<int>(hosts.size());
        Lock &lock = tcp ? locks[id] : locks[0];
        hosts.push_back(std::make_unique<TestHost>(id, lock, wire));
        hosts[id]->clock = &now;
        hosts[id]->clock_offset = 7919 * static_cast<Millis>(id);  // clocks need not agree
        auto config = config_for(name, tcp, key);
        config.hang_detection_ms = hang_ms;
        nodes.push_back(std::make_unique<PairNode>(*hosts[id], config, now));
        return id;
    }

    // Local death: the kernel closes the sockets and drops the flock.
    void kill(int id)
    {
        for (auto it = wire.ends.begin(); it != wire.ends.end();) {
            auto [x, y] = it->second;
            if (x == id || y == id) {
                wire.closes.push_back({x == id ? y : x, it->first});
                it = wire.ends.erase(it);
            } else {
                ++it;
            }
        }
        if (hosts[id]->lock_->owner == id)
            hosts[id]->lock_->owner = -1;
        nodes[id].reset();
    }

    ChannelId connect(int from, int to, ChannelPurpose purpose = ChannelPurpose::Control)
    {
        ChannelId ch = next_channel++;
        wire.ends[ch] = {from, to};
        nodes[from]->channel_opened(ch, now, ChannelSide::Connected, purpose);
        nodes[to]->channel_opened(ch, now, ChannelSide::Accepted);
        pump();
        return ch;
    }

    // SIGSTOP: no tick, no read, no write. SIGCONT: it reads what queued up.
    void stop(int id) { stopped.insert(id); }
    void resume(int id)
    {
        stopped.erase(id);
        // What was written before a close is still there to read.
        for (auto &d : held)
            if (nodes[d.to])
                nodes[d.to]->channel_bytes(d.ch, d.bytes.data(), d.bytes.size(), now);
        held.clear();
        for (auto &c : held_closes)
            wire.closes.push_back(c);
        held_closes.clear();
        pump();
    }

    // Cuts a channel without either side closing it (a dead link): what
    // was on the way is lost too.
    void cut(ChannelId ch)
    {
        wire.ends.erase(ch);
        cut_channels.insert(ch);
    }

    // Bytes written before a close (a TLS alert, close_notify) arrive
    // before it, as a socket delivers them before its EOF.
    void pump()
    {
        while (!wire.queue.empty() || !wire.closes.empty()) {
            if (wire.queue.empty()) {
                auto [side, ch] = wire.closes.front();
                wire.closes.pop_front();
                if (stopped.count(side)) {
                    held_closes.push_back({side, ch});
                    continue;
                }
                if (side < static_cast<int>(nodes.size()) && nodes[side])
                    nodes[side]->channel_closed(ch, now);
                continue;
            }
            auto d = wire.queue.front();
            wire.queue.pop_front();
            if (stopped.count(d.to)) {
                held.push_back(d);  // a stopped process reads nothing
                continue;
            }
            if (d.to < static_cast<int>(nodes.size()) && nodes[d.to] && !cut_channels.count(d.ch))
                nodes[d.to]->channel_bytes(d.ch, d.bytes.data(), d.bytes.size(), now);
        }
    }

    // Advances the clock tick by tick (the glue's heartbeat timer).
    void run(Millis ms)
    {
        for (Millis t = 0; t < ms; t += 100) {
            now += 100;
            for (std::size_t i = 0; i < nodes.size(); i++) {
                if (!nodes[i] || stopped.count(static_cast<int>(i)))
                    continue;
                if (!hosts[i]->io_stuck && hosts[i]->io != 0)
                    hosts[i]->io++;
                nodes[i]->tick(now);
            }
            pump();
            check_one_active();
        }
    }

    void check_one_active() const
    {
        if (tcp)
            return;  // dual-RP: a cut channel can split; healing is tested
        int actives = 0;
        for (const auto &n : nodes)
            if (n && n->role() == Role::Active)
                actives++;
        REQUIRE(actives <= 1);
    }

    bool tcp;
    Millis now = 1000;
    Wire wire;
    std::vector<Lock> locks;
    std::vector<std::unique_ptr<TestHost>> hosts;
    std::vector<std::unique_ptr<PairNode>> nodes;
    ChannelId next_channel = 1;
    std::set<int> stopped;
    std::set<ChannelId> cut_channels;
    std::deque<Wire::Delivery> held;
    std::deque<std::pair<int, ChannelId>> held_closes;
    std::uint32_t hang_ms = kDefaultHangDetectionMs;
};

// a (priority 200) and b, started together and paired.
// After one switchover from a to b: one active at every step, b active at
// epoch 2, its one switchover for `reason`.
void check_handed_to_b(Harness &h, SwitchoverReason reason)
{
    h.check_one_active();
    CHECK(h.nodes[0]->role() == Role::Standby);
    CHECK(h.nodes[1]->role() == Role::Active);
    CHECK(h.nodes[1]->epoch() == 2);
    REQUIRE(h.nodes[1]->switchovers().size() == 1);
    CHECK(h.nodes[1]->switchovers()[0].reason == reason);
}

Harness formed_pair(bool tcp = false, std::uint32_t hang_ms = kDefaultHangDetectionMs)
{
    Harness h(tcp);
    h.hang_ms = hang_ms;
    h.start("a");
    h.start("b");
    h.connect(0, 1);
    h.run(500);
    return h;
}

// A process that connects to rp a (it accepts) on channel 100 and sends
// what a test says; with `tls`, it holds the key and names itself rp b, so
// its frames reach the frame decoder inside the TLS session.
struct Intruder {
    Intruder(Harness &h, bool tls) : h(h), a(*h.nodes[0])
    {
        h.wire.ends[ch] = {0, 2};  // nobody at the other end but this
        a.channel_opened(ch, h.now);
        if (tls) {
            client = std::make_unique<SecureChannel>(ChannelSide::Connected, "b", "a", kKey);
            client->start();
            exchange();
            REQUIRE(client->established());
        }
    }
    // Moves bytes between rp a and this end until nothing moves.
    void exchange()
    {
        for (int i = 0; i < 10; i++) {
            std::string to_a = client ? client->take_output() : std::string();
            std::string from_a;
            for (auto it = h.wire.queue.begin(); it != h.wire.queue.end();) {
                if (it->ch == ch) {
                    from_a += it->bytes;
                    it = h.wire.queue.erase(it);
                } else {
                    ++it;
                }
            }
            if (to_a.empty() && from_a.empty())
                return;
            if (client && !from_a.empty())
                client->receive(from_a.data(), from_a.size(), &plain);
            if (!to_a.empty() && h.wire.ends.count(ch))
                a.channel_bytes(ch, to_a.data(), to_a.size(), h.now);
        }
    }
    void send(const std::string &bytes)
    {
        if (client)
            client->send(bytes);
        else if (h.wire.ends.count(ch))
            a.channel_bytes(ch, bytes.data(), bytes.size(), h.now);
        exchange();
    }
    void eof() { a.channel_closed(ch, h.now); }

    Harness &h;
    PairNode &a;
    ChannelId ch = 100;
    std::unique_ptr<SecureChannel> client;
    std::string plain;  // what rp a sent it
};

std::string message_frame(const wire::Message &m)
{
    std::string p;
    m.SerializeToString(&p);
    return encode_frame(FrameType::Control, p);
}


}  // namespace
