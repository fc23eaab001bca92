// Dual-RP mode, the active's side: a session's tap hands it over into links
// whose far ends a RemoteStreamRelay reads; its chunks reach the standby's
// StreamReceiver and its confirmations come back through the write gate.
// Real loopback TCP sockets and unix links; the channel between the hosts
// is the test's queue, with random delays.
#include <catch2/catch.hpp>

#include "bgp_messages.hpp"
#include "remote_stream_relay.hpp"
#include "tap_fixtures.hpp"
#include "write_gate.hpp"

#include <poll.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <random>
#include <thread>

using namespace frr_ha;
using namespace frr_ha::test;
using namespace std::chrono_literals;

namespace {

constexpr std::uint64_t kSession = 7;

bool writable(int fd)
{
    struct pollfd p = {fd, POLLOUT, 0};
    return ::poll(&p, 1, 0) == 1 && (p.revents & POLLOUT);
}

std::string keepalives(std::size_t count)
{
    std::string s;
    for (std::size_t i = 0; i < count; i++)
        s += bgp_keepalive();
    return s;
}

std::string notification()
{
    std::string body("\x06\x02", 2);  // Cease, administrative shutdown
    return std::string(16, '\xff') + u16(19 + body.size()) + "\x03" + body;
}

// An active whose session is handed over to the standby host: the tap's
// links end in a relay; `standby` is the standby host's receiver.
struct RelayedActive : ExchangedSession {
    std::unique_ptr<RemoteStreamRelay> relay;
    StreamReceiver standby{kSession, 0, 0};
    std::string standby_in, standby_out;  // what the standby delivered

    explicit RelayedActive(std::size_t window = StreamSender::kDefaultWindow)
    {
        relay = std::make_unique<RemoteStreamRelay>(kSession, std::move(in_r), std::move(out_r),
                                                    std::move(conn_r), gate, window);
        REQUIRE(attach(false, true));
        REQUIRE(tap.mode() == TapMode::Mirroring);  // a history this small is in the links at once
    }

    void deliver(const StreamChunk &chunk)
    {
        auto took = standby.accept(chunk);
        REQUIRE(took);
        for (StreamKind kind : {StreamKind::received, StreamKind::sent}) {
            std::string got(standby.undelivered(kind, 1 << 20));
            standby.delivered(kind, got.size());
            (kind == StreamKind::received ? standby_in : standby_out) += got;
        }
    }

    // The standby host takes what the relay has now (at most `bytes`), and
    // confirms it at once.
    void standby_takes(std::size_t bytes = SIZE_MAX)
    {
        REQUIRE(relay->pump());
        while (bytes > 0) {
            auto chunk = relay->next_chunk(std::min<std::size_t>(bytes, StreamReceiver::kMaxChunk));
            if (!chunk)
                break;
            bytes -= chunk->bytes.size();
            deliver(*chunk);
        }
        REQUIRE(relay->confirmed(standby.ack()));
    }

    ssize_t write(const std::string &bytes)
    {
        struct iovec iov = {const_cast<char *>(bytes.data()), bytes.size()};
        return tap.writev(&iov, 1);
    }
};

std::string random_message(std::mt19937 &rng)
{
    if (rng() % 3 == 0)
        return bgp_keepalive();
    std::string nlri;
    for (unsigned int i = rng() % 300; i > 0; i--)
        nlri += v4(10, static_cast<std::uint8_t>(rng()), static_cast<std::uint8_t>(rng()));
    return update("", kOrigin + kAsPath + kNextHop, nlri);
}

}  // namespace

TEST_CASE("write gate: a session waits on a descriptor that only an advance makes writable",
          "[remote_relay]")
{
    auto made = WriteGate::make(100);
    REQUIRE(made);
    WriteGate &gate = **made;
    CHECK(gate.limit() == 100);
    CHECK(gate.wait_past(100));
    CHECK_FALSE(writable(gate.wait_fd()));
    gate.allow(50);  // behind: ignored
    CHECK(gate.limit() == 100);
    CHECK_FALSE(writable(gate.wait_fd()));
    gate.allow(200);
    CHECK(gate.limit() == 200);
    CHECK(writable(gate.wait_fd()));
    CHECK_FALSE(gate.wait_past(150));  // already past: no wait
    CHECK(writable(gate.wait_fd()));

    // An advance racing the wait is never lost: the waiter wakes each time.
    std::uint64_t at = 200;
    unsigned int lost = 0;
    for (int round = 0; round < 2000; round++, at++) {
        std::atomic<bool> go{false};
        std::thread confirmer([&] {
            while (!go.load()) {
            }
            gate.allow(at + 1);
        });
        go = true;
        if (gate.limit() <= at && gate.wait_past(at)) {
            struct pollfd p = {gate.wait_fd(), POLLOUT, 0};
            if (::poll(&p, 1, 2000) != 1)
                lost++;
        }
        confirmer.join();
        CHECK(gate.limit() == at + 1);
    }
    CHECK(lost == 0);
}

