// PairNode against PairNode (pair_harness.hpp): roles, epochs, the channel,
// bulk sync, fencing.
#include <catch2/catch.hpp>

#include "secure_channel.hpp"
#include "frame_codec.hpp"
#include "ha_channel.pb.h"
#include "pair_harness.hpp"
#include "pair_node.hpp"

#include <deque>
#include <memory>
#include <set>

using namespace frr_ha;


TEST_CASE("two RPs started together: the higher priority becomes active, the other syncs")
{
    auto h = formed_pair();
    auto &a = *h.nodes[0];
    auto &b = *h.nodes[1];
    CHECK(a.role() == Role::Active);
    CHECK(b.role() == Role::Standby);
    CHECK(a.epoch() == 1);
    CHECK(b.epoch() == 1);
    CHECK(b.sync_state() == SyncState::Done);
    CHECK(b.sync_items_total() == 1);
    CHECK(b.ready());
    CHECK(a.partner().ready);
    CHECK(a.channel_state() == ChannelState::Up);
    CHECK(a.counters().channels_up == 1);
    CHECK(a.counters().auth_failures == 0);
    // The active held its peers until it was sure, then ran them.
    CHECK(h.hosts[0]->roles.front() == Role::Init);
    CHECK(h.hosts[0]->roles.back() == Role::Active);
    CHECK(h.hosts[1]->roles.back() == Role::Standby);
}

TEST_CASE("only the lower name connects")
{
    Harness h;
    h.start("a");
    h.start("b");
    CHECK(h.nodes[0]->should_connect());
    CHECK_FALSE(h.nodes[1]->should_connect());
}

TEST_CASE("an RP alone becomes active after the detection time")
{
    Harness h;
    h.start("b");
    h.run(200);
    CHECK(h.nodes[0]->role() == Role::Init);
    h.run(200);
    CHECK(h.nodes[0]->role() == Role::Active);
    CHECK(h.nodes[0]->not_ready_reason() == "this RP is the active");
}

TEST_CASE("a standby that joins a running active gets a bulk sync and says it is ready")
{
    Harness h;
    h.start("b");
    h.run(500);
    REQUIRE(h.nodes[0]->role() == Role::Active);
    h.start("a");  // a has the higher priority, but there is no preemption
    h.connect(1, 0);
    h.run(200);
    CHECK(h.nodes[0]->role() == Role::Active);
    CHECK(h.nodes[1]->role() == Role::Standby);
    CHECK(h.nodes[1]->ready());
}

TEST_CASE("the standby is not ready when it lacks a session of the active, and says which")
{
    Harness h;
    h.start("a");
    h.start("b");
    h.hosts[1]->known_neighbors.clear();
    h.connect(0, 1);
    h.run(500);
    REQUIRE(h.nodes[1]->role() == Role::Standby);
    CHECK_FALSE(h.nodes[1]->ready());
    CHECK(h.nodes[1]->not_ready_reason() == "neighbor 192.0.2.2 is not configured on this RP");
    auto refusal = h.nodes[0]->request_switchover(h.now);
    CHECK(refusal == "standby not ready: neighbor 192.0.2.2 is not configured on this RP");
    CHECK(h.nodes[0]->role() == Role::Active);

    // The operator fixes the standby; a change on the active triggers a re-sync.
    h.hosts[1]->known_neighbors = {"192.0.2.2", "192.0.2.3"};
    h.hosts[0]->sessions.push_back({"default", "192.0.2.3", 65003, "Idle"});
    h.run(300);
    CHECK(h.nodes[1]->ready());
    CHECK(h.nodes[1]->sync_items_total() == 2);
}

TEST_CASE("kill -9 of the active (local): the standby takes over at once with a new epoch")
{
    auto h = formed_pair();
    h.kill(0);
    h.pump();
    auto &b = *h.nodes[1];
    CHECK(b.role() == Role::Active);
    CHECK(b.epoch() == 2);
    REQUIRE(b.switchovers().size() == 1);
    CHECK(b.switchovers()[0].reason == SwitchoverReason::PartnerLost);
    CHECK(b.switchovers()[0].epoch == 2);
    CHECK(b.counters().switchovers == 1);

    // The old active restarts: it finds an active partner and becomes standby.
    h.start("a");
    h.connect(2, 1);
    h.run(300);
    CHECK(h.nodes[2]->role() == Role::Standby);
    CHECK(h.nodes[2]->epoch() == 2);
    CHECK(h.nodes[2]->ready());
}

