// Dual-RP: the link of the service addresses' interface (docs/dual-rp.md,
// "The service link"). The peers reach the router through the active's
// host alone; a host whose interface towards them lost its link can keep
// no session going, while its partner, on its own link, can continue every
// TF session. So an active without the link hands its role to a ready
// standby as a planned switchover would (no lease to wait for: it steps
// down first), and a standby without the link is not ready: the active
// would hand it sessions it could not continue. Nothing happens in local
// mode (one host, one link), nor with the switchover turned off.
#include "pair_node.hpp"

namespace frr_ha {

void PairNode::service_link(const std::string &lost_interface, Millis now)
{
    if (local_mode())
        return;
    if (lost_interface != link_lost_) {
        if (!lost_interface.empty())
            log(LogLevel::Warning, "the service interface " + lost_interface +
                                       " lost its link on this host" +
                                       (role_ == Role::Active ? "" : ": not ready to take over"));
        else
            log(LogLevel::Info, "the service interface " + link_lost_ +
                                    " has its link again on this host");
        link_lost_ = lost_interface;
        link_refusal_.clear();
        // The partner hears the readiness this changes at once.
        broadcast_status();
    }
    if (link_lost_.empty() || role_ != Role::Active || !config_.switchover_on_link_loss)
        return;
    const std::string why = request_switchover(now, SwitchoverReason::LinkLoss);
    if (why.empty() || why == link_refusal_)
        return;
    log(LogLevel::Error, "the service interface " + link_lost_ +
                             " has no link, but the active role stays on this host: " + why);
    link_refusal_ = why;
}

}  // namespace frr_ha