TEST_CASE("relay: a stopped standby holds the session's writes, and each confirmation lets out what it covers",
          "[remote_relay]")
{
    RelayedActive a;
    a.standby_takes();
    auto end = a.relay->take_history_end();
    REQUIRE(end);
    CHECK(end->history_sent_bytes == a.exchanged.size());
    CHECK(end->history_received_bytes == a.exchanged.size());
    CHECK(a.standby_out == a.exchanged);
    CHECK(a.standby_in == a.exchanged);
    CHECK(a.gate->limit() == a.exchanged.size());

    // The standby confirms nothing more: the write is logged, not sent,
    // and bgpd waits on the gate, which is not writable.
    const std::string ten = keepalives(10);
    errno = 0;
    CHECK(a.write(ten) == -1);
    CHECK(errno == EAGAIN);
    CHECK(a.tap.output_fd() == a.gate->wait_fd());
    CHECK_FALSE(writable(a.tap.output_fd()));
    CHECK(take(a.c.peer.get()).empty());

    // The standby confirms the first 50 bytes: exactly those go out.
    a.standby_takes(50);
    CHECK(a.relay->confirmed_end(StreamKind::sent) == a.exchanged.size() + 50);
    CHECK(writable(a.gate->wait_fd()));
    CHECK(a.write(ten) == 50);
    CHECK(drain(a.c.peer.get()) == ten.substr(0, 50));

    // Then the rest.
    a.standby_takes();
    CHECK(a.write(ten.substr(50)) == static_cast<ssize_t>(ten.size() - 50));
    CHECK(drain(a.c.peer.get()) == ten.substr(50));
    CHECK(a.standby_out == a.exchanged + ten);
    CHECK(a.tap.mode() == TapMode::Mirroring);
}

TEST_CASE("relay: past the lag limit a gated session goes on unprotected and the relay ends",
          "[remote_relay]")
{
    RelayedActive a;
    a.standby_takes();
    const std::string ka = bgp_keepalive();
    CHECK(a.write(ka) == -1);
    CHECK_FALSE(a.tap.pump(100ms));
    std::this_thread::sleep_for(150ms);
    CHECK(a.tap.pump(100ms));
    CHECK(a.tap.mode() == TapMode::Unprotected);
    CHECK_THAT(a.tap.why_unprotected(), Catch::Contains("standby lagging"));
    CHECK(a.write(ka) == static_cast<ssize_t>(ka.size()));
    CHECK(drain(a.c.peer.get()) == ka);
    auto pumped = a.relay->pump();
    REQUIRE_FALSE(pumped);
    CHECK(pumped.why() == "the active's tap dropped the session's links");
}

TEST_CASE("relay: a NOTIFICATION goes out though the standby has not confirmed it",
          "[remote_relay]")
{
    RelayedActive a;
    a.standby_takes();
    const std::string n = notification();
    CHECK(a.write(n) == static_cast<ssize_t>(n.size()));
    CHECK(drain(a.c.peer.get()) == n);
    CHECK(a.tap.mode() == TapMode::Unprotected);
    CHECK_THAT(a.tap.why_unprotected(), Catch::Contains("NOTIFICATION"));
}

TEST_CASE("relay: the standby's word reaches the tap, and a confused confirmation opens nothing",
          "[remote_relay]")
{
    RelayedActive a;
    a.standby_takes();
    std::uint64_t limit = a.gate->limit();

    auto past = a.relay->confirmed(StreamAck{kSession, 0, limit + 1000});
    CHECK_FALSE(past);
    auto other = a.relay->confirmed(StreamAck{kSession + 1, 0, limit});
    CHECK_FALSE(other);
    CHECK(a.gate->limit() == limit);

    a.relay->standby_ended("hold timer expired");
    settle();
    CHECK(a.tap.take_standby_word("silent"));
    CHECK(a.tap.mode() == TapMode::Unprotected);
    CHECK(a.tap.why_unprotected() == "the standby ended its shadow: hold timer expired");
}

