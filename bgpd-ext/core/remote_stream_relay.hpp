// Dual-RP mode, on the active's host: the far end of one handed-over
// session's links (docs/dual-rp.md, "The active's side across hosts").
//
// The tap (active_tap.hpp) hands a session over and mirrors it into unix
// links exactly as in local mode; across hosts nothing reads those links
// but this relay, which plays the standby's ends of them. It reads both
// streams into a StreamSender as far as its window takes (a full window
// leaves the bytes in the link, whose fullness holds the session back as in
// local mode), gives their chunks to the data channel, and turns the
// standby's confirmations into the write gate (the sent stream: the tap
// writes to the peer only confirmed bytes) and into the received stream's
// confirmed end (for the hold, ack_hold.hpp). The history's end, which the
// tap tells on the hand-over connection, and the standby's word back (it
// ended its shadow) pass through it too.
//
// Runs on bgpd's main thread (the data channel's); the tap's side runs on
// the I/O pthread; the kernel's links and the gate are all they share.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "handover_messages.hpp"
#include "remote_streams.hpp"
#include "result.hpp"
#include "unique_fd.hpp"
#include "write_gate.hpp"

namespace frr_ha {

class RemoteStreamRelay {
public:
    // The links' far ends as the tap got the near ones: `input_link` (the
    // received stream; the standby's word goes back on it),
    // `sendlog_link` (the sent stream), `handover_conn` (the history's
    // end). Both streams count from the history's first byte.
    RemoteStreamRelay(std::uint64_t session, UniqueFd input_link, UniqueFd sendlog_link,
                      UniqueFd handover_conn, std::shared_ptr<WriteGate> gate,
                      std::size_t window = StreamSender::kDefaultWindow);

    // Takes what the links and the hand-over connection hold, as far as
    // the window has room. Fails, with the reason, once the tap has
    // dropped the session's links (it is unprotected or closed): the
    // relay is done and the standby's receiver must go too.
    Status pump();
    // The next chunk for the data channel, at most `max` bytes.
    std::optional<StreamChunk> next_chunk(std::size_t max) { return sender_.next_chunk(max); }
    // The history's end, once the tap told it (given once).
    std::optional<HistoryEnd> take_history_end();

    // The standby's confirmation: the gate opens that far. A refused one
    // (past what was sent, another session) changes nothing.
    Status confirmed(const StreamAck &ack);
    // The standby ended its shadow: the tap hears why (and leaves the
    // session unprotected, to hand it over again after a back-off).
    void standby_ended(const std::string &why);

    std::uint64_t session() const { return sender_.session(); }
    std::uint64_t confirmed_end(StreamKind kind) const { return sender_.confirmed_end(kind); }
    std::uint64_t offered_end(StreamKind kind) const { return sender_.offered_end(kind); }
    // A receive-only session's tap closes the send log after the history.
    bool sent_stream_ended() const { return sendlog_ended_; }
    // The descriptors the caller watches for input (-1 once done with).
    int input_fd() const { return input_link_.get(); }
    int sendlog_fd() const { return sendlog_link_.get(); }
    int handover_fd() const { return handover_conn_.get(); }

    // The session's write gate (the relay opens it as the standby confirms).
    WriteGate &gate() { return *gate_; }
    const WriteGate &gate() const { return *gate_; }

private:
    Status take_link(UniqueFd &link, StreamKind kind, bool *ended);

    UniqueFd input_link_, sendlog_link_, handover_conn_;
    std::shared_ptr<WriteGate> gate_;
    StreamSender sender_;
    std::optional<HistoryEnd> history_end_;
    bool sendlog_ended_ = false;
};

}  // namespace frr_ha
