#include "pair_lease.hpp"

#include <algorithm>
#include <random>

namespace frr_ha {

std::uint64_t new_holder_identity()
{
    std::random_device device;
    const std::uint64_t id = (std::uint64_t{device()} << 32) ^ device();
    return id == 0 ? 1 : id;
}

void PairLease::reconfigure(const LeaseConfig &config)
{
    const bool same = config.lease_ms == config_.lease_ms &&
                      config.renew_ms == config_.renew_ms &&
                      config.drift_ppm == config_.drift_ppm &&
                      config.margin_ms == config_.margin_ms;
    config_ = config;
    problem_ = lease_config_problem(config);
    if (same)
        return;
    if (holder_) {
        const bool was_asked = asked_;
        const Millis kept = deadline();
        start_holding();
        if (was_asked && holder_) {
            asked_ = true;
            carried_deadline_ = kept;
        }
    } else if (grantor_) {
        const Millis kept = promised_until();
        start_granting();
        carried_promise_ = kept;
    }
}

Millis PairLease::promised_until() const
{
    return std::max(carried_promise_, grantor_ ? grantor_->promised_until() : Millis{0});
}

void PairLease::start_holding()
{
    stop();
    if (!problem_.empty())
        return;
    auto made = LeaseHolder::make(config_, new_holder_identity());
    if (made)
        holder_.emplace(*made);
}

void PairLease::override_lapse()
{
    start_holding();
    view_.overrides++;
}

void PairLease::stop()
{
    holder_.reset();
    grantor_.reset();
    asked_ = granted_ = false;
    carried_deadline_.reset();
    carried_promise_ = 0;
    // Silence stays: an RP that leaves the active role writes nothing anyway,
    // and the next start_holding() is the next time it may write.
}

LeaseRequest PairLease::request(Millis now)
{
    if (!asked_)
        first_request_ = now;
    asked_ = true;
    view_.requests_sent++;
    return holder_->request(now);
}

Status PairLease::on_grant(const LeaseGrant &grant, Millis now)
{
    auto done = holder_->on_grant(grant, now);
    if (done) {
        granted_ = true;
        view_.grants_received++;
    } else {
        view_.grants_refused++;
        view_.last_refusal = done.why();
    }
    return done;
}

Millis PairLease::deadline() const
{
    if (!holder_ || !asked_)
        return kNoDeadline;
    if (!granted_ && carried_deadline_)
        return *carried_deadline_;
    if (!granted_)
        return first_request_ + static_cast<Millis>(holder_lease_ms(config_));
    return holder_->expires_at();
}

std::optional<bool> PairLease::update_silence(Millis now)
{
    const bool silent = holder_ && !may_write(now);
    if (silent == silent_)
        return std::nullopt;
    silent_ = silent;
    if (silent && granted_) {
        view_.lapses++;
        // Writes stopped at the deadline (the host checks it before each
        // write), whenever this is noticed.
        view_.last_lapse_at = deadline();
    }
    return silent;
}

void PairLease::start_granting()
{
    stop();
    if (!problem_.empty())
        return;
    auto made = LeaseGrantor::make(config_);
    if (made)
        grantor_.emplace(*made);
}

Result<LeaseGrant> PairLease::grant(const LeaseRequest &request, Millis now)
{
    view_.requests_received++;
    auto granted = grantor_->grant(request, now);
    if (granted) {
        view_.grants_given++;
    } else {
        view_.requests_refused++;
        view_.last_refusal = granted.why();
    }
    return granted;
}

Status PairLease::take_over(Millis now, std::uint32_t waited_ms)
{
    // A grantor made afresh by a reconfiguration may have granted nothing
    // itself: the promise it carried is all there is to wait for.
    auto done = grantor_->promised_until() != 0 ? grantor_->take_over(now)
                : may_take_over(now)            ? Status::ok()
                                                : Status::fail("the lease granted runs on");
    if (done) {
        view_.last_takeover_wait_ms = waited_ms;
        view_.last_takeover_at = now;
    }
    return done;
}

LeaseView PairLease::view(Millis now) const
{
    LeaseView v = view_;
    v.lease_ms = lease_ms();
    v.may_write = !holder_ || may_write(now);
    if (holder_) {
        v.role = "holder";
        v.in_force = asked_;
        if (asked_ && deadline() > now)
            v.valid_for_ms = static_cast<std::int64_t>(deadline() - now);
    } else if (grantor_) {
        v.role = "grantor";
        v.in_force = binds_takeover() && !grantor_->took_over();
        if (v.in_force && promised_until() > now)
            v.may_take_over_in_ms = static_cast<std::int64_t>(promised_until() - now);
    }
    return v;
}

}  // namespace frr_ha
