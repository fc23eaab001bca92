// The standby's record of what the active wrote (or was about to write) on a
// TF session, message by message, with each message's offset in the sent
// stream. At takeover it tells what to write so that the peer's stream ends
// on a message boundary, never with a byte twice.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

namespace frr_ha {

class SendLog {
public:
    explicit SendLog(std::uint64_t start = 0) : begin_(start), end_(start) {}

    // Records the message the active writes at `offset`. Refused (false) if
    // it does not start where the log ends: a gap or an overlap means the
    // log no longer describes the stream.
    bool append(std::uint64_t offset, std::string message);
    // Forgets messages wholly before `acked` (the peer has them).
    void trim(std::uint64_t acked);
    // Removes the messages wholly before `offset` and returns them.
    std::vector<std::string> take_until(std::uint64_t offset);

    // The logged bytes from `offset` (begin() <= offset <= end()) to the end.
    std::string bytes_from(std::uint64_t offset) const;

    std::uint64_t begin() const { return begin_; }
    std::uint64_t end() const { return end_; }
    std::size_t messages() const { return log_.size(); }

    struct Resume {
        std::string complete;   // bytes that finish a half-written message
        std::uint64_t boundary;  // stream offset after them: the next message starts here
        std::size_t unwritten;  // logged messages never started (left to the diff)
    };
    // How to resume after the old writer got as far as `written` bytes.
    // Nothing if the log cannot tell (written outside what it holds).
    std::optional<Resume> resume(std::uint64_t written) const;

private:
    struct Entry {
        std::uint64_t offset;
        std::string bytes;
    };
    std::deque<Entry> log_;
    std::uint64_t begin_;
    std::uint64_t end_;
};

}  // namespace frr_ha
