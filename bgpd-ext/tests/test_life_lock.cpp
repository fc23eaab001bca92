// An RP's life page (life_lock.hpp): real processes, a real SIGKILL, the
// kernel's own hand-over of robust mutexes.
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

std::string page_path()
{
    char dir[] = "/tmp/frr-ha-life-lock-XXXXXX";
    REQUIRE(mkdtemp(dir) != nullptr);
    return std::string(dir) + "/bgpd-ha-rpa.life";
}

std::unique_ptr<LifeLock> open_page(const std::string &path)
{
    auto page = LifeLock::open(path);
    REQUIRE(page);
    return std::move(*page);
}

bool readable(int fd, int timeout_ms)
{
    struct pollfd p = {fd, POLLIN, 0};
    return poll(&p, 1, timeout_ms) == 1;
}

// A process that holds what `roles` says of the page (the life mutex, its
// main thread's writer mutex) with `mib` MiB of memory in use, then waits
// to be killed. Returns its pid once it holds them.
enum Roles { kLife = 1, kWriter = 2 };
pid_t page_process(const std::string &path, int roles, std::size_t mib)
{
    int ready[2];
    REQUIRE(pipe(ready) == 0);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        auto page = LifeLock::open(path);
        if (!page || ((roles & kLife) && !(*page)->hold()) ||
            ((roles & kWriter) && !(*page)->hold_writer(LifeLock::Writer::Main)))
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

void kill_and_reap(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
}

}  // namespace

TEST_CASE("an RP's page is held by one live holder at a time", "[life lock]")
{
    const auto path = page_path();
    auto a = open_page(path), b = open_page(path);
    REQUIRE(a->hold());
    CHECK(a->state() == LifeLock::State::Holding);
    auto refused = b->hold();
    REQUIRE_FALSE(refused);
    CHECK(refused.why() == "held by process " + std::to_string(getpid()));
    CHECK(b->state() == LifeLock::State::Idle);
    a.reset();  // a holder that ends cleanly lets it go
    CHECK(b->hold());
}

TEST_CASE("a watcher hears a holder killed with SIGKILL before its exit is over", "[life lock]")
{
    const auto path = page_path();
    pid_t holder = page_process(path, kLife | kWriter, 1024);
    int pidfd = static_cast<int>(syscall(SYS_pidfd_open, holder, 0));
    REQUIRE(pidfd >= 0);
    auto w = open_page(path);
    w->watch();
    CHECK(w->state() == LifeLock::State::Watching);
    CHECK_FALSE(readable(w->event_fd(), 300));
    REQUIRE(kill(holder, SIGKILL) == 0);
    REQUIRE(readable(w->event_fd(), 10000));
    CHECK(w->state() == LifeLock::State::Heard);
    CHECK(w->died_pid() == holder);
    // The process is still freeing its GiB: its exit (what a pidfd, an
    // flock or a socket's end of stream would tell) has not happened yet.
    CHECK_FALSE(readable(pidfd, 0));
    CHECK(readable(pidfd, 10000));
    close(pidfd);
    waitpid(holder, nullptr, 0);
    // The page is free for the partner's next process, and watched again.
    w->stop_watching();
    CHECK_FALSE(readable(w->event_fd(), 0));
    pid_t next = page_process(path, kLife | kWriter, 1);
    w->watch();
    CHECK_FALSE(readable(w->event_fd(), 300));
    kill_and_reap(next);
    REQUIRE(readable(w->event_fd(), 10000));
    CHECK(w->died_pid() == next);
}

TEST_CASE("a death is heard only once every writer of the page has died too", "[life lock]")
{
    // The life mutex in one process, a writer's in another: the watcher
    // must wait for both (in bgpd, the I/O pthread's last write).
    const auto path = page_path();
    pid_t life = page_process(path, kLife, 1);
    pid_t writer = page_process(path, kWriter, 1);
    auto w = open_page(path);
    w->watch();
    kill_and_reap(life);
    CHECK_FALSE(readable(w->event_fd(), 500));
    CHECK(w->state() == LifeLock::State::Watching);
    kill_and_reap(writer);
    REQUIRE(readable(w->event_fd(), 10000));
    CHECK(w->died_pid() == life);
}

TEST_CASE("a page nobody holds, or whose holder lets go, is no death", "[life lock]")
{
    const auto path = page_path();
    auto w = open_page(path);
    w->watch();
    CHECK_FALSE(readable(w->event_fd(), 300));  // an RP down, or older
    {
        auto a = open_page(path);
        REQUIRE(a->hold());
        REQUIRE(a->hold_writer(LifeLock::Writer::Io));
        CHECK(a->writer_held(LifeLock::Writer::Io));
        a->let_writer_go(LifeLock::Writer::Io);
        CHECK_FALSE(a->writer_held(LifeLock::Writer::Io));
    }  // a clean stop
    CHECK_FALSE(readable(w->event_fd(), 300));
    CHECK(w->state() == LifeLock::State::Watching);
    CHECK(w->died_pid() == 0);
}

TEST_CASE("a watcher that stops watching hears nothing after", "[life lock]")
{
    const auto path = page_path();
    pid_t holder = page_process(path, kLife, 1);
    auto w = open_page(path);
    w->watch();
    w->stop_watching();
    CHECK(w->state() == LifeLock::State::Idle);
    kill_and_reap(holder);
    CHECK_FALSE(readable(w->event_fd(), 300));
    CHECK(w->died_pid() == 0);
    // Its holder died unheard: the next holder takes it at once.
    auto next = open_page(path);
    CHECK(next->hold());
    CHECK(next->hold_writer(LifeLock::Writer::Main));
}

TEST_CASE("a page that cannot be opened is an error that says which", "[life lock]")
{
    auto page = LifeLock::open("/nonexistent-frr-ha-dir/bgpd-ha-rpa.life");
    REQUIRE_FALSE(page);
    CHECK(page.why().find("open /nonexistent-frr-ha-dir/bgpd-ha-rpa.life") == 0);
}