TEST_CASE("local mode: a cut channel never makes two actives, and the pair heals")
{
    auto h = formed_pair();
    auto ch = h.wire.ends.begin()->first;
    h.cut(ch);
    h.run(1000);  // both see silence; the lock keeps b standby
    CHECK(h.nodes[0]->role() == Role::Active);
    CHECK(h.nodes[1]->role() == Role::Standby);
    CHECK(h.hosts[1]->logged("another RP holds the ownership lock"));
    CHECK(h.nodes[1]->counters().channel_drops == 1);
    h.connect(0, 1);
    h.run(300);
    // a still held the old channel (it waits for a silent standby): the
    // new one replaces it.
    CHECK(h.hosts[0]->logged("superseded by rp b's new channel"));
    CHECK(h.nodes[1]->role() == Role::Standby);
    CHECK(h.nodes[1]->ready());
    CHECK(h.nodes[1]->switchovers().empty());
}

TEST_CASE("dual-RP: after a split heals, the older active steps down")
{
    auto h = formed_pair(true);
    auto ch = h.wire.ends.begin()->first;
    h.cut(ch);
    h.run(200);
    CHECK(h.nodes[1]->role() == Role::Standby);  // not before the detection time
    h.run(800);
    CHECK(h.nodes[1]->role() == Role::Active);  // b cannot tell a cut from a death
    CHECK(h.nodes[1]->epoch() == 2);
    CHECK(h.nodes[0]->role() == Role::Active);
    h.connect(0, 1);
    h.run(300);
    CHECK(h.nodes[0]->role() == Role::Standby);  // epoch 1 < 2: a yields
    CHECK(h.nodes[1]->role() == Role::Active);
    CHECK(h.hosts[0]->logged("stepping down"));
    CHECK(h.nodes[0]->ready());
}

TEST_CASE("planned switchover moves the role and the epoch, one active at every step")
{
    auto h = formed_pair();
    CHECK(h.nodes[1]->request_switchover(h.now) ==
          "this RP is standby: run the switchover on the active");
    CHECK(h.nodes[0]->request_switchover(h.now).empty());
    h.pump();
    check_handed_to_b(h, SwitchoverReason::Planned);
    h.run(300);
    CHECK(h.nodes[0]->ready());
    // And back.
    CHECK(h.nodes[1]->request_switchover(h.now).empty());
    h.pump();
    CHECK(h.nodes[0]->role() == Role::Active);
    CHECK(h.nodes[0]->epoch() == 3);
}

TEST_CASE("a planned switchover is not undone by a STATUS the standby sent before it read it")
{
    for (bool tcp : {false, true}) {
        auto h = formed_pair(tcp);
        // The standby's heartbeat crosses the switchover on the wire: it
        // still says standby, epoch 1, when the old active has stepped down.
        CHECK(h.nodes[0]->request_switchover(h.now).empty());
        h.nodes[1]->tick(h.now);
        h.pump();
        CHECK(h.nodes[0]->role() == Role::Standby);
        CHECK(h.nodes[1]->role() == Role::Active);
        h.run(1000);
        CHECK(h.nodes[0]->role() == Role::Standby);
        CHECK(h.nodes[1]->role() == Role::Active);
        CHECK(h.nodes[0]->epoch() == 2);
        CHECK(h.nodes[1]->epoch() == 2);
    }
}

