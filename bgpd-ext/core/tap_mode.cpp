#include "tap_mode.hpp"

namespace frr_ha {

const char *tap_mode_name(TapMode mode)
{
    switch (mode) {
    case TapMode::Recording: return "recording";
    case TapMode::HandingOver: return "handing-over";
    case TapMode::Mirroring: return "mirroring";
    case TapMode::Unprotected: return "unprotected";
    case TapMode::Released: return "released";
    case TapMode::Shadow: return "shadow";
    case TapMode::MirrorEnded: return "mirror-ended";
    case TapMode::TakingOver: return "taking-over";
    case TapMode::Live: return "live";
    case TapMode::GracefulEnd: return "graceful-end";
    }
    return "unknown";
}

// Every transition a tap makes, by the mode it goes to. A tap starts as
// Recording (a connection of the active) or Shadow (the standby's copy):
// nothing enters those two later.
bool TapState::allowed(TapMode from, TapMode to)
{
    using M = TapMode;
    switch (to) {
    case M::HandingOver:  // attach: a fresh session, one to hand over again
                          // (after its back-off), or a new active's session
        return from == M::Recording || from == M::Unprotected || from == M::Live;
    case M::Mirroring:    // the links hold the whole history
        return from == M::HandingOver;
    case M::Unprotected:  // history too long, standby gone, ended or lagging,
                          // excluded; a takeover that cannot finish the mirror
        return from == M::Recording || from == M::HandingOver || from == M::Mirroring ||
               from == M::Unprotected || from == M::TakingOver || from == M::Live;
    case M::Released:     // planned switchover: whatever this RP was doing as active
        return from == M::Recording || from == M::HandingOver || from == M::Mirroring ||
               from == M::Unprotected || from == M::Released || from == M::TakingOver ||
               from == M::Live;
    case M::MirrorEnded:  // the mirror closed under a shadow
        return from == M::Shadow;
    case M::TakingOver:   // the standby becomes active
        return from == M::Shadow || from == M::MirrorEnded;
    case M::Live:         // the mirror read to its end, duplicates dropped
        return from == M::TakingOver;
    case M::GracefulEnd:  // the shadow's session restarts gracefully instead
        return from == M::Shadow || from == M::MirrorEnded;
    case M::Recording:
    case M::Shadow:
        return false;
    }
    return false;
}

Status TapState::enter(TapMode to, const std::string &reason)
{
    if (!allowed(mode_, to))
        return Status::fail(std::string("session tap: no transition from ") + tap_mode_name(mode_) +
                            " to " + tap_mode_name(to) + (reason.empty() ? "" : " (" + reason + ")"));
    if (to == TapMode::Unprotected)
        why_ = reason;  // the latest reason, also for a session already unprotected
    else if (to == TapMode::HandingOver)
        why_.clear();
    mode_ = to;
    return Status::ok();
}

}  // namespace frr_ha
