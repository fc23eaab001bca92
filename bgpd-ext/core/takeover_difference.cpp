#include "takeover_difference.hpp"

namespace frr_ha {

void TakeoverDifference::sent(const struct iovec *iov, int iovcnt)
{
    for (int i = 0; i < iovcnt; i++)
        track_.feed(iov[i].iov_base, iov[i].iov_len);
    while (auto msg = track_.next())
        sent_.apply(*msg);
}

Result<std::vector<std::string>> TakeoverDifference::take(const StreamRib &peer_holds,
                                                          std::size_t max_message)
{
    if (!pending_)
        return std::vector<std::string>{};
    pending_ = false;
    std::vector<std::string> messages;
    if (!peer_holds.usable() || !sent_.usable()) {
        problem_ = peer_holds.usable() ? sent_.why() : peer_holds.why();
    } else {
        messages = peer_holds.diff_to(sent_, max_message);
        messages_ = messages.size();
    }
    sent_ = StreamRib();
    if (!problem_.empty())
        return Result<std::vector<std::string>>::fail(problem_);
    return messages;
}

}  // namespace frr_ha
