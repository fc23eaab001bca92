// The lease wired into the pair (pair_lease.hpp, docs/dual-rp.md): PairNode
// against PairNode (pair_harness.hpp) on a millisecond clock, each host's
// lease clock with its own offset. "Writes" are what the glue would allow:
// before the deadline the node gave its host, and not silenced.
#include <catch2/catch.hpp>

#include "lease.hpp"
#include "pair_harness.hpp"
#include "pair_node.hpp"

using namespace frr_ha;

namespace {

// L(1-D), L(1+D) + M + 1 and M/(1+D) at the defaults (300 ms, 1 %, 20 ms).
constexpr Millis kHolderLease = 297;
constexpr Millis kGrantorWait = 324;
constexpr Millis kMinGap = 19;

struct Writers {
    Millis last_write[2] = {0, 0};  // harness time of each RP's last allowed write
    int most_at_once = 0;
};

bool writes(Harness &h, int i)
{
    return h.nodes[i] && h.nodes[i]->role() == Role::Active && h.hosts[i]->writes_now();
}

// Advances the clock 1 ms at a time: a tick every 100 ms as Harness::run
// (b's 10 ms after a's: two hosts' timers are not in step), and each host's
// lease timer when due. Notes who could write at each ms.
void run_fine(Harness &h, Millis ms, Writers *w = nullptr)
{
    const Millis phase[] = {0, 10, 0};
    for (Millis t = 0; t < ms; t++) {
        h.now++;
        for (std::size_t i = 0; i < h.nodes.size(); i++) {
            if (!h.nodes[i] || h.stopped.count(static_cast<int>(i)))
                continue;
            auto &host = *h.hosts[i];
            if (h.now % 100 == phase[i]) {
                host.io++;
                h.nodes[i]->tick(h.now);
            }
            if (h.nodes[i] && host.wake_at && *host.lease_clock_ms() >= *host.wake_at) {
                host.wake_at.reset();
                h.nodes[i]->lease_timer(h.now);
            }
        }
        h.pump();
        if (!w)
            continue;
        int now_writing = 0;
        for (int i = 0; i < 2; i++)
            if (writes(h, i)) {
                w->last_write[i] = h.now;
                now_writing++;
            }
        w->most_at_once = std::max(w->most_at_once, now_writing);
    }
}

Harness leased_pair()
{
    auto h = formed_pair(true);
    run_fine(h, 537);  // cuts below fall between ticks
    return h;
}

// b's host goes away for `ms`: frozen, its link cut, so no close reaches it.
void cut_off_b(Harness &h, Millis ms, Writers &w)
{
    h.stop(1);
    h.cut(1);
    run_fine(h, ms, &w);
}

// b runs again and, a tick later, is heard by a on a new channel; a stays
// active and writes.
void b_heard_again(Harness &h, Writers &w)
{
    h.resume(1);
    run_fine(h, 120, &w);
    h.connect(0, 1);
    run_fine(h, 800, &w);
    CHECK(h.nodes[0]->role() == Role::Active);
    CHECK(h.nodes[1]->role() == Role::Standby);
    CHECK(h.nodes[0]->may_write());
}

Millis lease_clock(Harness &h, int i)
{
    return *h.hosts[i]->lease_clock_ms();
}

}  // namespace

TEST_CASE("dual-RP: the active asks with every heartbeat, the standby grants each", "[pair lease]")
{
    auto h = leased_pair();
    auto &a = *h.nodes[0];
    auto &b = *h.nodes[1];
    REQUIRE(a.role() == Role::Active);
    REQUIRE(b.role() == Role::Standby);
    const auto before = a.lease_view();
    run_fine(h, 1000);
    const auto va = a.lease_view();
    const auto vb = b.lease_view();
    CHECK(va.role == "holder");
    CHECK(va.in_force);
    CHECK(va.may_write);
    CHECK(va.lease_ms == 300);
    // One request a tick (and one with each STATUS sent on an event).
    CHECK(va.requests_sent - before.requests_sent >= 10);
    CHECK(va.grants_received == va.requests_sent);
    CHECK(va.grants_refused == 0);
    CHECK(va.lapses == 0);
    CHECK(va.valid_for_ms > 0);
    CHECK(va.valid_for_ms <= static_cast<std::int64_t>(kHolderLease));
    CHECK(vb.role == "grantor");
    CHECK(vb.in_force);
    CHECK(vb.grants_given == va.grants_received);
    CHECK(vb.requests_received == va.requests_sent);
    CHECK(vb.may_take_over_in_ms > 0);
    CHECK(vb.may_take_over_in_ms <= static_cast<std::int64_t>(kGrantorWait));
    // The host holds a deadline on its own clock, never silenced.
    CHECK(h.hosts[0]->deadline > lease_clock(h, 0));
    CHECK(h.hosts[0]->deadline <= lease_clock(h, 0) + kHolderLease);
    CHECK(h.hosts[0]->silences.empty());
    CHECK(a.may_write());
}

