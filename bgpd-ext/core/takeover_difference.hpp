// What a shadow's own FSM sent (swallowed on the standby, written after the
// takeover until the difference is taken): the state it believes the peer
// has. At takeover the peer is brought from what the old active had
// written to it, and not one prefix further.
#pragma once

#include <sys/uio.h>

#include <string>
#include <vector>

#include "bgp_stream.hpp"
#include "result.hpp"
#include "stream_rib.hpp"

namespace frr_ha {

class TakeoverDifference {
public:
    // A write of this RP's FSM.
    void sent(const struct iovec *iov, int iovcnt);
    // Whether a difference could be made from this record now.
    Status usable() const
    {
        return sent_.usable() ? Status::ok() : Status::fail(sent_.why());
    }
    // The takeover happened: the difference waits to be taken. What this RP
    // writes meanwhile goes to record() as well (TapStreams::also_record_sent).
    void start() { pending_ = true; }
    bool pending() const { return pending_; }
    StreamRib *record() { return &sent_; }
    // Once: the messages that bring the peer from `peer_holds` to what this
    // RP's FSM sent (none when not pending), or why they cannot be made.
    Result<std::vector<std::string>> take(const StreamRib &peer_holds, std::size_t max_message);

    std::size_t messages() const { return messages_; }
    const std::string &problem() const { return problem_; }
    std::size_t sent_prefixes() const { return sent_.prefixes(); }

private:
    BgpStreamFramer track_{kBgpMaxExtendedMessage};
    StreamRib sent_;
    bool pending_ = false;
    std::size_t messages_ = 0;
    std::string problem_;
};

}  // namespace frr_ha
