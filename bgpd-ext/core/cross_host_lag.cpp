// The lag limit through the hold (CrossHostStreams::end_lagging): across
// hosts a standby that confirms slowly holds a session back by its peer's
// acknowledgements, which no link of the tap sees, so the relay watches it.
#include "cross_host_streams.hpp"

#include <iterator>
#include <string>

namespace frr_ha {

std::size_t CrossHostStreams::end_lagging(std::chrono::milliseconds lag_limit,
                                          std::chrono::steady_clock::time_point now)
{
    const bool late = last_lag_check_ != std::chrono::steady_clock::time_point{} &&
                      now - last_lag_check_ > kLateLagCheck;
    last_lag_check_ = now;
    if (!hold_ || late)
        return 0;
    std::size_t ended = 0;
    for (auto it = relays_.begin(); it != relays_.end();) {
        auto next = std::next(it);
        const Relay &r = it->second;
        if (r.held && !r.cut && r.socket && r.socket->connection) {
            const std::chrono::milliseconds waited = hold_->longest_wait(*r.socket->connection, now);
            if (waited > lag_limit) {
                counters_.hold_lagging++;
                ended++;
                end_relay(it,
                          "standby lagging: the peer's acknowledgement waited " +
                              std::to_string(waited.count()) +
                              " ms for the standby host's confirmation",
                          true, true);
            }
        }
        it = next;
    }
    return ended;
}

}  // namespace frr_ha