TEST_CASE("dual-RP: a cut channel silences the active at L(1-D) after its last granted "
          "request, and the standby takes over no earlier than its promise",
          "[pair lease]")
{
    auto h = leased_pair();
    auto &a = *h.nodes[0];
    auto &b = *h.nodes[1];
    const Millis deadline = h.hosts[0]->deadline;  // a's clock
    const Millis cut_at = h.now;
    // b's promise, on b's clock, and the same instant on the harness clock.
    const Millis promise = lease_clock(h, 1) + static_cast<Millis>(b.lease_view().may_take_over_in_ms);
    const Millis promise_h = promise - h.hosts[1]->clock_offset;
    h.cut(h.wire.ends.begin()->first);
    Writers w;
    Millis b_active_at = 0;
    for (int i = 0; i < 1500 && !b_active_at; i++) {
        run_fine(h, 1, &w);
        if (b.role() == Role::Active)
            b_active_at = h.now;
    }
    REQUIRE(b_active_at != 0);
    run_fine(h, 1000, &w);

    // The active went silent at its deadline, to the millisecond, on its
    // timer (not at a tick), and that deadline was its last granted
    // request's departure + L(1-D): within a heartbeat before the cut.
    REQUIRE(h.hosts[0]->silences.size() == 1);
    CHECK(h.hosts[0]->silences[0] == std::make_pair(deadline, true));
    CHECK(deadline - h.hosts[0]->clock_offset <= cut_at + kHolderLease);
    CHECK(deadline - h.hosts[0]->clock_offset + 100 > cut_at + kHolderLease);
    CHECK(w.last_write[0] == deadline - h.hosts[0]->clock_offset - 1);
    CHECK(a.role() == Role::Active);  // silent, sessions kept
    CHECK_FALSE(a.may_write());
    CHECK(a.lease_view().lapses == 1);
    CHECK(a.lease_view().valid_for_ms == 0);
    CHECK(a.lease_view().last_lapse_at == deadline);
    // Noticed late (a busy main thread), a lapse still dates from the
    // deadline its writes stopped at.
    CHECK(h.hosts[0]->logged("lease lapsed"));

    // The standby: not before the detection time, not before its promise,
    // and M/(1+D) after the active's last write at least.
    CHECK(b_active_at >= promise_h);
    // b's detection tick came 10 ms after a's last request: the lease had
    // 14 ms (24 - 10) to run, and its timer ended the wait.
    CHECK(b.lease_view().last_takeover_wait_ms == 14);
    CHECK(b_active_at == promise_h);
    CHECK(b.lease_view().last_takeover_at == promise);
    CHECK(b_active_at >= w.last_write[0] + kMinGap);
    CHECK(w.most_at_once == 1);
    CHECK(b.lease_view().role == "holder");  // now the active, nobody to ask
    CHECK_FALSE(b.lease_view().in_force);
    CHECK(h.hosts[1]->logged("taking over once the lease this RP granted expires"));
    CHECK(h.hosts[1]->logged("for the lease it granted to expire"));
    REQUIRE(b.switchovers().size() == 1);
    CHECK(b.switchovers()[0].reason == SwitchoverReason::PartnerLost);
}