TEST_CASE("an RP that handed the active role over waits the hang-detection time for a busy new "
          "active (local), the detection time across hosts")
{
    SECTION("local: the new active takes the role once it runs again")
    {
        auto h = formed_pair();
        auto &a = *h.nodes[0];
        auto &b = *h.nodes[1];
        h.stop(1);  // busy before it read the switchover
        CHECK(a.request_switchover(h.now).empty());
        h.run(2800);
        // Far past the detection time (300 ms): a still waits, standby.
        CHECK(a.channel_state() == ChannelState::Up);
        CHECK(a.role() == Role::Standby);
        CHECK_FALSE(h.hosts[0]->logged("partner silent"));
        h.resume(1);
        h.run(500);
        CHECK(b.role() == Role::Active);
        CHECK(a.role() == Role::Standby);
        CHECK(b.epoch() == 2);
    }
    SECTION("local: silent past the hang-detection time, the old active takes the role back")
    {
        auto h = formed_pair();
        auto &a = *h.nodes[0];
        h.stop(1);
        CHECK(a.request_switchover(h.now).empty());
        h.run(3200);
        CHECK(h.hosts[0]->logged("partner silent for more than 3000 ms"));
        h.run(500);
        CHECK(a.role() == Role::Active);
    }
    SECTION("dual-RP: silence is loss")
    {
        auto h = formed_pair(true);
        h.stop(1);
        CHECK(h.nodes[0]->request_switchover(h.now).empty());
        h.run(400);
        CHECK(h.hosts[0]->logged("partner silent for more than 300 ms"));
    }
}

TEST_CASE("wrong key: the channel never comes up and the failure is counted")
{
    Harness h;
    h.start("a");
    h.start("b", "a-different-key-of-16+");
    h.connect(0, 1);
    h.run(500);
    CHECK(h.nodes[0]->channel_state() == ChannelState::Down);
    CHECK(h.nodes[0]->counters().auth_failures + h.nodes[1]->counters().auth_failures >= 1);
    CHECK(h.hosts[0]->logged("authentication failed: rp b does not hold this RP's key"));
    CHECK(h.hosts[1]->logged("authentication failed: rp a does not hold this RP's key"));
    CHECK(h.nodes[0]->counters().tls_handshake_failures >= 1);
    // a runs alone (it routes); b cannot take the lock: one active.
    CHECK(h.nodes[0]->role() == Role::Active);
    CHECK(h.nodes[1]->role() == Role::Init);
    CHECK(h.nodes[0]->counters().frames_received == 0);  // no frame gets through
}

TEST_CASE("a second process claiming the partner's name is refused after it authenticates")
{
    auto h = formed_pair();
    int intruder = h.start("b");
    h.connect(0, intruder);
    h.run(200);
    CHECK(h.nodes[0]->counters().partners_refused == 1);
    CHECK(h.hosts[0]->logged("refused a second rp b"));
    CHECK(h.nodes[0]->channel_state() == ChannelState::Up);
    CHECK(h.nodes[1]->ready());  // the real standby is untouched
}


TEST_CASE("bad input on the channel: clear cause, counter, channel closed, role kept")
{
    auto h = formed_pair();
    auto &a = *h.nodes[0];
    SECTION("garbage: not TLS")
    {
        Intruder(h, false).send("GET / HTTP/1.0\r\n\r\n");
        CHECK(a.counters().tls_handshake_failures == 1);
        CHECK(h.hosts[0]->logged("TLS handshake refused: not a TLS 1.3 handshake"));
    }
    SECTION("an older frr-ha: plaintext frames of protocol version 1")
    {
        auto f = encode_frame(FrameType::Control, "");
        f[2] = 1;
        Intruder(h, false).send(f);
        CHECK(a.counters().version_mismatches == 1);
        CHECK(h.hosts[0]->logged("speaks the HA channel without TLS (protocol version 1)"));
        CHECK(a.last_refusal().find("protocol version mismatch") == 0);
    }
    SECTION("inside TLS: protocol version mismatch")
    {
        auto f = encode_frame(FrameType::Control, "");
        f[2] = 3;
        Intruder(h, true).send(f);
        CHECK(a.counters().version_mismatches == 1);
        CHECK(h.hosts[0]->logged("partner speaks version 3, this RP speaks 2"));
    }
    SECTION("inside TLS: oversized frame")
    {
        Intruder(h, true).send(std::string("\xFA\x4A\x02\x01\x7f\x00\x00\x00", 8));
        CHECK(a.counters().oversized_frames == 1);
    }
    SECTION("inside TLS: a payload that is not a message")
    {
        Intruder(h, true).send(encode_frame(FrameType::Control, std::string("\xff\xff\xff\xff", 4)));
        CHECK(a.counters().malformed_frames == 1);
    }
    SECTION("inside TLS: status before the HELLO")
    {
        wire::Message m;
        m.mutable_status()->set_role(wire::ROLE_ACTIVE);
        Intruder(h, true).send(message_frame(m));
        CHECK(a.counters().malformed_frames == 1);
        CHECK(h.hosts[0]->logged("before its HELLO"));
    }
    SECTION("inside TLS: a truncated frame and then EOF")
    {
        Intruder in(h, true);
        in.send(encode_frame(FrameType::Control, "0123456789").substr(0, 12));
        in.eof();
        CHECK(a.counters().truncations == 1);
        CHECK(h.hosts[0]->logged("truncated frame"));
    }
    SECTION("a connection that says nothing")
    {
        Intruder(h, false).send("");
        h.run(500);
        CHECK(a.counters().handshake_timeouts == 1);
    }
    h.wire.ends.erase(100);
    h.run(300);
    CHECK(a.role() == Role::Active);
    CHECK(a.channel_state() == ChannelState::Up);
    CHECK(h.nodes[1]->ready());
}

