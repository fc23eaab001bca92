// Where a session's bytes go, and the one place a tap's mode changes.
// Every transition of every tap goes through TapState::enter, which checks
// it against the table in tap_mode.cpp: a reader sees all of them there.
#pragma once

#include <string>

#include "result.hpp"

namespace frr_ha {

// The order is the C API's (enum frr_ha_tap_mode, checked in c_api_tap.cpp).
enum class TapMode {
    Recording,     // active, not handed over (yet): plain I/O, counted
    HandingOver,   // active, descriptors passed, the history streaming
    Mirroring,     // active, handed over: peek-mirror-consume, log-then-write
    Unprotected,   // active, cannot be handed over (history lost or standby gone)
    Released,      // old active after a planned switchover: no I/O at all
    Shadow,        // standby: input from the mirror, output swallowed
    MirrorEnded,   // standby: the mirror closed; waiting to know why
    TakingOver,    // new active: finishing the mirror, then the socket
    Live,          // new active: plain I/O on the socket
    GracefulEnd,   // new active, graceful restart: reads end of stream at once
};

const char *tap_mode_name(TapMode mode);

class TapState {
public:
    explicit TapState(TapMode start) : mode_(start) {}

    TapMode mode() const { return mode_; }
    // Why the session is not protected (the reason it entered Unprotected
    // with, kept until it is handed over again).
    const std::string &why_unprotected() const { return why_; }

    // Whether the table has the transition (an unchanged Unprotected or
    // Released is one: a newer reason, a second release).
    static bool allowed(TapMode from, TapMode to);
    // Moves to `to` if the table allows it; else stays, and says why.
    Status enter(TapMode to, const std::string &reason = {});

private:
    TapMode mode_;
    std::string why_;
};

}  // namespace frr_ha
