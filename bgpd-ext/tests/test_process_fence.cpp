// Fencing through a pidfd, with real processes: a child at the other end of
// a unix socket is found, stopped (as a hung bgpd), killed through its
// pidfd; and a pidfd whose process is gone never signals the process that
// got its pid afterwards.
#include <catch2/catch.hpp>

#include "process_fence.hpp"

#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>

using namespace frr_ha;

namespace {

std::string socket_path()
{
    return "/tmp/frr-ha-fence-test-" + std::to_string(::getpid()) + ".sock";
}

sockaddr_un address(const std::string &path)
{
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    std::snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path.c_str());
    return sun;
}

// A child that connects to `path` and then waits to be killed.
pid_t connecting_child(const std::string &path)
{
    pid_t pid = ::fork();
    if (pid == 0) {
        int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
        auto sun = address(path);
        if (::connect(fd, reinterpret_cast<sockaddr *>(&sun), sizeof(sun)) < 0)
            ::_exit(1);
        for (;;)
            ::pause();
    }
    return pid;
}

// The accepting end of a connection from a new child.
struct Accepted {
    pid_t child = -1;
    UniqueFd sock;
};

Accepted accept_child()
{
    const auto path = socket_path();
    ::unlink(path.c_str());
    UniqueFd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    auto sun = address(path);
    REQUIRE(::bind(listener.get(), reinterpret_cast<sockaddr *>(&sun), sizeof(sun)) == 0);
    REQUIRE(::listen(listener.get(), 1) == 0);
    Accepted out;
    out.child = connecting_child(path);
    REQUIRE(out.child > 0);
    out.sock.reset(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    ::unlink(path.c_str());
    REQUIRE(out.sock);
    return out;
}

bool wait_exited(int pidfd, int ms)
{
    struct pollfd p {};
    p.fd = pidfd;
    p.events = POLLIN;
    return ::poll(&p, 1, ms) > 0;
}

int reap(pid_t pid)
{
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    return status;
}

// A child with the given pid (clone3 with set_tid: root only); -1 if the
// kernel refuses.
pid_t child_with_pid(pid_t wanted)
{
    clone_args args{};
    args.exit_signal = SIGCHLD;
    pid_t tid = wanted;
    args.set_tid = reinterpret_cast<std::uint64_t>(&tid);
    args.set_tid_size = 1;
    long r = ::syscall(SYS_clone3, &args, sizeof(args));
    if (r == 0) {
        for (;;)
            ::pause();
    }
    return r > 0 ? static_cast<pid_t>(r) : -1;
}

}  // namespace

TEST_CASE("the process at the other end of a unix socket is found, stopped and killed")
{
    for (auto way : {PeerPidfdWay::Best, PeerPidfdWay::PeerCredOnly}) {
        auto acc = accept_child();
        auto peer = peer_process(acc.sock.get(), way);
        INFO(peer.error);
        REQUIRE(peer.pidfd);
        CHECK(peer.pid == acc.child);
        CHECK_FALSE(process_exited(peer.pidfd.get()));

        // Hung: stopped, as with SIGSTOP on a bgpd.
        REQUIRE(::kill(acc.child, SIGSTOP) == 0);
        int status = 0;
        REQUIRE(::waitpid(acc.child, &status, WUNTRACED) == acc.child);
        REQUIRE(WIFSTOPPED(status));

        CHECK(kill_process(peer.pidfd.get()).empty());
        CHECK(wait_exited(peer.pidfd.get(), 5000));
        CHECK(process_exited(peer.pidfd.get()));
        status = reap(acc.child);
        CHECK(WIFSIGNALED(status));
        CHECK(WTERMSIG(status) == SIGKILL);
    }
}

TEST_CASE("the listening process is found from the connecting side")
{
    const auto path = socket_path();
    ::unlink(path.c_str());
    int ready[2];
    REQUIRE(::pipe(ready) == 0);
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
        auto sun = address(path);
        if (::bind(fd, reinterpret_cast<sockaddr *>(&sun), sizeof(sun)) < 0 || ::listen(fd, 1) < 0)
            ::_exit(1);
        (void)!::write(ready[1], "x", 1);
        for (;;)
            ::pause();
    }
    char c;
    REQUIRE(::read(ready[0], &c, 1) == 1);
    ::close(ready[0]);
    ::close(ready[1]);
    UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    auto sun = address(path);
    REQUIRE(::connect(sock.get(), reinterpret_cast<sockaddr *>(&sun), sizeof(sun)) == 0);
    ::unlink(path.c_str());
    auto peer = peer_process(sock.get());
    REQUIRE(peer.pidfd);
    CHECK(peer.pid == child);
    CHECK(kill_process(peer.pidfd.get()).empty());
    CHECK(WTERMSIG(reap(child)) == SIGKILL);
}

TEST_CASE("a pidfd whose process is gone never signals the process that reuses its pid")
{
    auto acc = accept_child();
    auto peer = peer_process(acc.sock.get());
    REQUIRE(peer.pidfd);
    const pid_t old_pid = acc.child;
    REQUIRE(::kill(old_pid, SIGKILL) == 0);
    reap(old_pid);  // the pid is free for the kernel to give again
    acc.sock.reset();
    CHECK(process_exited(peer.pidfd.get()));

    pid_t reused = child_with_pid(old_pid);
    if (reused < 0) {
        WARN("cannot create a process with pid " << old_pid << " (" << std::strerror(errno)
                                                 << "): reuse not exercised, only ESRCH");
    } else {
        REQUIRE(reused == old_pid);
    }
    CHECK(kill_process(peer.pidfd.get()) == "the process is gone already");
    if (reused > 0) {
        // The new process with the old pid was not touched.
        int status = 0;
        CHECK(::waitpid(reused, &status, WNOHANG) == 0);
        CHECK(::kill(reused, 0) == 0);
        ::kill(reused, SIGKILL);
        reap(reused);
    }
}

TEST_CASE("a socket without a peer process gives a reason, not a pidfd")
{
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    auto peer = peer_process(fd.get());
    CHECK_FALSE(peer.pidfd);
    CHECK_FALSE(peer.error.empty());
}

TEST_CASE("a running process is told from a zombie, a reaped one and one of another name")
{
    CHECK(process_running(getpid(), ""));
    std::string own;
    {
        std::ifstream comm("/proc/self/comm");
        std::getline(comm, own);
    }
    CHECK(process_running(getpid(), own));
    CHECK_FALSE(process_running(getpid(), own + "-not"));
    pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0)
        _exit(0);
    // Exited, not reaped yet: a zombie is not running.
    for (int i = 0; i < 200 && process_running(child, ""); i++)
        usleep(10000);
    CHECK_FALSE(process_running(child, ""));
    waitpid(child, nullptr, 0);
    CHECK_FALSE(process_running(child, ""));
    CHECK_FALSE(process_running(0, ""));
    CHECK_FALSE(process_running(-1, ""));
}