// Cuts the channel and runs until b is active (3 s at most): the cut's time.
static Millis cut_until_b_active(Harness &h)
{
    const Millis cut_at = h.now;
    h.cut(h.wire.ends.begin()->first);
    while (h.nodes[1]->role() != Role::Active && h.now < cut_at + 3000)
        run_fine(h, 1);
    REQUIRE(h.nodes[1]->role() == Role::Active);
    return cut_at;
}

// The partner lost while the standby could not continue every session:
// a death and a partition look alike from the standby, and taking over
// would end those sessions even if the active lives on.
TEST_CASE("dual-RP: a standby that could not continue some of the lost active's sessions "
          "takes over after twice the detection time, and a partner heard again before keeps "
          "its role",
          "[pair lease]")
{
    auto h = leased_pair();
    auto &b = *h.nodes[1];
    const Millis detection = b.detection_ms();
    SECTION("every session protected: the detection time, as always")
    {
        run_fine(h, 200);
        CHECK(b.partner().sessions_unprotected == 0);
        const Millis cut_at = cut_until_b_active(h);
        CHECK(h.now < cut_at + detection + 100);
        CHECK_FALSE(h.hosts[1]->logged("twice the detection time"));
    }
    SECTION("two sessions not protected: the silence must last twice as long")
    {
        h.hosts[0]->unprotected = 2;
        run_fine(h, 200);  // said with the next STATUS
        CHECK(b.partner().sessions_unprotected == 2);
        const Millis cut_at = cut_until_b_active(h);
        // Heard last within a heartbeat before the cut; the next tick after.
        CHECK(h.now >= cut_at - 100 + 2 * detection);
        CHECK(h.now < cut_at + 2 * detection + 100);
        CHECK(h.hosts[1]->logged("lost while 2 of its sessions were not protected by this RP: "
                                 "taking over after " + std::to_string(2 * detection) +
                                 " ms of silence (twice the detection time)"));
        REQUIRE(b.switchovers().size() == 1);
        CHECK(b.switchovers()[0].reason == SwitchoverReason::PartnerLost);
    }
    SECTION("two sessions not protected, the partner heard again within twice the detection "
            "time: nobody takes over")
    {
        h.hosts[0]->unprotected = 2;
        run_fine(h, 200);
        const std::uint64_t epoch = b.epoch();
        h.cut(h.wire.ends.begin()->first);
        run_fine(h, detection + 150);  // past the detection time: lost
        CHECK(b.role() == Role::Standby);
        CHECK(h.hosts[1]->logged("twice the detection time"));
        h.connect(0, 1);
        run_fine(h, 1000);
        CHECK(h.nodes[0]->role() == Role::Active);
        CHECK(b.role() == Role::Standby);
        CHECK(b.epoch() == epoch);
        CHECK(b.switchovers().empty());
        CHECK(h.nodes[0]->may_write());  // granted again
    }
}

TEST_CASE("dual-RP: a standby frozen past the lease, then thawed, grants again and the "
          "active writes again",
          "[pair lease]")
{
    auto h = leased_pair();
    auto &a = *h.nodes[0];
    // Right after a tick: a's requests queue up at b, unanswered.
    while (h.now % 100 != 1)
        run_fine(h, 1);
    const Millis deadline = h.hosts[0]->deadline;
    h.stop(1);
    Writers w;
    run_fine(h, 340, &w);  // past a's deadline, before a's detection closes the channel
    CHECK(h.hosts[0]->silent);
    CHECK(w.last_write[0] == deadline - h.hosts[0]->clock_offset - 1);
    h.resume(1);  // b reads the queued requests and grants them
    run_fine(h, 500, &w);
    CHECK_FALSE(h.hosts[0]->silent);
    CHECK(a.may_write());
    CHECK(a.role() == Role::Active);
    CHECK(h.nodes[1]->role() == Role::Standby);
    CHECK(a.lease_view().lapses == 1);
    REQUIRE(h.hosts[0]->silences.size() == 2);
    CHECK(h.hosts[0]->silences[1].second == false);
    CHECK(h.hosts[0]->logged("writing to peers again"));
    CHECK(w.most_at_once == 1);
}

