// When a full link holds an active's session back, in each direction, and
// how long past holds lasted (for show: p50, p99, max).
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

namespace frr_ha {

class BackPressure {
public:
    enum class Side { Input, Output };

    // A link took less than it was given (a new event if nothing was held).
    void hold(Side side);
    // A link took it all: once neither side is held, the hold is recorded.
    void release(Side side);
    // The session moved on while held (a link took part of it): a standby
    // slower than the session, not one that stopped.
    void progressed();
    bool held(Side side) const { return side == Side::Input ? input_ : output_; }
    bool any() const { return input_ || output_; }
    // The links are gone (a new hand-over, or unprotected): nothing is held.
    void forget() { input_ = output_ = false; }

    std::uint64_t events() const { return events_; }
    std::uint64_t held_ms() const;  // the current hold, 0 when none
    std::chrono::steady_clock::duration held_for() const;
    // Since the hold began or the session last moved on, whichever is later.
    std::chrono::steady_clock::duration stalled_for() const;
    std::uint64_t max_ms() const { return max_ms_; }
    std::uint64_t percentile_ms(unsigned int percent) const;

private:
    bool input_ = false, output_ = false;
    std::chrono::steady_clock::time_point since_{}, moved_{};
    std::vector<std::uint32_t> past_ms_;  // the last holds, a ring
    std::size_t next_ = 0;
    std::uint64_t events_ = 0, max_ms_ = 0;
};

}  // namespace frr_ha
