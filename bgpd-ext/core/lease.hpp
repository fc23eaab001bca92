// The lease of dual-RP mode: the active writes to peers only while the
// standby has promised not to take over.
//
// Across two hosts nothing can kill the active to fence it, so the active
// fences itself. It asks the standby for a lease (a LeaseRequest, numbered,
// sent at its own time t_send); the standby answers with a LeaseGrant, given
// at its own time t_grant. Then:
//
//   active:  may write until   t_send  + L*(1-D)          (its own clock)
//   standby: may take over at  t_grant + L*(1+D) + M + 1  (its own clock)
//
// L is the lease, D the bound on each clock's rate error (ppm; each host's
// own, only L must agree), M a margin, +1 the clocks' millisecond
// granularity. Each side counts a duration on its own monotonic clock; no
// time ever crosses from one host to the other.
//
// Why the standby never takes over while the active may still write. In
// true time, let s be the instant request n left the active, g the instant
// its grant was given, w the active's last check of may_write that said
// yes on the strength of that grant, and t the standby's first instant with
// may_take_over. The grant answers the request, so s <= g. Each clock runs
// at a rate within [1-D, 1+D] of true time over any interval, so
//   active:  (w - s)(1-D) <= clock(w) - clock(s) < L(1-D)  =>  w < s + L
//   standby: (t - g)(1+D) >= clock(t) - clock(g) >= L(1+D) + M
//                                       =>  t >= g + L + M/(1+D)
// hence t >= w + M/(1+D) > w. Each lease the active holds comes from one
// grant, and the standby waits for all of its grants, so this holds for
// every write. Nothing here depends on how long a message took, whether it
// was lost, duplicated or reordered (only s <= g is used), nor on a freeze
// of either host: a clock counts on through a SIGSTOP, so a frozen host
// finds its time gone when it thaws. Truncating a clock to milliseconds
// makes t_send early (safe), `now` early on both sides (safe for takeover,
// and may_write tests now < end, which with a whole `end` is clock < end),
// and t_grant up to 1 ms early: the +1.
//
// What the proof assumes, and this code cannot check:
// - Each host's clock keeps within rate 1 +- D of true time, across
//   everything, and never stops. Offsets are free. CLOCK_MONOTONIC counts
//   through a SIGSTOP but not through a system suspend, and follows the time
//   daemon's slewing (chrony's default maxslewrate is 83333 ppm);
//   CLOCK_MONOTONIC_RAW is not slewed (an oscillator's error, tens of ppm).
//   A hypervisor that stops a paused guest's clock breaks the bound.
// - The active's host actually sends nothing to a peer once may_write is
//   false: neither bgpd's writes nor its kernel's own segments
//   (retransmissions, ACKs). A check in bgpd before each write leaves a gap
//   a freeze can stretch; what closes it is a check where segments leave
//   (an egress filter against the kernel's clock, or the sockets put in
//   TCP repair mode in time). M covers the rest: from that check to the
//   segment reaching the peer. That wiring is not here.
// - The grant is given after its request left (no forged or replayed
//   grant: the HA channel is authenticated).
// - The proof covers writes under a lease. A grantor that has granted
//   nothing never may take over: it knows of no lease to wait for, and an
//   active with nobody to ask (alone, or just after its own takeover)
//   writes without one. An active that has once asked this partner for a
//   lease must write only under one from then on (until the pair's epochs
//   say that partner cannot take over): then its unleased writes all come
//   before its first request, so before any grant, so before any takeover.
//   A standby process that restarts has granted nothing; its first grant
//   comes after every grant of the process before it, so its wait covers
//   theirs.
//
// Defaults (lease_defaults): with the heartbeat's detection time H =
// interval x multiplier (300 ms by default), L = H and a renewal every
// heartbeat interval (100 ms). The standby declares the active lost H after
// its last frame, and its last grant answered one of the last frames, so
// the takeover waits for the lease at most L*D + M + 1 after detection
// (3 + 20 + 1 = 24 ms by default). The active keeps its lease while a
// grant comes back within L(1-D) - interval (197 ms) of its request, or one
// round in a row is lost and the next comes back within L(1-D) - 2 x
// interval (97 ms); beyond that it goes silent at about the time the
// standby would declare it lost anyway.
#pragma once

