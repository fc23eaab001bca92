// The ownership lock's robust mutex (life_lock.hpp): real processes, a real
// SIGKILL, the kernel's own hand-over of the mutex.
#include <catch2/catch.hpp>

#include "life_lock.hpp"

#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <string>

using frr_ha::LifeLock;

namespace {

std::string lock_path()
{
    char dir[] = "/tmp/frr-ha-life-lock-XXXXXX";
    REQUIRE(mkdtemp(dir) != nullptr);
    return std::string(dir) + "/bgpd-ha.life";
}

std::unique_ptr<LifeLock> open_lock(const std::string &path)
{
    auto lock = LifeLock::open(path);
    REQUIRE(lock);
    return std::move(*lock);
}

bool readable(int fd, int timeout_ms)
{
    struct pollfd p = {fd, POLLIN, 0};
    return poll(&p, 1, timeout_ms) == 1;
}

// A process that holds the lock with `mib` MiB of memory in use, then waits
// to be killed. Returns its pid once it holds the lock.
pid_t holder_process(const std::string &path, std::size_t mib)
{
    int ready[2];
    REQUIRE(pipe(ready) == 0);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        auto lock = LifeLock::open(path);
        if (!lock || !(*lock)->try_acquire())
            _exit(1);
        // Many small blocks, as bgpd's records are: its exit frees them.
        for (std::size_t i = 0; i < (mib << 20) / 128; i++)
            memset(malloc(128), 1, 128);
        (void)!write(ready[1], "x", 1);
        pause();
        _exit(0);
    }
    close(ready[1]);
    char c;
    REQUIRE(read(ready[0], &c, 1) == 1);
    close(ready[0]);
    return pid;
}

}  // namespace

TEST_CASE("one holder at a time; a release lets the other take it", "[life lock]")
{
    const auto path = lock_path();
    auto a = open_lock(path), b = open_lock(path);
    CHECK(a->try_acquire());
    CHECK(a->state() == LifeLock::State::Held);
    CHECK_FALSE(b->try_acquire());
    CHECK(b->state() == LifeLock::State::Free);
    a->release();
    CHECK(a->state() == LifeLock::State::Free);
    CHECK(b->try_acquire());
    CHECK_FALSE(b->previous_holder_died());
    CHECK_FALSE(a->try_acquire());
}

TEST_CASE("a waiter gets the lock when the holder lets it go, and hears it on its event fd", "[life lock]")
{
    const auto path = lock_path();
    auto a = open_lock(path), b = open_lock(path);
    REQUIRE(a->try_acquire());
    b->wait();
    CHECK(b->state() == LifeLock::State::Waiting);
    CHECK_FALSE(b->try_acquire());  // at once, without blocking
    CHECK_FALSE(readable(b->event_fd(), 300));
    a->release();
    REQUIRE(readable(b->event_fd(), 5000));
    CHECK(b->state() == LifeLock::State::Held);
    CHECK_FALSE(b->previous_holder_died());
    std::uint64_t n = 0;
    CHECK(read(b->event_fd(), &n, sizeof(n)) == sizeof(n));
    CHECK(n == 1);
    CHECK_FALSE(a->try_acquire());
}

TEST_CASE("a waiter that stops waiting takes nothing", "[life lock]")
{
    const auto path = lock_path();
    auto a = open_lock(path), b = open_lock(path);
    REQUIRE(a->try_acquire());
    b->wait();
    b->release();
    CHECK(b->state() == LifeLock::State::Free);
    a->release();
    CHECK_FALSE(readable(b->event_fd(), 300));
    CHECK(b->state() == LifeLock::State::Free);
    CHECK(a->try_acquire());
}

TEST_CASE("a holder killed with SIGKILL hands the lock to the waiter before its exit is "
          "over",
          "[life lock]")
{
    const auto path = lock_path();
    pid_t holder = holder_process(path, 1024);
    int pidfd = static_cast<int>(syscall(SYS_pidfd_open, holder, 0));
    REQUIRE(pidfd >= 0);
    auto b = open_lock(path);
    CHECK_FALSE(b->try_acquire());
    b->wait();
    REQUIRE(kill(holder, SIGKILL) == 0);
    REQUIRE(readable(b->event_fd(), 10000));
    CHECK(b->state() == LifeLock::State::Held);
    CHECK(b->previous_holder_died());
    // The process is still freeing its GiB: its exit (what a pidfd, an
    // flock or a socket's end of stream would tell) has not happened yet.
    CHECK_FALSE(readable(pidfd, 0));
    CHECK(readable(pidfd, 10000));
    close(pidfd);
    waitpid(holder, nullptr, 0);
    // Once taken over, the lock works as before.
    auto c = open_lock(path);
    CHECK_FALSE(c->try_acquire());
    b->release();
    CHECK(c->try_acquire());
    CHECK_FALSE(c->previous_holder_died());
}

TEST_CASE("a holder that dies without a waiter leaves the lock to the next that tries", "[life lock]")
{
    const auto path = lock_path();
    pid_t holder = holder_process(path, 1);
    REQUIRE(kill(holder, SIGKILL) == 0);
    waitpid(holder, nullptr, 0);
    auto b = open_lock(path);
    CHECK(b->try_acquire());
    CHECK(b->previous_holder_died());
}

TEST_CASE("a lock file that cannot be opened is an error that says which", "[life lock]")
{
    auto lock = LifeLock::open("/nonexistent-frr-ha-dir/bgpd-ha.life");
    REQUIRE_FALSE(lock);
    CHECK(lock.why().find("open /nonexistent-frr-ha-dir/bgpd-ha.life") == 0);
}
