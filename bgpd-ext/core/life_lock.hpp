// The part of the ownership lock that hears the active die at once.
//
// A robust, process-shared mutex in a small file both RPs map: the active
// holds it for its whole life; the standby waits for it. When the holder is
// killed, the kernel marks the mutex "owner died" and hands it to the
// waiter as soon as the dying thread leaves user space, before the process
// tears down its memory. The other signs of a death (the channel's end of
// stream, an flock's release, a pidfd) come only after that teardown,
// which grows with the process's size: 17 ms for 500 MiB of small blocks,
// 60 ms for 2 GiB, some 250 ms for a bgpd with a full table in several
// sessions' records, against 0.05 ms for this (docs/ha-pair.md, "The
// ownership lock").
//
// A pthread mutex is owned by a thread, so one thread of ours does every
// lock and unlock, and lives as long as the process: it holds the mutex
// while this RP owns it, and waits on it while asked to. Its death, with
// the process, is what the partner hears.
//
// Not wired into the pair yet (docs/benchmarks.md, "Where the takeover
// time goes"): the death of this thread says the process is being killed,
// not that its other threads are done. bgpd's I/O pthread may still be
// inside a write to a peer's socket or to the send log, so a takeover must
// also hear that thread's own robust mutex, which it would lock on its own
// event loop. The flock stays beside it for an RP of an older version.
#pragma once

#include "result.hpp"
#include "unique_fd.hpp"

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace frr_ha {

class LifeLock {
public:
    enum class State { Free, Waiting, Held };

    // Opens (or makes) the lock file at `path`; the mutex in it is made
    // once, by whoever finds the file empty.
    static Result<std::unique_ptr<LifeLock>> open(const std::string &path);
    ~LifeLock();
    LifeLock(const LifeLock &) = delete;
    LifeLock &operator=(const LifeLock &) = delete;

    // Takes the mutex if nobody holds it (or its holder died). False, at
    // once, while another process holds it or while this RP waits for it.
    bool try_acquire();
    // Waits for the mutex in the background; the event fd becomes readable
    // when it is this RP's (state() then says Held). Does nothing if held.
    void wait();
    // Stops waiting, or lets the mutex go.
    void release();

    State state() const { return state_.load(); }
    // Whether the last acquisition found the previous holder dead.
    bool previous_holder_died() const { return holder_died_.load(); }
    // Readable once per acquisition made by wait(); read it to clear.
    int event_fd() const { return event_.get(); }

    // For open() only (the key is private).
    struct Key {
    private:
        friend class LifeLock;
        Key() = default;
    };
    LifeLock(Key, UniqueFd file, void *mapping);

private:
    enum class Command { None, TryAcquire, Wait, Release, Quit };

    void run();
    // In the lock's thread: the result of a lock call; true if held.
    bool took(int rc);

    UniqueFd file_;
    void *mapping_;  // the file's one page: the mutex
    UniqueFd event_;
    std::atomic<State> state_{State::Free};
    std::atomic<bool> holder_died_{false};

    std::mutex mu_;
    std::condition_variable cv_;
    Command command_ = Command::None;
    bool answered_ = false;
    bool answer_ = false;
    std::thread thread_;
};

}  // namespace frr_ha
