// tcp_stream_position() on real loopback TCP sockets while the other end
// keeps the connection moving: every sample must match what the application
// did, exactly, however the peer's segments and ACKs fall between the
// syscalls the sample is made of.
//
// The thread that samples is the only one reading (first test) or writing
// (second test) the socket under test, so it knows exactly how many bytes the
// application consumed or wrote at each sample; the traffic comes from the
// other end, driven by a second thread.
#include <catch2/catch.hpp>

#include "tcp_stream_position.hpp"
#include "unique_fd.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace frr_ha;

namespace {

using Clock = std::chrono::steady_clock;

// How long each test keeps sampling under traffic.
constexpr auto kSampling = std::chrono::milliseconds(800);

struct Pair {
    UniqueFd connected;  // the side that called connect()
    UniqueFd accepted;   // the side accept() returned
};

// A connected loopback pair. `rcvbuf`, if not 0, is set on both sides before
// the handshake (the accepted side inherits it from the listener).
Pair loopback_pair(int rcvbuf = 0)
{
    UniqueFd l(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    REQUIRE(l.get() >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (rcvbuf)
        REQUIRE(setsockopt(l.get(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) == 0);
    REQUIRE(bind(l.get(), reinterpret_cast<sockaddr *>(&a), sizeof(a)) == 0);
    REQUIRE(listen(l.get(), 1) == 0);
    socklen_t len = sizeof(a);
    REQUIRE(getsockname(l.get(), reinterpret_cast<sockaddr *>(&a), &len) == 0);
    Pair p;
    p.connected = UniqueFd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    REQUIRE(p.connected.get() >= 0);
    if (rcvbuf)
        REQUIRE(setsockopt(p.connected.get(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) == 0);
    REQUIRE(connect(p.connected.get(), reinterpret_cast<sockaddr *>(&a), sizeof(a)) == 0);
    p.accepted = UniqueFd(accept4(l.get(), nullptr, nullptr, SOCK_CLOEXEC));
    REQUIRE(p.accepted.get() >= 0);
    return p;
}

// What the samples of one run showed.
struct Tally {
    unsigned samples = 0;
    unsigned resampled = 0;      // samples that needed at least one retry
    unsigned retries = 0;        // retries, all samples together
    unsigned max_retries = 0;
    unsigned failures = 0;       // no position at all
    unsigned inconsistent = 0;   // a position that disagrees with the application
    std::string first_failure;
    std::string first_inconsistency;

    void retried(unsigned r)
    {
        samples++;
        retries += r;
        resampled += r > 0;
        max_retries = std::max(max_retries, r);
    }
    std::string summary() const
    {
        std::ostringstream s;
        s << samples << " samples, " << resampled << " retaken (" << retries
          << " retries, at most " << max_retries << " for one), " << failures << " failed, "
          << inconsistent << " inconsistent";
        return s.str();
    }
};

}  // namespace

TEST_CASE("a position sampled while 1-byte segments keep arriving counts exactly the bytes "
          "the application read",
          "[tcp_stream_position]")
{
    const bool accepted_side = GENERATE(true, false);
    INFO((accepted_side ? "socket under test: accepted" : "socket under test: connected"));
    Pair p = loopback_pair();
    const int ours = accepted_side ? p.accepted.get() : p.connected.get();
    const int peer = accepted_side ? p.connected.get() : p.accepted.get();
    const int one = 1;
    REQUIRE(setsockopt(peer, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == 0);

    std::string err;
    auto at_start = tcp_stream_position(ours, &err);
    INFO(err);
    REQUIRE(at_start);
    const TcpCountBias bias = calibrate(*at_start, 0, 0);

    // The peer sends byte i as (i & 0xff), one byte per send().
    std::atomic<bool> stop{false};
    std::atomic<std::uint64_t> sent{0};
    std::thread sender([&] {
        std::uint64_t i = 0;
        while (!stop.load(std::memory_order_relaxed)) {
            const char c = static_cast<char>(i & 0xff);
            ssize_t n = send(peer, &c, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n == 1)
                sent.store(++i, std::memory_order_relaxed);
            else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                break;
            else
                std::this_thread::yield();
        }
    });

    std::mt19937 rng(12345);
    std::uniform_int_distribution<int> chunk(1, 48);
    Tally t;
    std::uint64_t consumed = 0;
    bool stream_ok = true;
    char buf[64];
    const auto until = Clock::now() + kSampling;
    while (Clock::now() < until && t.inconsistent + t.failures < 10) {
        unsigned retries = 0;
        auto pos = tcp_stream_position(ours, &err, &retries);
        if (!pos) {
            if (!t.failures++)
                t.first_failure = err;
        } else {
            t.retried(retries);
            if (pos->consumed(bias) != consumed && !t.inconsistent++) {
                std::ostringstream s;
                s << "sample " << t.samples << ": received " << pos->received << " - unread "
                  << pos->unread << " - bias " << bias.received << " = " << pos->consumed(bias)
                  << ", the application consumed " << consumed;
                t.first_inconsistency = s.str();
            }
        }
        ssize_t n = recv(ours, buf, static_cast<std::size_t>(chunk(rng)), MSG_DONTWAIT);
        for (ssize_t k = 0; k < n; k++)
            stream_ok = stream_ok && buf[k] == static_cast<char>((consumed + k) & 0xff);
        if (n > 0)
            consumed += static_cast<std::uint64_t>(n);
    }
    stop = true;
    sender.join();

    INFO(t.summary());
    INFO("first failure: " << t.first_failure);
    INFO("first inconsistency: " << t.first_inconsistency);
    INFO(sent.load() << " bytes sent one at a time, " << consumed << " consumed");
    WARN("1-byte segments, " << (accepted_side ? "accepted" : "connected") << " side: "
                             << t.summary() << "; " << consumed << " bytes consumed");
    CHECK(stream_ok);
    CHECK(t.failures == 0);
    CHECK(t.inconsistent == 0);
    // The run must have sampled while bytes kept arriving, and the arrivals
    // must have fallen inside a sample at least once.
    CHECK(t.samples > 1000);
    CHECK(consumed > 1000);
    CHECK(t.resampled > 0);
}

TEST_CASE("a position sampled while the peer's ACKs keep arriving counts exactly the bytes "
          "the application wrote",
          "[tcp_stream_position]")
{
    const bool accepted_side = GENERATE(true, false);
    INFO((accepted_side ? "socket under test: accepted" : "socket under test: connected"));
    // A small receive window at the peer: the send queue fills, and what the
    // slow reader frees comes back as window updates while we sample.
    Pair p = loopback_pair(16 * 1024);
    const int ours = accepted_side ? p.accepted.get() : p.connected.get();
    const int peer = accepted_side ? p.connected.get() : p.accepted.get();

    std::string err;
    auto at_start = tcp_stream_position(ours, &err);
    INFO(err);
    REQUIRE(at_start);
    const TcpCountBias bias = calibrate(*at_start, 0, 0);

    // The peer reads in small pieces, pausing a little now and then.
    std::atomic<bool> stop{false};
    std::atomic<std::uint64_t> read_by_peer{0};
    std::thread reader([&] {
        char buf[700];
        std::uint64_t total = 0;
        unsigned reads = 0;
        while (!stop.load(std::memory_order_relaxed)) {
            ssize_t n = recv(peer, buf, sizeof(buf), MSG_DONTWAIT);
            if (n > 0) {
                total += static_cast<std::uint64_t>(n);
                read_by_peer.store(total, std::memory_order_relaxed);
                if (++reads % 8 == 0)
                    std::this_thread::sleep_for(std::chrono::microseconds(20));
            } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
                break;
            } else {
                std::this_thread::yield();
            }
        }
    });

    std::mt19937 rng(54321);
    std::uniform_int_distribution<int> chunk(1, 3000);
    const std::vector<char> data(4096, 'x');
    Tally t;
    std::uint64_t written = 0;
    unsigned full = 0;  // writes the full send queue refused
    const auto until = Clock::now() + kSampling;
    while (Clock::now() < until && t.inconsistent + t.failures < 10) {
        unsigned retries = 0;
        auto pos = tcp_stream_position(ours, &err, &retries);
        if (!pos) {
            if (!t.failures++)
                t.first_failure = err;
        } else {
            t.retried(retries);
            if (pos->written(bias) != written && !t.inconsistent++) {
                std::ostringstream s;
                s << "sample " << t.samples << ": acked " << pos->acked << " - bias "
                  << bias.acked << " + unacked " << pos->unacked << " = " << pos->written(bias)
                  << ", the application wrote " << written;
                t.first_inconsistency = s.str();
            }
        }
        ssize_t n = send(ours, data.data(), static_cast<std::size_t>(chunk(rng)),
                         MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0)
            written += static_cast<std::uint64_t>(n);
        else
            full++;
    }
    stop = true;
    reader.join();

    INFO(t.summary());
    INFO("first failure: " << t.first_failure);
    INFO("first inconsistency: " << t.first_inconsistency);
    INFO(written << " bytes written, " << read_by_peer.load() << " read by the peer, " << full
                 << " writes refused");
    WARN("filling the send queue, " << (accepted_side ? "accepted" : "connected") << " side: "
                                    << t.summary() << "; " << written << " bytes written, "
                                    << full << " writes refused");
    CHECK(t.failures == 0);
    CHECK(t.inconsistent == 0);
    // The run must have sampled with a full send queue draining under it,
    // and an ACK must have fallen inside a sample at least once.
    CHECK(t.samples > 1000);
    CHECK(full > 100);
    CHECK(read_by_peer.load() > 100000);
    CHECK(t.resampled > 0);
}