TEST_CASE("a stream piece on the control channel is refused: the streams travel on the data "
          "channel")
{
    auto h = formed_pair();
    auto &a = *h.nodes[0];
    h.kill(1);  // the real rp b's channel gone, so the intruder's is rp b's
    h.pump();
    wire::Message hello;
    hello.mutable_hello()->set_protocol_version(kProtocolVersion);
    hello.mutable_hello()->set_rp_name("b");
    wire::Message piece;
    SECTION("a chunk")
    {
        piece.mutable_stream_bytes()->set_session(1);
        piece.mutable_stream_bytes()->set_bytes("x");
    }
    SECTION("a protection step")
    {
        piece.mutable_stream_protection()->set_session(1);
    }
    Intruder in(h, true);
    in.send(message_frame(hello));
    CHECK(a.channel_state() == ChannelState::Up);
    in.send(message_frame(piece));
    CHECK(a.counters().malformed_frames == 1);
    CHECK(h.hosts[0]->logged("unexpected message on an authenticated channel"));
    CHECK(a.channel_state() != ChannelState::Up);
    CHECK(a.role() == Role::Active);
}

TEST_CASE("a channel cut in the middle of a bulk sync leaves the standby not ready, then it re-syncs")
{
    Harness h;
    h.start("a");
    h.run(500);
    h.start("b");
    for (int i = 0; i < 50; i++) {
        auto n = "192.0.2." + std::to_string(10 + i);
        h.hosts[0]->sessions.push_back({"default", n, 65010, "Established"});
        h.hosts[1]->known_neighbors.insert(n);
    }
    h.connect(0, 1);
    // Deliver only part of the active's answer, then cut.
    h.nodes[1]->tick(h.now);
    while (!h.wire.queue.empty() && h.nodes[1]->sync_state() != SyncState::Syncing) {
        auto d = h.wire.queue.front();
        h.wire.queue.pop_front();
        h.nodes[d.to]->channel_bytes(d.ch, d.bytes.data(), d.bytes.size(), h.now);
    }
    for (int i = 0; i < 10 && !h.wire.queue.empty(); i++) {
        auto d = h.wire.queue.front();
        h.wire.queue.pop_front();
        h.nodes[d.to]->channel_bytes(d.ch, d.bytes.data(), d.bytes.size(), h.now);
    }
    h.wire.queue.clear();
    h.nodes[0]->drop_channels("cut in the middle of a bulk sync", h.now);
    h.pump();
    CHECK_FALSE(h.nodes[1]->ready());
    CHECK(h.nodes[1]->role() == Role::Standby);
    CHECK(h.nodes[0]->role() == Role::Active);
    h.connect(0, 1);
    h.run(300);
    CHECK(h.nodes[1]->ready());
    CHECK(h.nodes[1]->sync_items_total() == 51);
}

