#include "back_pressure.hpp"

#include <algorithm>

namespace frr_ha {

void BackPressure::hold(Side side)
{
    if (!any()) {
        since_ = std::chrono::steady_clock::now();
        events_++;
    }
    (side == Side::Input ? input_ : output_) = true;
}

void BackPressure::release(Side side)
{
    bool &flag = side == Side::Input ? input_ : output_;
    if (!flag)
        return;
    flag = false;
    if (any())
        return;
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(held_for()).count();
    constexpr std::size_t kKept = 1024;
    if (past_ms_.size() < kKept)
        past_ms_.push_back(static_cast<std::uint32_t>(ms));
    else
        past_ms_[next_++ % kKept] = static_cast<std::uint32_t>(ms);
    max_ms_ = std::max<std::uint64_t>(max_ms_, static_cast<std::uint64_t>(ms));
}

std::chrono::steady_clock::duration BackPressure::held_for() const
{
    return std::chrono::steady_clock::now() - since_;
}

void BackPressure::progressed()
{
    if (any())
        moved_ = std::chrono::steady_clock::now();
}

std::chrono::steady_clock::duration BackPressure::stalled_for() const
{
    return std::chrono::steady_clock::now() - std::max(since_, moved_);
}

std::uint64_t BackPressure::held_ms() const
{
    if (!any())
        return 0;
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(held_for()).count());
}

std::uint64_t BackPressure::percentile_ms(unsigned int percent) const
{
    if (past_ms_.empty())
        return 0;
    std::vector<std::uint32_t> sorted = past_ms_;
    std::sort(sorted.begin(), sorted.end());
    if (percent == 50)
        return sorted[sorted.size() / 2];
    return sorted[std::min(sorted.size() - 1, sorted.size() * percent / 100)];
}

}  // namespace frr_ha
