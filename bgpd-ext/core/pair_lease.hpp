// The lease as the pair uses it (dual-RP mode, docs/dual-rp.md "The lease"):
// the active's LeaseHolder and the standby's LeaseGrantor (lease.hpp), made
// afresh at each role change, with what was done with them. PairNode says
// when to ask, grant and take over; this class keeps the state, the
// counters, and whether the active must be silent. Every time here is on the
// lease clock (PairHost::lease_clock_ms), never the node's.
#pragma once

#include "lease.hpp"

#include <optional>
#include <string>

namespace frr_ha {

// show bgp ha: the lease.
struct LeaseView {
    std::string role = "none";  // "holder" (active), "grantor" (standby), "none"
    std::string note;           // why no lease is in force, when none is
    bool in_force = false;      // holder: it writes only under a lease;
                                // grantor: a grant of its binds its takeover
    bool may_write = true;      // holder
    std::int64_t valid_for_ms = 0;         // holder in force: what remains (0: lapsed)
    std::int64_t may_take_over_in_ms = 0;  // grantor in force: until its grants expire
    std::uint32_t lease_ms = 0;
    std::uint64_t requests_sent = 0, grants_received = 0, grants_refused = 0, lapses = 0;
    std::uint64_t requests_received = 0, grants_given = 0, requests_refused = 0;
    std::uint64_t overrides = 0;  // operator overrides of a lapsed lease
    std::string last_refusal;
    std::uint32_t last_takeover_wait_ms = 0;  // past the detection time
    // On this host's lease clock (0: never): the last lapse (the deadline
    // its writes stopped at), the last takeover that waited for a lease. Two hosts' clocks do not compare;
    // two RPs on one kernel's (a test) do.
    Millis last_lapse_at = 0;
    Millis last_takeover_at = 0;
};

class PairLease {
public:
    explicit PairLease(const LeaseConfig &config)
        : config_(config), problem_(lease_config_problem(config))
    {
    }
    // A new length (a new heartbeat): a holder or grantor in place is made
    // afresh with it, keeping what binds it: the holder's deadline until its
    // first grant under the new length, the grantor's promise.
    void reconfigure(const LeaseConfig &config);
    // Why this configuration gives no lease ("" when it gives one).
    const std::string &problem() const { return problem_; }
    std::uint32_t lease_ms() const { return static_cast<std::uint32_t>(config_.lease_ms); }

    // --- the active --------------------------------------------------------
    // A new holder (a new identity: no grant of a former one counts). It
    // writes without a lease until it first asks.
    void start_holding();
    void stop();  // neither holder nor grantor
    // The operator's word that no standby can take over (its host is
    // down): a new holder, writing without a lease until it asks again.
    void override_lapse();
    bool holding() const { return holder_.has_value(); }
    LeaseRequest request(Millis now);
    // Whether this holder asked for a lease: from then on it writes only
    // under one. Until its first grant, that is the lease its first request
    // would give (first request + L(1-D)): every grant the standby gives
    // answers a request sent no earlier, so its promise covers that too, and
    // the pairing costs no pause while the first grant is on its way.
    bool asked() const { return asked_; }
    Status on_grant(const LeaseGrant &grant, Millis now);
    bool may_write(Millis now) const { return now < deadline(); }
    // When the active's writes end (lease clock); kNoDeadline: not bound.
    static constexpr Millis kNoDeadline = ~Millis{0};
    Millis deadline() const;
    // The silence the active is in; a change returns the new state (a lapse
    // is counted when a granted lease runs out).
    std::optional<bool> update_silence(Millis now);
    bool silent() const { return silent_; }

    // --- the standby ---------------------------------------------------------
    void start_granting();
    bool granting() const { return grantor_.has_value(); }
    Result<LeaseGrant> grant(const LeaseRequest &request, Millis now);
    // A takeover after the partner's loss waits for every grant given.
    bool binds_takeover() const { return grantor_ && promised_until() != 0; }
    bool may_take_over(Millis now) const { return binds_takeover() && now >= promised_until(); }
    Millis promised_until() const;
    Status take_over(Millis now, std::uint32_t waited_ms);

    void refused(const std::string &why) { view_.last_refusal = why; }
    LeaseView view(Millis now) const;

private:
    LeaseConfig config_;
    std::string problem_;
    std::optional<LeaseHolder> holder_;
    std::optional<LeaseGrantor> grantor_;
    bool asked_ = false;
    bool granted_ = false;  // this holder received a grant
    Millis first_request_ = 0;
    // Kept across a reconfiguration (0: none).
    std::optional<Millis> carried_deadline_;
    Millis carried_promise_ = 0;
    bool silent_ = false;
    LeaseView view_;  // the counters
};

// Random, so that a grant for a former holder is never taken for this one's.
std::uint64_t new_holder_identity();

}  // namespace frr_ha