TEST_CASE("back-pressure: a standby that cannot keep up is dropped, never waited for")
{
    auto h = formed_pair();
    auto ch = h.wire.ends.begin()->first;
    h.nodes[0]->channel_backlog(ch, 32u << 20, h.now);
    h.pump();
    CHECK(h.nodes[0]->counters().backlog_drops == 1);
    CHECK(h.nodes[0]->role() == Role::Active);
    CHECK_FALSE(h.nodes[1]->ready());
    h.connect(0, 1);
    h.run(300);
    CHECK(h.nodes[1]->ready());
}

TEST_CASE("configuration problems are named")
{
    auto c = config_for("a", false);
    CHECK(config_problem(c).empty());
    c.key = "short";
    CHECK(config_problem(c) == "the key must have 16 to 128 characters");
    c.key.clear();
    CHECK(config_problem(c) == "no key configured (bgp ha key)");
    c = config_for("c", false);
    CHECK(config_problem(c) == "no 'bgp ha rp c' entry for this RP");
    c = config_for("a", false);
    c.rps[1].tcp = true;
    CHECK(config_problem(c).find("same kind") != std::string::npos);
    c = config_for("a", false);
    c.rps.pop_back();
    CHECK(config_problem(c).find("exactly two") != std::string::npos);
}

// --- a hung active (local mode) --------------------------------------------------

TEST_CASE("the standby keeps a handle on the partner that authenticated")
{
    auto h = formed_pair();
    REQUIRE(h.hosts[0]->authenticated.size() == 1);
    REQUIRE(h.hosts[1]->authenticated.size() == 1);
    CHECK(h.hosts[0]->authenticated[0] == h.wire.ends.begin()->first);
    CHECK(h.nodes[1]->fencing_state() == "watching");
    CHECK(h.nodes[0]->fencing_state() == "inactive");  // the active watches nobody
    CHECK(h.nodes[1]->partner_progress().io_reported);
    CHECK(h.nodes[1]->partner_progress().heartbeats > 0);
}

TEST_CASE("a stopped active (local) is fenced after the hang-detection time, then the standby "
          "takes over")
{
    auto h = formed_pair();
    auto &b = *h.nodes[1];
    h.stop(0);
    h.run(2900);
    // Silent for longer than the heartbeat detection time: the channel is
    // gone, but the lock is held: b waits.
    CHECK(b.channel_state() == ChannelState::Down);
    CHECK(b.role() == Role::Standby);
    CHECK(h.hosts[1]->fence_calls == 0);
    h.run(200);
    REQUIRE(h.hosts[1]->fence_calls == 1);
    CHECK(b.role() == Role::Standby);  // the killed process still holds the lock
    CHECK(b.fencing_state() == "fencing");
    REQUIRE(b.fences().size() == 1);
    CHECK(b.fences()[0].pid == 4242);
    CHECK(b.fences()[0].reason.rfind("no heartbeat for 3", 0) == 0);
    CHECK_FALSE(b.fences()[0].partner_died);
    CHECK(h.hosts[1]->logged("rp a is hung (no heartbeat for"));
    h.run(500);
    CHECK(h.hosts[1]->fence_calls == 1);  // once

    // The process dies: the kernel frees the lock; the host reports it.
    h.now += 7;
    h.kill(0);
    h.stopped.erase(0);
    b.partner_exited(h.now);
    h.pump();
    CHECK(b.role() == Role::Active);
    CHECK(b.epoch() == 2);
    CHECK(b.fencing_state() == "inactive");
    REQUIRE(b.switchovers().size() == 1);
    CHECK(b.switchovers()[0].reason == SwitchoverReason::PartnerHung);
    const auto &rec = b.fences()[0];
    CHECK(rec.partner_died);
    CHECK(rec.took_over);
    CHECK(rec.died_after_ms == 507);
    CHECK(rec.active_after_ms == 507);
    CHECK(b.switchovers()[0].duration_ms == 507);
}

