// How a standby hears its active die before the kernel has torn it down.
//
// Each RP has a page of its own (a small file both RPs map) holding robust,
// process-shared mutexes: the RP's "life" mutex, held by a thread of this
// class for the process's whole life, and one mutex per thread that writes
// to peers' sockets or to the standby's links (bgpd's main thread and its
// I/O pthread), each held by that thread. The partner watches the page.
// When the process is killed, the kernel marks each mutex "owner died" as
// its thread leaves user space: the watcher gets the life mutex, then each
// writer's, and knows then that no write of the dead process is still in
// flight (a thread that left user space finished or abandoned its system
// call): what it wrote is in the links' queues, and nothing more will come.
// That is 0.01-0.1 ms after the kill; the other signs of a death (the
// channel's end of stream, the ownership flock's release, a pidfd) come
// only after the process's memory is torn down, which grows with its size:
// 17 ms for 500 MiB of small blocks, 60 ms for 2 GiB (docs/benchmarks.md,
// "Where the takeover time goes").
//
// The ownership lock (an flock) still says who is active; this only tells
// that its holder is dead while the flock is not yet dropped
// (docs/ha-pair.md, "The ownership lock"). An RP of an older version holds
// no page: its partner then waits for the flock as before.
#pragma once

#include "result.hpp"
#include "unique_fd.hpp"

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace frr_ha {

class LifeLock {
public:
    // The threads that write where a takeover reads.
    enum class Writer { Main = 0, Io = 1 };
    static constexpr int kWriters = 2;

    enum class State {
        Idle,      // neither holding nor watching
        Holding,   // this process's own page: its life mutex is held
        Watching,  // a partner's page: waiting for its death
        Heard,     // a partner's page: its holder and every writer died
    };

    // Opens (or makes) the page at `path`; its mutexes are made once, by
    // whoever finds the file empty.
    static Result<std::unique_ptr<LifeLock>> open(const std::string &path);
    ~LifeLock();
    LifeLock(const LifeLock &) = delete;
    LifeLock &operator=(const LifeLock &) = delete;

    // --- this process's own page ---
    // Takes the life mutex for the process's life (this object's) and
    // records the pid. Fails while another live process holds it (two RPs
    // configured with one name).
    Status hold();
    // Called by the writer thread itself: that thread holds its mutex until
    // it dies or calls let_writer_go(). False while another live process
    // holds it.
    bool hold_writer(Writer writer);
    void let_writer_go(Writer writer);
    bool writer_held(Writer writer) const { return writers_held_[static_cast<int>(writer)].load(); }

    // --- a partner's page ---
    // Waits in the background until the page's holder and its writers are
    // dead; the event fd is readable then (state() says Heard). A page
    // nobody holds (the partner is down, or older) is looked at again every
    // wait slice. Does nothing unless Idle.
    void watch();
    // Stops watching (or forgets what was heard): Idle again.
    void stop_watching();
    // The pid of the process heard to die (0 if none).
    pid_t died_pid() const { return died_pid_.load(); }
    // When it was heard (CLOCK_MONOTONIC, microseconds; 0 if none).
    std::uint64_t heard_at_us() const { return heard_at_us_.load(); }

    State state() const { return state_.load(); }
    int event_fd() const { return event_.get(); }

    // For open() only (the key is private).
    struct Key {
    private:
        friend class LifeLock;
        Key() = default;
    };
    LifeLock(Key, UniqueFd file, void *mapping);

private:
    enum class Command { None, Hold, Watch, StopWatching, Quit };

    void run();
    // In the lock's thread: wait for the holder's death; true if heard
    // (false: a command came).
    bool watch_for_death(std::unique_lock<std::mutex> &lock);
    // Waits (in slices, hearing commands) for a mutex; its rc, or -1 if a
    // command came first.
    int lock_in_slices(void *mutex, std::unique_lock<std::mutex> &lock);

    UniqueFd file_;
    void *mapping_;  // the file's one page
    UniqueFd event_;
    std::atomic<State> state_{State::Idle};
    std::atomic<pid_t> died_pid_{0};
    std::atomic<std::uint64_t> heard_at_us_{0};
    std::atomic<bool> writers_held_[kWriters] = {};

    std::mutex mu_;
    std::condition_variable cv_;
    Command command_ = Command::None;
    bool answered_ = false;
    Status answer_ = Status::ok();
    std::thread thread_;
};

}  // namespace frr_ha
