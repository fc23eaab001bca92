// What the hold rule (bgpd-ext/core/ack_hold.*) adds to a session, side by
// side with no hold, in a network namespace of its own (as root):
//
//   build/bench/frr_ha_hold_latency [--rounds N] [--bulk-mib M] [--mtu BYTES]
//
// A "router" thread reads a "peer"'s bytes over loopback (MTU 1500 by
// default, so segments are full-size Ethernet ones) and answers each
// request. With the hold, its segments go through NFQUEUE to this process
// and leave when the standby has confirmed the bytes they acknowledge; the
// standby is modelled by a confirmation given a fixed delay after the router
// read the bytes (0: at once, which is the hold's own cost). It prints, per
// case, the request/response round trip (64-byte messages, p50/p99) and a
// bulk transfer's rate, each with its ratio to no hold.
#include "ack_hold.hpp"
#include "tcp_repair.hpp"
#include "unique_fd.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <string>
#include <thread>
#include <vector>

using namespace frr_ha;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::uint16_t kPort = 179;
constexpr std::uint16_t kQueue = 179;
constexpr std::size_t kMessage = 64;

struct Options {
    int rounds = 2000;
    int bulk_mib = 64;
    int mtu = 1500;
};

bool loopback_up(int mtu)
{
    UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    struct ifreq ifr {};
    std::strcpy(ifr.ifr_name, "lo");
    ifr.ifr_mtu = mtu;
    if (!s || ::ioctl(s.get(), SIOCSIFMTU, &ifr) != 0)
        return false;
    ifr.ifr_flags = IFF_UP | IFF_LOOPBACK | IFF_RUNNING;
    return ::ioctl(s.get(), SIOCSIFFLAGS, &ifr) == 0;
}

struct Pair {
    UniqueFd peer, router;
};