#include "pair_types.hpp"
#include "result.hpp"

#include <cstdint>
#include <deque>
#include <string>

namespace frr_ha {

struct LeaseConfig {
    // Signed, so that a negative value from a caller is refused, not
    // wrapped into a huge one.
    std::int64_t lease_ms = 300;     // L
    std::int64_t renew_ms = 100;     // how often the active asks
    std::int64_t drift_ppm = 10000;  // D: this host's clock rate bound (1 %)
    std::int64_t margin_ms = 20;     // M: the standby's extra wait
};

constexpr std::int64_t kMaxLeaseMs = 6000000;   // the longest detection time
constexpr std::int64_t kMaxDriftPpm = 100000;   // 10 %
constexpr std::int64_t kMaxMarginMs = 60000;

// Lease = detection time, renewal every heartbeat interval.
LeaseConfig lease_defaults(std::uint32_t interval_ms, std::uint32_t multiplier);
// Why this configuration cannot give a safe lease, or "" when it can.
std::string lease_config_problem(const LeaseConfig &config);

// The lease the active counts from its request's departure: L*(1-D),
// rounded down; the standby's wait from its grant: L*(1+D) + M + 1,
// rounded up.
std::int64_t holder_lease_ms(const LeaseConfig &config);
std::int64_t grantor_wait_ms(const LeaseConfig &config);

struct LeaseRequest {
    std::uint64_t holder = 0;  // the LeaseHolder's identity
    std::uint64_t seq = 0;     // 1, 2, ... per holder
    std::uint32_t lease_ms = 0;
};

struct LeaseGrant {
    std::uint64_t holder = 0;
    std::uint64_t seq = 0;  // the request it answers
    std::uint32_t lease_ms = 0;
};

// The active's side.
class LeaseHolder {
public:
    // `holder` names this holder for its life (e.g. random at start), so
    // that a grant meant for a former process is not taken for its own.
    static Result<LeaseHolder> make(const LeaseConfig &config, std::uint64_t holder);

    // Read the clock, then send what this returns.
    LeaseRequest request(Millis now);
    bool renewal_due(Millis now) const;
    // Takes a grant: the lease then lasts at least until its request's
    // departure + holder_lease_ms. A grant never shortens the lease; one
    // for another holder, for a request never sent, already answered or too
    // old to matter, or for another lease length is refused with the reason.
    Status on_grant(const LeaseGrant &grant, Millis now);

    bool may_write(Millis now) const { return now < expires_at_; }
    // The first instant (this host's clock) with no lease; 0 if never held.
    Millis expires_at() const { return expires_at_; }

private:
    LeaseHolder(const LeaseConfig &config, std::uint64_t holder);
    void forget_old(Millis now);

    struct Sent {
        std::uint64_t seq;
        Millis at;
    };
    LeaseConfig config_;
    std::uint64_t holder_;
    std::int64_t lease_;  // holder_lease_ms(config_)
    std::uint64_t next_seq_ = 1;
    bool requested_ = false;
    Millis last_request_ = 0;
    std::deque<Sent> pending_;  // sent, not answered, still able to matter
    Millis expires_at_ = 0;
};

// The standby's side.
class LeaseGrantor {
public:
    static Result<LeaseGrantor> make(const LeaseConfig &config);

    // Grants, and promises not to take over before now + grantor_wait_ms.
    // Refused once this RP took over, or for another lease length.
    Result<LeaseGrant> grant(const LeaseRequest &request, Millis now);

    // Only after a grant, once every grant has expired.
    bool may_take_over(Millis now) const { return granted_ && now >= promised_until_; }
    // The first instant (this host's clock) when every grant has expired;
    // 0 if nothing was granted.
    Millis promised_until() const { return promised_until_; }
    // When may_take_over: grants nothing from now on. Else says why not
    // (nothing granted yet, or how long the lease still runs).
    Status take_over(Millis now);
    bool took_over() const { return took_over_; }

private:
    explicit LeaseGrantor(const LeaseConfig &config);

    LeaseConfig config_;
    std::int64_t wait_;  // grantor_wait_ms(config_)
    bool granted_ = false;
    Millis promised_until_ = 0;
    bool took_over_ = false;
};

}  // namespace frr_ha