TEST_CASE("relay: under random traffic and delays the peer never has a byte the standby lacks",
          "[remote_relay]")
{
    for (unsigned int seed : {1u, 2u, 3u}) {
        CAPTURE(seed);
        std::mt19937 rng(seed);
        RelayedActive a(16 << 10);  // a small window: it fills often
        const std::uint64_t at_attach = a.exchanged.size();
        std::string peer_sent = a.exchanged, peer_unsent;      // the peer's stream
        std::string router_sent = a.exchanged, router_queue;   // bgpd's output
        std::string router_read = a.exchanged, peer_got = a.exchanged;
        struct InFlight {
            int due;
            std::optional<StreamChunk> chunk;
            std::optional<StreamAck> ack;
        };
        std::deque<InFlight> to_standby, to_active;
        int step = 0;

        auto peer_io = [&] {
            if (!peer_unsent.empty()) {
                ssize_t n = ::send(a.c.peer.get(), peer_unsent.data(), peer_unsent.size(),
                                   MSG_DONTWAIT | MSG_NOSIGNAL);
                if (n > 0)
                    peer_unsent.erase(0, static_cast<std::size_t>(n));
            }
            peer_got += take(a.c.peer.get());
        };
        auto router_io = [&] {
            router_read += read_tap(a.tap);
            if (!router_queue.empty()) {
                ssize_t n = a.write(router_queue);
                if (n > 0) {
                    router_sent += router_queue.substr(0, static_cast<std::size_t>(n));
                    router_queue.erase(0, static_cast<std::size_t>(n));
                }
            }
        };
        auto channel = [&](bool at_once) {
            REQUIRE(a.relay->pump());
            while (auto chunk = a.relay->next_chunk(1 + rng() % 9000))
                to_standby.push_back({step + (at_once ? 0 : static_cast<int>(rng() % 20)), chunk, {}});
            while (!to_standby.empty() && to_standby.front().due <= step) {
                a.deliver(*to_standby.front().chunk);
                to_standby.pop_front();
                to_active.push_back({step + (at_once ? 0 : static_cast<int>(rng() % 20)), {}, a.standby.ack()});
            }
            while (!to_active.empty() && to_active.front().due <= step) {
                REQUIRE(a.relay->confirmed(*to_active.front().ack));
                to_active.pop_front();
            }
        };
        auto invariants = [&] {
            REQUIRE(a.tap.mode() == TapMode::Mirroring);
            std::uint64_t confirmed = a.relay->confirmed_end(StreamKind::sent);
            // Written after the hand-over only as far as the standby confirmed.
            REQUIRE(a.tap.written() <= std::max(at_attach, confirmed));
            REQUIRE(a.standby.end(StreamKind::sent) >= confirmed);
            for (StreamKind kind : {StreamKind::received, StreamKind::sent})
                REQUIRE(a.relay->offered_end(kind) - a.relay->confirmed_end(kind) <= (16u << 10));
        };

        for (; step < 3000; step++) {
            switch (rng() % 5) {
            case 0: {
                std::string m = random_message(rng);
                peer_unsent += m;
                peer_sent += m;
                break;
            }
            case 1:
                router_queue += random_message(rng);
                break;
            default:
                break;
            }
            peer_io();
            router_io();
            channel(false);
            a.tap.pump(10s);
            invariants();
        }
        // Everything still queued or in flight arrives.
        for (int idle = 0; idle < 200; step++) {
            std::size_t before = peer_got.size() + router_read.size() + a.standby_in.size() +
                                 a.standby_out.size();
            peer_io();
            router_io();
            channel(true);
            invariants();
            std::size_t after = peer_got.size() + router_read.size() + a.standby_in.size() +
                                a.standby_out.size();
            bool done = peer_unsent.empty() && router_queue.empty() && to_standby.empty() &&
                        to_active.empty() && after == before;
            idle = done ? idle + 1 : 0;
            std::this_thread::sleep_for(1ms);  // Nagle may hold a small tail a while
        }
        CHECK(router_queue.empty());
        CHECK(peer_got.size() == router_sent.size());
        CHECK(peer_got == router_sent);
        CHECK(a.standby_out == router_sent);
        CHECK(router_read == peer_sent);
        CHECK(a.standby_in == router_read);
        CHECK(a.relay->confirmed_end(StreamKind::sent) == router_sent.size());
        CHECK(a.relay->confirmed_end(StreamKind::received) == router_read.size());
        CHECK(router_read.size() > 100000);
        CHECK(router_sent.size() > 100000);
    }
}