TEST_CASE("dual-RP: a standby thawed after longer than the detection time gives the "
          "active a detection time from its thaw before taking over",
          "[pair lease]")
{
    auto h = leased_pair();
    auto &a = *h.nodes[0];
    auto &b = *h.nodes[1];
    // b's own first tick after the thaw finds the channel silent for two
    // seconds.
    Writers w;
    cut_off_b(h, 2000, w);
    REQUIRE(h.hosts[0]->silent);
    REQUIRE(a.role() == Role::Active);
    const Millis thawed = h.now;

    SECTION("the active is heard again: no switchover, it writes again")
    {
        b_heard_again(h, w);
        CHECK(h.hosts[1]->logged("partner silent for more than"));
        CHECK_FALSE(h.hosts[0]->silent);
        CHECK(b.counters().switchovers == 0);
    }
    SECTION("nobody is heard: b takes over a detection time after its thaw")
    {
        h.resume(1);
        run_fine(h, 120, &w);  // b's first ticks: its partner lost, but b itself was away
        CHECK(b.role() == Role::Standby);
        CHECK(h.hosts[1]->logged("partner silent for more than"));
        run_fine(h, 130, &w);  // the detection time is 300 ms here
        CHECK(b.role() == Role::Standby);
        run_fine(h, 150, &w);
        CHECK(b.role() == Role::Active);
        CHECK(h.now - thawed >= 300);
        CHECK(h.hosts[0]->silent);  // a, cut off, stays silent
    }
    CHECK(w.most_at_once == 1);
}

TEST_CASE("dual-RP: the operator's override lets a lapsed active with no partner write "
          "again, until a standby pairs",
          "[pair lease]")
{
    auto h = leased_pair();
    auto &a = *h.nodes[0];
    auto &b = *h.nodes[1];
    CHECK(b.override_lease(h.now).rfind("this RP is standby", 0) == 0);
    CHECK(a.override_lease(h.now).rfind("the channel to rp b is up", 0) == 0);
    Writers w;
    cut_off_b(h, 1000, w);
    REQUIRE(h.hosts[0]->silent);
    CHECK(a.override_lease(h.now) == "");
    CHECK_FALSE(h.hosts[0]->silent);
    CHECK(a.may_write());
    CHECK(h.hosts[0]->deadline == PairLease::kNoDeadline);
    CHECK(a.lease_view().overrides == 1);
    CHECK(h.hosts[0]->logged("lease overridden by the operator"));
    CHECK(a.override_lease(h.now) == "the lease has not lapsed: this RP writes to peers");
    run_fine(h, 1000, &w);
    CHECK(a.may_write());  // nobody to ask: no lease binds it
    // b comes back (thawed, its link healed) and is heard as standby: a asks again.
    b_heard_again(h, w);
    CHECK(a.lease_view().in_force);
    CHECK(h.hosts[0]->deadline != PairLease::kNoDeadline);
    CHECK(w.most_at_once == 1);
}

TEST_CASE("dual-RP: after the cut heals, the silent old active steps down and the new "
          "one is leased by it",
          "[pair lease]")
{
    auto h = leased_pair();
    h.cut(h.wire.ends.begin()->first);
    Writers w;
    run_fine(h, 1500, &w);
    REQUIRE(h.nodes[1]->role() == Role::Active);
    REQUIRE(h.nodes[0]->role() == Role::Active);  // cannot tell; silent
    CHECK_FALSE(writes(h, 0));
    h.connect(0, 1);
    run_fine(h, 1000, &w);
    CHECK(h.nodes[0]->role() == Role::Standby);  // epoch 1 < 2
    CHECK(h.nodes[1]->role() == Role::Active);
    CHECK(w.most_at_once == 1);
    CHECK_FALSE(writes(h, 0));
    CHECK(writes(h, 1));
    const auto vb = h.nodes[1]->lease_view();
    CHECK(vb.in_force);
    CHECK(vb.grants_received > 0);
    CHECK(h.nodes[0]->lease_view().role == "grantor");
    CHECK(h.nodes[0]->lease_view().grants_given == vb.grants_received);
}

