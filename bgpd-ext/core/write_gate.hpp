// Dual-RP mode: how far an active may write to a peer, the end of the sent
// stream its standby host has confirmed (docs/dual-rp.md, "Carrying the
// streams across hosts"). A byte the peer may have must never be unknown to
// the standby, and across hosts a byte counts as known only once confirmed.
//
// The limit advances on the main thread, where the confirmations arrive, and
// is read on bgpd's I/O pthread. A session that has reached it must wait
// without spinning, and bgpd's I/O waits only for a descriptor to become
// writable (patch 0012): the session waits on a pipe kept full while it
// waits, which each advance empties.
//
// A session handed to a standby host that catches up first (docs/dual-rp.md,
// "Catching up, then protected") starts with the gate not engaged: every
// write passes, and the gate remembers how far (ungated_end), so that the
// session counts as protected only once the standby host confirmed that
// much. The relay engages the gate once the standby's shadow has caught up.
#pragma once

#include <atomic>
#include <chrono>
#include <optional>
#include <cstdint>
#include <memory>

#include "result.hpp"
#include "unique_fd.hpp"

namespace frr_ha {

class WriteGate {
public:
    // Open up to `start` (the bytes the standby is known to hold already).
    // Not `engaged`: every write passes until engage().
    static Result<std::shared_ptr<WriteGate>> make(std::uint64_t start, bool engaged = true);

    struct Made;  // only make() builds one (it may fail)
    WriteGate(const Made &, UniqueFd wake, UniqueFd wait, std::uint64_t start, bool engaged)
        : wake_(std::move(wake)), wait_(std::move(wait)), limit_(start), engaged_(engaged),
          protected_(engaged)
    {
    }
    WriteGate(const WriteGate &) = delete;
    WriteGate &operator=(const WriteGate &) = delete;

    // The sent stream's offset the active may write up to (not including).
    std::uint64_t limit() const { return limit_.load(std::memory_order_acquire); }
    // Main thread: the standby confirmed the sent stream up to `end`. Only
    // moves forward; wakes a session waiting on wait_fd().
    void allow(std::uint64_t end);
    // I/O pthread: the session stands at `offset` and the limit does not
    // pass it. True when it must wait on wait_fd(); false when the limit
    // moved past `offset` meanwhile (it can write at once).
    bool wait_past(std::uint64_t offset);
    // Writable once the limit has moved after the last wait_past().
    int wait_fd() const { return wait_.get(); }

    // --- catching up -------------------------------------------------------
    // I/O pthread: the session is about to write up to `end` (not
    // including). True: the gate is not engaged and the bytes may go (`end`
    // is remembered first); false: the limit applies.
    bool pass_ungated(std::uint64_t end);
    // Main thread: from now on the limit applies. A write that passed just
    // before is in ungated_end() by the time this returns.
    void engage();
    bool engaged() const { return engaged_.load(); }
    // How far writes went while the gate was not engaged (0: none).
    std::uint64_t ungated_end() const { return ungated_end_.load(); }
    // The standby host holds every byte the peer may have of the session
    // (engaged from the start, or caught up and confirmed since): shown as
    // protected.
    void set_protected()
    {
        protected_at_ns_.store(std::chrono::steady_clock::now().time_since_epoch().count(),
                               std::memory_order_relaxed);
        protected_.store(true, std::memory_order_release);
    }
    bool is_protected() const { return protected_.load(std::memory_order_acquire); }
    // When set_protected() was called (none: engaged from the start, or not
    // protected yet).
    std::optional<std::chrono::steady_clock::time_point> protected_at() const
    {
        if (!is_protected())
            return std::nullopt;
        auto ns = protected_at_ns_.load(std::memory_order_relaxed);
        if (ns == 0)
            return std::nullopt;
        return std::chrono::steady_clock::time_point(std::chrono::steady_clock::duration(ns));
    }
    // The standby host is out of reach and may be taking over: the session
    // waits here however long it takes (the tap's lag limit does not open
    // the way), until the gate goes with its relay.
    void seal() { sealed_.store(true, std::memory_order_release); }
    bool sealed() const { return sealed_.load(std::memory_order_acquire); }

private:
    void empty_pipe();

    UniqueFd wake_;  // the pipe's read end: emptied to wake the session
    UniqueFd wait_;  // its write end: filled while the session waits
    std::atomic<std::uint64_t> limit_;
    std::atomic<bool> sealed_{false};
    // Sequentially consistent, both: pass_ungated() stores ungated_end_ and
    // then reads engaged_, engage() stores engaged_ and the relay then reads
    // ungated_end_, so no write passes that the relay does not count.
    std::atomic<bool> engaged_;
    std::atomic<std::uint64_t> ungated_end_{0};
    std::atomic<bool> protected_;
    std::atomic<std::chrono::steady_clock::rep> protected_at_ns_{0};
};

}  // namespace frr_ha