Pair connect_pair(const UniqueFd &listener)
{
    sockaddr_in addr{};
    socklen_t len = sizeof(addr);
    ::getsockname(listener.get(), reinterpret_cast<sockaddr *>(&addr), &len);
    Pair p;
    p.peer = UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (::connect(p.peer.get(), reinterpret_cast<sockaddr *>(&addr), sizeof(addr)) != 0)
        return {};
    p.router = UniqueFd(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    int on = 1;
    ::setsockopt(p.peer.get(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
    ::setsockopt(p.router.get(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
    return p;
}

// The router: reads, has the standby confirm `delay` later, answers each
// full request with kMessage bytes (or, in bulk, one byte at the end).
struct Router {
    int fd;
    AckHold *hold;  // null: no hold
    HeldConnection conn;
    std::uint32_t base;
    std::chrono::microseconds delay;
    std::size_t answer_every;  // bytes per answer
    const std::atomic<bool> *stop;  // the peer has what it waited for

    // Runs until told to stop: the last answer may still be in the queue.
    void run() const
    {
        std::deque<std::pair<Clock::time_point, std::uint32_t>> confirmations;
        std::vector<char> buf(1 << 20);
        std::size_t got = 0, answered = 0;
        const std::string answer(answer_every > kMessage ? 1 : kMessage, 'r');
        ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
        while (!stop->load()) {
            pollfd p[2] = {{fd, POLLIN, 0}, {hold ? hold->fd() : -1, POLLIN, 0}};
            // At most 1 ms, less when a confirmation falls due sooner
            // (to the microsecond: ppoll, not poll's milliseconds).
            auto wait = std::chrono::microseconds(1000);
            if (!confirmations.empty())
                wait = std::min(wait, std::max(std::chrono::microseconds(0),
                                               std::chrono::duration_cast<std::chrono::microseconds>(
                                                   confirmations.front().first - Clock::now())));
            const timespec ts{0, static_cast<long>(wait.count()) * 1000};
            ::ppoll(p, 2, &ts, nullptr);
            if (hold && (p[1].revents & POLLIN))
                hold->on_readable();
            if (p[0].revents & POLLIN) {
                const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
                if (n == 0)
                    return;
                got += static_cast<std::size_t>(std::max<ssize_t>(0, n));
                if (hold)
                    confirmations.emplace_back(Clock::now() + delay,
                                               base + static_cast<std::uint32_t>(got));
            }
            while (hold && !confirmations.empty() && confirmations.front().first <= Clock::now()) {
                hold->confirm(conn, confirmations.front().second);
                confirmations.pop_front();
            }
            while (got - answered >= answer_every) {
                ::send(fd, answer.data(), answer.size(), 0);
                answered += answer_every;
            }
        }
    }
};

bool read_exactly(int fd, std::size_t n)
{
    char buf[256];
    while (n > 0) {
        ssize_t r = ::recv(fd, buf, std::min(n, sizeof(buf)), 0);
        if (r <= 0)
            return false;
        n -= static_cast<std::size_t>(r);
    }
    return true;
}

struct Figures {
    double p50_us = 0, p99_us = 0, mib_per_s = 0;
};

// One case: `delay_us` < 0 means no hold.
Figures measure(const Options &o, const UniqueFd &listener, long delay_us)
{
    Figures f;
    std::unique_ptr<AckHold> hold;
    if (delay_us >= 0) {
        auto installed = AckHold::install(kQueue);
        if (!installed) {
            std::fprintf(stderr, "hold: %s\n", installed.why().c_str());
            std::exit(1);
        }
        hold = std::move(*installed);
    }
    auto run = [&](std::size_t answer_every, auto &&peer_side) {
        Pair p = connect_pair(listener);
        std::atomic<bool> stop{false};
        Router r{p.router.get(), hold.get(), {}, 0, std::chrono::microseconds(std::max(0L, delay_us)),
                 answer_every, &stop};
        if (hold) {
            r.conn = *HeldConnection::of_socket(p.router.get());
            r.base = capture(p.router.get())->recv_next();
            hold->hold(r.conn, r.base);
        }
        std::thread router([&r] { r.run(); });
        peer_side(p.peer.get());
        stop = true;
        router.join();
        if (hold)
            hold->release(r.conn);
    };

    std::vector<double> rtt;
    run(kMessage, [&](int peer) {
        const std::string request(kMessage, 'q');
        for (int i = 0; i < o.rounds; i++) {
            auto t0 = Clock::now();
            ::send(peer, request.data(), request.size(), 0);
            if (!read_exactly(peer, kMessage))
                return;
            rtt.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
        }
    });
    std::sort(rtt.begin(), rtt.end());
    if (!rtt.empty()) {
        f.p50_us = rtt[rtt.size() / 2];
        f.p99_us = rtt[std::min(rtt.size() - 1, rtt.size() * 99 / 100)];
    }

    const std::size_t bulk = static_cast<std::size_t>(o.bulk_mib) << 20;
    run(bulk, [&](int peer) {
        const std::string chunk(1 << 16, 'b');
        auto t0 = Clock::now();
        for (std::size_t sent = 0; sent < bulk; sent += chunk.size())
            ::send(peer, chunk.data(), chunk.size(), 0);
        if (read_exactly(peer, 1))
            f.mib_per_s = o.bulk_mib / std::chrono::duration<double>(Clock::now() - t0).count();
    });
    return f;
}

}  // namespace

int main(int argc, char **argv)
{
    Options o;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i];
        const int v = std::atoi(argv[i + 1]);
        if (a == "--rounds")
            o.rounds = v;
        else if (a == "--bulk-mib")
            o.bulk_mib = v;
        else if (a == "--mtu")
            o.mtu = v;
        else {
            std::fprintf(stderr, "usage: %s [--rounds N] [--bulk-mib M] [--mtu BYTES]\n", argv[0]);
            return 2;
        }
    }
    if (::unshare(CLONE_NEWNET) != 0 || !loopback_up(o.mtu)) {
        std::perror("a network namespace of our own (run as root)");
        return 1;
    }
    UniqueFd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(kPort);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(listener.get(), reinterpret_cast<sockaddr *>(&addr), sizeof(addr)) != 0 ||
        ::listen(listener.get(), 8) != 0) {
        std::perror("listen");
        return 1;
    }
    std::printf("hold rule: %d request/response rounds of %zu bytes, %d MiB bulk, loopback MTU %d\n",
                o.rounds, kMessage, o.bulk_mib, o.mtu);
    std::printf("%-34s %10s %10s %8s %12s %8s\n", "case", "rtt p50 us", "rtt p99 us", "x p50",
                "bulk MiB/s", "x bulk");
    const Figures none = measure(o, listener, -1);
    auto row = [&](const char *name, const Figures &f) {
        std::printf("%-34s %10.1f %10.1f %8.2f %12.1f %8.2f\n", name, f.p50_us, f.p99_us,
                    none.p50_us > 0 ? f.p50_us / none.p50_us : 0.0, f.mib_per_s,
                    none.mib_per_s > 0 ? f.mib_per_s / none.mib_per_s : 0.0);
    };
    row("no hold", none);
    row("hold, standby confirms at once", measure(o, listener, 0));
    row("hold, standby confirms in 0.5 ms", measure(o, listener, 500));
    row("hold, standby confirms in 2 ms", measure(o, listener, 2000));
    return 0;
}