TEST_CASE("an active whose I/O thread makes no progress is fenced, with that reason")
{
    auto h = formed_pair();
    auto &b = *h.nodes[1];
    h.hosts[0]->io_stuck = true;
    h.run(2900);
    CHECK(h.hosts[1]->fence_calls == 0);
    CHECK(b.channel_state() == ChannelState::Up);  // its main thread still talks
    h.run(300);
    REQUIRE(h.hosts[1]->fence_calls == 1);
    REQUIRE(b.fences().size() == 1);
    CHECK(b.fences()[0].reason.rfind("I/O thread made no progress for 3", 0) == 0);
    // The kill closes the channel and frees the lock: takeover.
    h.kill(0);
    h.pump();
    CHECK(b.role() == Role::Active);
    CHECK(b.switchovers().back().reason == SwitchoverReason::PartnerHung);
    CHECK(b.fences()[0].took_over);
    CHECK(b.fences()[0].partner_died);  // the free lock says so
}

TEST_CASE("an active that is only busy for less than the hang-detection time is never fenced")
{
    auto h = formed_pair();
    auto &b = *h.nodes[1];
    for (int i = 0; i < 3; i++) {
        h.stop(0);
        h.run(2500);
        h.resume(0);
        // The standby is the listening side here: a reconnects by itself.
        h.run(100);
        if (h.wire.ends.empty())
            h.connect(0, 1);
        h.run(1000);
    }
    CHECK(h.hosts[1]->fence_calls == 0);
    CHECK(b.role() == Role::Standby);
    CHECK(h.nodes[0]->role() == Role::Active);
    CHECK(b.partner_progress().max_heartbeat_gap_ms >= 2500);
    CHECK(b.fencing_state() == "watching");
    CHECK(b.ready());
}

TEST_CASE("the active keeps a busy standby's channel for the hang-detection time (local), a "
          "dual-RP one for the detection time")
{
    SECTION("local")
    {
        auto h = formed_pair();
        auto &a = *h.nodes[0];
        h.stop(1);
        h.run(2800);
        // Far past the detection time (300 ms): still up, every session
        // still handed over.
        CHECK(a.channel_state() == ChannelState::Up);
        CHECK_FALSE(h.hosts[0]->logged("partner silent"));
        h.resume(1);
        h.run(500);
        CHECK(a.channel_state() == ChannelState::Up);
        CHECK(a.role() == Role::Active);
        CHECK(h.nodes[1]->role() == Role::Standby);
        // Silent for longer: closed, saying how long it waited.
        h.stop(1);
        h.run(3200);
        CHECK(a.channel_state() == ChannelState::Down);
        CHECK(h.hosts[0]->logged("partner silent for more than 3000 ms"));
    }
    SECTION("local, hang detection off: its default")
    {
        auto h = formed_pair(false, 0);
        h.stop(1);
        h.run(2800);
        CHECK(h.nodes[0]->channel_state() == ChannelState::Up);
        h.run(400);
        CHECK(h.hosts[0]->logged("partner silent for more than 3000 ms"));
    }
    SECTION("dual-RP: the lease needs the standby's grants, silence is loss")
    {
        auto h = formed_pair(true);
        h.stop(1);
        h.run(400);
        CHECK(h.nodes[0]->channel_state() == ChannelState::Down);
        CHECK(h.hosts[0]->logged("partner silent for more than 300 ms"));
    }
}

TEST_CASE("a standby that was stalled itself reads what queued up before it judges")
{
    auto h = formed_pair();
    auto &b = *h.nodes[1];
    h.stop(1);
    h.run(5000);
    // Back: the host drains the channel before the tick; a closed it (b
    // was silent) and could not reach b since.
    h.resume(1);
    h.run(100);
    CHECK(h.hosts[1]->fence_calls == 0);
    CHECK(b.max_own_tick_gap_ms() >= 5000);
    // A standby that could not run could not hear: the silence counts from
    // its return.
    h.run(2800);
    CHECK(h.hosts[1]->fence_calls == 0);
    h.run(400);
    CHECK(h.hosts[1]->fence_calls == 1);  // a never showed life again
}