TEST_CASE("dual-RP: a frozen active never writes past its deadline, thawed or not",
          "[pair lease]")
{
    auto h = leased_pair();
    const Millis deadline = h.hosts[0]->deadline;
    h.stop(0);
    Writers w;
    run_fine(h, 1500, &w);
    REQUIRE(h.nodes[1]->role() == Role::Active);
    h.resume(0);  // its timer has not run: the deadline alone stops it
    CHECK_FALSE(h.hosts[0]->writes_now());
    run_fine(h, 500, &w);
    CHECK(w.last_write[0] < deadline - h.hosts[0]->clock_offset);
    CHECK(w.most_at_once == 1);
    // It noticed the lapse only when thawed; the lapse dates from the deadline.
    CHECK(h.nodes[0]->lease_view().lapses == 1);
    CHECK(h.nodes[0]->lease_view().last_lapse_at == deadline);
    REQUIRE_FALSE(h.hosts[0]->silences.empty());
    CHECK(h.hosts[0]->silences[0].first > deadline + 1000);
}

// rp a (active) and rp b (standby) paired, host `older` without a lease
// clock: it sends what an RP older than the lease sends.
static void pair_with_an_older(Harness &h, std::size_t older)
{
    h.start("a");
    h.start("b");
    h.hosts[older]->has_lease_clock = false;
    h.connect(0, 1);
    run_fine(h, 1000);
    REQUIRE(h.nodes[0]->role() == Role::Active);
    REQUIRE(h.nodes[1]->role() == Role::Standby);
}

TEST_CASE("dual-RP: an older partner without lease fields pairs, and no lease is in force",
          "[pair lease]")
{
    SECTION("older standby")
    {
        Harness h(true);
        pair_with_an_older(h, 1);
        auto &a = *h.nodes[0];
        CHECK(h.nodes[1]->ready());
        const auto v = a.lease_view();
        CHECK(v.role == "holder");
        CHECK_FALSE(v.in_force);
        CHECK(v.requests_sent == 0);
        CHECK(v.note == "rp b grants no lease (an older version): writing without one");
        CHECK(h.nodes[1]->lease_view().note == "this host has no lease clock");
        // As before the lease: a cut leaves the active writing and the
        // standby takes over after the detection time.
        h.cut(h.wire.ends.begin()->first);
        Writers w;
        run_fine(h, 1000, &w);
        CHECK(h.nodes[1]->role() == Role::Active);
        CHECK(writes(h, 0));
        CHECK(h.hosts[0]->silences.empty());
    }
    SECTION("older active")
    {
        Harness h(true);
        pair_with_an_older(h, 0);
        const auto v = h.nodes[1]->lease_view();
        CHECK(v.role == "grantor");
        CHECK_FALSE(v.in_force);
        CHECK(v.requests_received == 0);
        CHECK(v.note == "nothing granted: a takeover waits for no lease");
        const Millis cut_at = h.now;
        h.cut(h.wire.ends.begin()->first);
        Millis b_active_at = 0;
        for (int i = 0; i < 1500 && !b_active_at; i++) {
            run_fine(h, 1);
            if (h.nodes[1]->role() == Role::Active)
                b_active_at = h.now;
        }
        // The detection time's tick, as before the lease.
        CHECK(b_active_at > cut_at + 300);
        CHECK(b_active_at <= cut_at + 400);
        CHECK_FALSE(h.hosts[1]->logged("lease"));
    }
}

TEST_CASE("local mode: no lease asked, granted or waited for", "[pair lease]")
{
    auto h = formed_pair(false);
    run_fine(h, 1000);
    for (int i = 0; i < 2; i++) {
        const auto v = h.nodes[i]->lease_view();
        CHECK(v.role == "none");
        CHECK(v.note == "local mode: the ownership lock fences the active");
        CHECK(v.requests_sent == 0);
        CHECK(v.requests_received == 0);
        CHECK(h.hosts[i]->deadline == ~Millis{0});
        CHECK_FALSE(h.hosts[i]->wake_at);
        CHECK(h.hosts[i]->silences.empty());
        CHECK(h.nodes[i]->may_write());
    }
    h.kill(0);
    h.pump();
    CHECK(h.nodes[1]->role() == Role::Active);  // at once, as before
    CHECK_FALSE(h.hosts[1]->logged("lease"));
}

