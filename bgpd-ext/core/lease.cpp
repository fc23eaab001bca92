#include "lease.hpp"

#include <algorithm>

namespace frr_ha {

namespace {

constexpr std::int64_t kMillion = 1000000;
// Requests kept for their grants; older ones only lose a renewal.
constexpr std::size_t kMaxPending = 1024;

std::string ms(std::int64_t value)
{
    return std::to_string(value) + " ms";
}

}  // namespace

LeaseConfig lease_defaults(std::uint32_t interval_ms, std::uint32_t multiplier)
{
    LeaseConfig config;
    config.lease_ms = std::int64_t{interval_ms} * multiplier;
    config.renew_ms = interval_ms;
    return config;
}

std::int64_t holder_lease_ms(const LeaseConfig &config)
{
    return config.lease_ms * (kMillion - config.drift_ppm) / kMillion;  // down
}

std::int64_t grantor_wait_ms(const LeaseConfig &config)
{
    const std::int64_t scaled = config.lease_ms * (kMillion + config.drift_ppm);
    return (scaled + kMillion - 1) / kMillion + config.margin_ms + 1;  // up
}

std::string lease_config_problem(const LeaseConfig &config)
{
    if (config.lease_ms < 1 || config.lease_ms > kMaxLeaseMs)
        return "the lease must be 1 to " + std::to_string(kMaxLeaseMs) + " ms, not " +
               ms(config.lease_ms);
    if (config.drift_ppm < 0 || config.drift_ppm > kMaxDriftPpm)
        return "the clock drift bound must be 0 to " + std::to_string(kMaxDriftPpm) +
               " ppm, not " + std::to_string(config.drift_ppm) + " ppm";
    if (config.margin_ms < 0 || config.margin_ms > kMaxMarginMs)
        return "the takeover margin must be 0 to " + std::to_string(kMaxMarginMs) +
               " ms, not " + ms(config.margin_ms);
    if (config.renew_ms < 1 || config.renew_ms >= holder_lease_ms(config))
        return "a renewal every " + ms(config.renew_ms) + " cannot keep a lease of " +
               ms(config.lease_ms) + " (" + ms(holder_lease_ms(config)) +
               " for the active, after drift) valid: renew more often than that";
    return {};
}

// The holder.

Result<LeaseHolder> LeaseHolder::make(const LeaseConfig &config, std::uint64_t holder)
{
    const std::string problem = lease_config_problem(config);
    if (!problem.empty())
        return Result<LeaseHolder>::fail(problem);
    return LeaseHolder(config, holder);
}

LeaseHolder::LeaseHolder(const LeaseConfig &config, std::uint64_t holder)
    : config_(config), holder_(holder), lease_(holder_lease_ms(config))
{
}

LeaseRequest LeaseHolder::request(Millis now)
{
    forget_old(now);
    if (pending_.size() == kMaxPending)
        pending_.pop_front();
    LeaseRequest req{holder_, next_seq_++, static_cast<std::uint32_t>(config_.lease_ms)};
    pending_.push_back({req.seq, now});
    requested_ = true;
    last_request_ = now;
    return req;
}

bool LeaseHolder::renewal_due(Millis now) const
{
    return !requested_ || now >= last_request_ + static_cast<Millis>(config_.renew_ms);
}

void LeaseHolder::forget_old(Millis now)
{
    // A request whose lease would already have ended can extend nothing.
    while (!pending_.empty() && pending_.front().at + lease_ <= now)
        pending_.pop_front();
}

Status LeaseHolder::on_grant(const LeaseGrant &grant, Millis now)
{
    const std::string what = "lease grant for request " + std::to_string(grant.seq);
    if (grant.holder != holder_)
        return Status::fail(what + " refused: it answers another holder (" +
                            std::to_string(grant.holder) + ", this one is " +
                            std::to_string(holder_) + ")");
    if (grant.lease_ms != config_.lease_ms)
        return Status::fail(what + " refused: it grants " + ms(grant.lease_ms) +
                            ", this RP's lease is " + ms(config_.lease_ms));
    if (grant.seq == 0 || grant.seq >= next_seq_)
        return Status::fail(what + " refused: no such request was sent");
    forget_old(now);
    const auto it = std::find_if(pending_.begin(), pending_.end(),
                                 [&](const Sent &sent) { return sent.seq == grant.seq; });
    if (it == pending_.end())
        return Status::fail(what + " ignored: already answered, or too old to give a lease");
    expires_at_ = std::max(expires_at_, it->at + lease_);
    pending_.erase(it);
    return Status::ok();
}

// The grantor.

Result<LeaseGrantor> LeaseGrantor::make(const LeaseConfig &config)
{
    const std::string problem = lease_config_problem(config);
    if (!problem.empty())
        return Result<LeaseGrantor>::fail(problem);
    return LeaseGrantor(config);
}

LeaseGrantor::LeaseGrantor(const LeaseConfig &config)
    : config_(config), wait_(grantor_wait_ms(config))
{
}

Result<LeaseGrant> LeaseGrantor::grant(const LeaseRequest &request, Millis now)
{
    const std::string what = "lease request " + std::to_string(request.seq);
    if (took_over_)
        return Result<LeaseGrant>::fail(what + " refused: this RP took over");
    if (request.lease_ms != config_.lease_ms)
        return Result<LeaseGrant>::fail(what + " refused: it asks for " +
                                        ms(request.lease_ms) + ", this RP grants " +
                                        ms(config_.lease_ms));
    granted_ = true;
    promised_until_ = std::max(promised_until_, now + static_cast<Millis>(wait_));
    return LeaseGrant{request.holder, request.seq, request.lease_ms};
}

Status LeaseGrantor::take_over(Millis now)
{
    if (!granted_)
        return Status::fail("no lease granted yet: the active may write without one");
    if (!may_take_over(now))
        return Status::fail("the lease granted runs " + ms(static_cast<std::int64_t>(
                                                           promised_until_ - now)) +
                            " more");
    took_over_ = true;
    return Status::ok();
}

}  // namespace frr_ha