TEST_CASE("an older active that does not report its I/O thread is judged by its heartbeats")
{
    Harness h;
    h.start("a");
    h.start("b");
    h.hosts[0]->io = 0;
    h.connect(0, 1);
    h.run(6000);
    REQUIRE(h.nodes[1]->role() == Role::Standby);
    CHECK(h.hosts[1]->fence_calls == 0);
    CHECK_FALSE(h.nodes[1]->partner_progress().io_reported);
    h.stop(0);
    h.run(3500);
    CHECK(h.hosts[1]->fence_calls == 1);
}

TEST_CASE("hang detection off, or dual-RP mode: a hung active is never fenced")
{
    SECTION("off")
    {
        auto h = formed_pair(false, 0);
        CHECK(h.nodes[1]->fencing_state() == "disabled");
        h.stop(0);
        h.run(10000);
        CHECK(h.hosts[1]->fence_calls == 0);
        CHECK(h.nodes[1]->role() == Role::Standby);
    }
    SECTION("dual-RP")
    {
        auto h = formed_pair(true);
        CHECK(h.nodes[1]->fencing_state() == "dual-rp");
        h.stop(0);
        h.run(10000);
        CHECK(h.hosts[1]->fence_calls == 0);
        // As before: silence for the detection time is a lost partner.
        CHECK(h.nodes[1]->role() == Role::Active);
        CHECK(h.nodes[1]->switchovers().back().reason == SwitchoverReason::PartnerLost);
    }
}

TEST_CASE("no partner process to fence: the standby says why and stays standby")
{
    auto h = formed_pair();
    h.hosts[1]->fence_error = "no verified partner process";
    h.stop(0);
    h.run(4000);
    auto &b = *h.nodes[1];
    CHECK(h.hosts[1]->fence_calls == 1);
    CHECK(b.role() == Role::Standby);
    REQUIRE(b.fences().size() == 1);
    CHECK(b.fences()[0].pid == 0);
    CHECK(b.fences()[0].error == "no verified partner process");
    CHECK(h.hosts[1]->logged("cannot be fenced: no verified partner process"));
    CHECK(b.fencing_state() == "watching");
}

TEST_CASE("the hang-detection time is never shorter than the heartbeat detection time")
{
    Harness h;
    h.hang_ms = 100;
    h.start("a");
    CHECK(h.nodes[0]->hang_detection_ms() == 300);
}

namespace {

// A new connection from a's process whose handshake never finishes (a busy
// standby answers too late; the connector gives up and tries again): its
// TLS ClientHello arrives, nothing more.
void hello_only(Harness &h, int to)
{
    ChannelId ch = h.next_channel++;
    h.nodes[to]->channel_opened(ch, h.now);
    SecureChannel a(ChannelSide::Connected, "a", "b", kKey);
    a.start();
    auto bytes = a.take_output();
    h.nodes[to]->channel_bytes(ch, bytes.data(), bytes.size(), h.now);
}

}  // namespace

TEST_CASE("an active that keeps reconnecting shows life through its HELLOs")
{
    auto h = formed_pair();
    auto &b = *h.nodes[1];
    h.cut(h.wire.ends.begin()->first);  // no STATUS gets through any more
    for (int i = 0; i < 8; i++) {
        h.run(1000);
        hello_only(h, 1);
    }
    CHECK(h.hosts[1]->fence_calls == 0);
    CHECK(b.role() == Role::Standby);

    SECTION("from another process, a HELLO is no sign of the active's life")
    {
        h.hosts[1]->same_process = false;
        for (int i = 0; i < 4; i++) {
            h.run(1000);
            hello_only(h, 1);
        }
        CHECK(h.hosts[1]->fence_calls == 1);
        CHECK(b.fences().back().reason.rfind("no heartbeat for", 0) == 0);
    }
}

TEST_CASE("a whole process paused: an I/O counter that did not move across the pause is no hang")
{
    auto h = formed_pair();
    for (int i = 0; i < 3; i++) {
        h.hosts[0]->io_stuck = true;
        h.stop(0);
        h.run(2800);
        h.resume(0);
        h.run(100);  // its first STATUS, before its I/O thread ran again
        h.hosts[0]->io_stuck = false;
        if (h.wire.ends.empty())
            h.connect(0, 1);
        h.run(500);
    }
    CHECK(h.hosts[1]->fence_calls == 0);
}
