// The standby's account of a TF session's received stream. The active
// mirrors bytes it has peeked at before it consumes them from the socket, so
// at any instant: consumed <= mirrored. At takeover, the bytes mirrored but
// not consumed are still at the head of the socket's queue and must be
// dropped from it once, not processed twice.
#pragma once

#include <cstdint>
#include <optional>

namespace frr_ha {

class ReceiveMirror {
public:
    // `start`: the received-stream offset where mirroring began.
    explicit ReceiveMirror(std::uint64_t start = 0) : end_(start) {}

    // Accepts mirrored bytes at `offset`; false on a gap or overlap.
    bool append(std::uint64_t offset, std::uint64_t length);
    std::uint64_t end() const { return end_; }

    // `consumed`: bytes the old active consumed from the socket (from the
    // kernel: tcpi_bytes_received - SIOCINQ). Returns how many bytes at the
    // head of the queue the standby already holds, or nothing if the active
    // consumed bytes that never reached the mirror (they are lost).
    std::optional<std::uint64_t> duplicates_in_queue(std::uint64_t consumed) const;

private:
    std::uint64_t end_;
};

}  // namespace frr_ha
