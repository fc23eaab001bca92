// The history of one of a session's streams for a hand-over: the bytes that
// bring a standby's shadow to where the stream stands
// (docs/transparent-failover.md). A new session's history is its own bytes;
// an older one's is made from what the stream holds (its OPEN, a KEEPALIVE,
// the routes as UPDATEs, the message in progress) a part at a time, as the
// link takes it. Making it costs no pause of the session, and its memory is
// one part, whatever the table's size.
//
// The record goes on changing while the history is made: every message
// that changes it after the hand-over also follows the history on the link,
// so the standby ends in the same state whichever version of a prefix the
// history gave.
#pragma once

#include <cstdint>
#include <string>

#include "result.hpp"
#include "stream_rib.hpp"

namespace frr_ha {

class HistoryStream {
public:
    // No history: the link starts with what passes from now on.
    HistoryStream() = default;
    // The stream's bytes as they passed.
    static HistoryStream of_bytes(std::string bytes);
    // Made from `rib` (which must outlive this): `head`, the routes,
    // End-of-RIB, then `tail` (the part of a message already taken).
    static HistoryStream of_record(std::string head, const StreamRib &rib, std::string tail,
                                   std::size_t max_message);

    // Appends the next part (about `budget` bytes) to `out`; false (and
    // why) when the history cannot be made, e.g. the record was given up.
    Status next(std::string &out, std::size_t budget);
    bool done() const { return step_ == Step::Done; }
    // Bytes given so far.
    std::uint64_t made() const { return made_; }

private:
    enum class Step { Head, Routes, Tail, Done };
    void give(std::string &out, std::string &bytes);

    Step step_ = Step::Done;
    std::string head_, tail_;
    const StreamRib *rib_ = nullptr;
    StreamRib::Cursor cursor_;
    std::size_t max_message_ = 0;
    std::uint64_t made_ = 0;
};

}  // namespace frr_ha