TEST_CASE("a planned switchover (dual-RP) waits for no lease", "[pair lease]")
{
    auto h = leased_pair();
    REQUIRE(h.nodes[0]->request_switchover(h.now).empty());
    h.pump();
    CHECK(h.nodes[1]->role() == Role::Active);
    CHECK(h.nodes[0]->role() == Role::Standby);
    Writers w;
    run_fine(h, 500, &w);
    CHECK(w.most_at_once == 1);
    CHECK(writes(h, 1));
    CHECK(h.nodes[1]->lease_view().in_force);  // now leased by a
    CHECK(h.nodes[1]->lease_view().grants_received > 0);
}

TEST_CASE("dual-RP: a new heartbeat changes the lease without a silence, and a promise "
          "given under the old one is kept",
          "[pair lease]")
{
    auto h = leased_pair();
    auto slower = [&](int i) {
        auto c = h.nodes[i]->config();
        c.interval_ms = 200;
        c.multiplier = 3;
        h.nodes[i]->reconfigure(c, h.now);
    };
    Writers w;
    // One configuration: the standby runs the line first, then the active.
    slower(1);
    run_fine(h, 3, &w);
    slower(0);
    // Still bound: its old deadline until the first grant of the new length.
    CHECK(h.hosts[0]->deadline != ~Millis{0});
    CHECK_FALSE(h.nodes[0]->lease_view().note.size());
    CHECK(h.nodes[0]->lease_view().in_force);
    run_fine(h, 1500, &w);
    CHECK(h.hosts[0]->silences.empty());
    CHECK(writes(h, 0));
    const auto va = h.nodes[0]->lease_view();
    CHECK(va.lease_ms == 600);
    CHECK(va.in_force);
    CHECK(va.valid_for_ms > 0);
    CHECK(va.valid_for_ms <= 594);  // L(1-D) of 600 ms
    CHECK(h.nodes[1]->lease_view().may_take_over_in_ms <= 627);  // L(1+D) + M + 1

    SECTION("the standby's promise survives its reconfiguration")
    {
        const Millis promise =
            lease_clock(h, 1) + static_cast<Millis>(h.nodes[1]->lease_view().may_take_over_in_ms);
        // Back to 100 x 3: a promise of up to 627 ms is still running.
        auto c = h.nodes[1]->config();
        c.interval_ms = 100;
        h.nodes[1]->reconfigure(c, h.now);
        CHECK(h.nodes[1]->lease_view().may_take_over_in_ms > 324);
        h.cut(h.wire.ends.begin()->first);
        Millis b_active_at = 0;
        for (int i = 0; i < 3000 && !b_active_at; i++) {
            run_fine(h, 1, &w);
            if (h.nodes[1]->role() == Role::Active)
                b_active_at = h.now;
        }
        REQUIRE(b_active_at != 0);
        CHECK(b_active_at + h.hosts[1]->clock_offset >= promise);
        CHECK(b_active_at >= w.last_write[0] + kMinGap);
        CHECK(w.most_at_once == 1);
    }
}

TEST_CASE("dual-RP: a restarted RP waits three detection times for its partner before it takes "
          "the role alone",
          "[pair lease]")
{
    auto h = formed_pair(true);
    REQUIRE(h.nodes[0]->role() == Role::Active);
    const Millis detection = h.nodes[0]->detection_ms();
    h.kill(1);  // b's bgpd killed; its host lives on
    h.run(2000);
    REQUIRE(h.nodes[0]->role() == Role::Active);
    int b = h.start("b");

    SECTION("the active partner's channel forms late (it dials each heartbeat): b joins as standby")
    {
        h.run(2 * detection);
        CHECK(h.nodes[b]->role() == Role::Init);  // one active (run() checks it)
        h.connect(0, b);
        h.run(1000);
        CHECK(h.nodes[b]->role() == Role::Standby);
        CHECK(h.nodes[0]->role() == Role::Active);
    }
    SECTION("nobody there: b takes the role alone after three detection times")
    {
        h.kill(0);
        h.run(2 * detection);
        CHECK(h.nodes[b]->role() == Role::Init);
        h.run(detection + 100);
        CHECK(h.nodes[b]->role() == Role::Active);
    }
}
