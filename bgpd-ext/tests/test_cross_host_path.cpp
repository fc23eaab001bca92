// Dual-RP's data path, without bgpd, against the kernel: a session's two
// streams carried to the standby as chunks it confirms (remote_streams),
// the active's ACKs held until confirmed (ack_hold), its writes gated by
// the confirmations, the image and progress captured as the glue will
// (connection_image); then the active's host dies at a random instant, with
// chunks still on their way, and the standby rebuilds the connection from
// what it holds alone (tcp_repair). The peer's streams must go on with no
// byte lost, duplicated or reordered, and no FIN or RST. One kernel plays
// both hosts and the peer, inside a network namespace of the test's own.
//
// A dead host neither acknowledges nor resets: segments to it go nowhere.
// One kernel plays both hosts here, and would answer a segment that finds
// no socket between the death and the rebuild with a RST, so the test
// takes the dead host's links down (the egress fence, shut on the
// connection's port) for that gap, as the standby host claims the address
// only after its rebuild (docs/dual-rp.md).
//
// The namespace's loopback gets an Ethernet MTU (1500), as a router's
// peers have. With loopback's own (65536) the rebuilt connection's
// retransmissions, 64 KB each, were dropped by the peer's kernel on Linux
// 6.18 (nstat: TcpExtBeyondWindow, the peer's receive memory full of
// out-of-order data), and seed 12 stalled in about one run of three; with
// 1500 it passed 12 runs of 12 (docs/dual-rp.md, "Kernel behaviour").
//
// The same run without the hold is the control: the active's kernel then
// acknowledges what the standby never got, and the peer's stream cannot go
// on. It shows what the hold is for.
#include "tcp_repair_fixtures.hpp"

#include "ack_hold.hpp"
#include "connection_image.hpp"
#include "egress_fence.hpp"
#include "netns_fixture.hpp"
#include "remote_streams.hpp"

#include <net/if.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>

#include <cstring>

#include <deque>
#include <optional>
#include <random>

using namespace frr_ha;
using namespace frr_ha::tcp_test;

namespace {

constexpr std::uint16_t kQueue = 17;

struct Run {
    bool held;  // the hold in force
    std::mt19937 rng;
};

// What is left at the instant of death, for the standby and the peer.
struct AtDeath {
    ConnectionImage image;
    ConnectionProgress progress;        // the last one the standby got
    Clock::time_point progress_at;
    ConnectionProgress final_progress;  // had the capture at death reached it
    SendLog log;                  // the standby's send log
    std::uint64_t mirror_end = 0;  // the standby's received stream
    std::uint64_t kernel_received = 0;  // what the dead kernel had received
};

// The session until the active's host dies.
AtDeath run_until_death(Run &run, int peer, UniqueFd &app, EgressFence &links, Flow &to_peer,
                        Flow &to_app)
{
    std::unique_ptr<AckHold> hold;
    if (run.held) {
        auto installed = AckHold::install(kQueue);
        REQUIRE(installed.why() == "");
        hold = std::move(*installed);
    }
    AtDeath d;
    Result<TcpConnectionState> at_up = capture(app.get());
    REQUIRE(at_up);
    d.image = image_at_session_up(*at_up, 0, 0);
    d.progress = d.image.progress;
    d.progress_at = Clock::now();
    auto conn = HeldConnection::of_socket(app.get());
    REQUIRE(conn);
    if (hold)
        REQUIRE(hold->hold(*conn, d.image.recv_base));

    StreamSender sender(1, 0, 0, 128 * 1024);
    StreamReceiver standby(1, 0, 0);
    std::deque<StreamChunk> channel;  // on the way to the standby
    std::deque<StreamAck> acks;       // on the way back
    std::uint64_t out_offered = 0;
    auto &rng = run.rng;
    char buf[65536];

    const int death = 150 + static_cast<int>(rng() % 450);
    for (int step = 0; step < death; step++) {
        // The peer sends; the active's kernel takes what its window allows.
        to_app.write_to(peer, to_app.written + rng() % 12000);
        // The active reads: peeks, offers to the standby, consumes what the
        // window took.
        ssize_t n = recv(app.get(), buf, std::min(sizeof(buf), sender.room(StreamKind::received)),
                         MSG_PEEK | MSG_DONTWAIT);
        if (n > 0) {
            const std::size_t took = sender.offer(
                StreamKind::received, reinterpret_cast<const std::uint8_t *>(buf),
                static_cast<std::size_t>(n));
            to_app.read_from(app.get(), to_app.read + took);
        }
        // The active makes its own bytes, logs them, writes what is confirmed.
        const std::string mine = to_peer.bytes(out_offered, rng() % 9000);
        out_offered += sender.offer(StreamKind::sent,
                                    reinterpret_cast<const std::uint8_t *>(mine.data()), mine.size());
        to_peer.write_to(app.get(), sender.confirmed_end(StreamKind::sent));
        // The channel: chunks go out, some arrive, the standby confirms,
        // some confirmations come back.
        while (auto chunk = sender.next_chunk(1 + rng() % 30000))
            channel.push_back(std::move(*chunk));
        for (int k = rng() % 3; k > 0 && !channel.empty(); k--) {
            const StreamChunk &chunk = channel.front();
            auto took = standby.accept(chunk);
            REQUIRE(took);
            if (chunk.kind == StreamKind::sent) {
                REQUIRE(d.log.append(chunk.offset, chunk.bytes));
            } else {
                CHECK(chunk.bytes == to_app.bytes(chunk.offset, chunk.bytes.size()));
            }
            standby.delivered(chunk.kind, chunk.bytes.size());
            acks.push_back(standby.ack());
            channel.pop_front();
        }
        while (!acks.empty() && rng() % 2) {
            REQUIRE(sender.confirmed(acks.front()));
            acks.pop_front();
            if (hold)
                hold->confirm(*conn, d.image.recv_base + static_cast<std::uint32_t>(
                                                             sender.confirmed_end(StreamKind::received)));
        }
        if (hold)
            hold->on_readable();
        // The peer reads what reached it.
        to_peer.read_from(peer);
        // From time to time the active captures its progress and sends it.
        if (rng() % 40 == 0) {
            Result<TcpConnectionState> now = capture(app.get());
            REQUIRE(now);
            d.progress = progress_of(*now, to_peer.written, to_app.read,
                                     hold ? sender.confirmed_end(StreamKind::received) : UINT64_MAX);
            d.progress_at = Clock::now();
        }
        pollfd p[2] = {{peer, POLLIN, 0}, {hold ? hold->fd() : -1, POLLIN, 0}};
        poll(p, 2, 1);
    }
    // Without the hold nothing stops the active's kernel from acknowledging
    // everything it received: let it, so the control is certain to show it.
    // Bytes the active has not read yet make the hole certain.
    if (!hold) {
        to_app.write_to(peer, to_app.written + 5000);
        REQUIRE(eventually([&] { return info_of(peer).tcpi_unacked == 0; }));
    }

    // The host dies: its links go down, its socket goes without a word,
    // what it held goes with it, chunks on the channel never arrive.
    REQUIRE(links.shut());
    Result<TcpConnectionState> last = capture(app.get());
    REQUIRE(last);
    d.kernel_received = to_app.read + last->recv_queue.size();
    d.final_progress = progress_of(*last, to_peer.written, to_app.read,
                                   hold ? sender.confirmed_end(StreamKind::received) : UINT64_MAX);
    REQUIRE(silence(app));
    hold.reset();
    d.mirror_end = standby.end(StreamKind::received);
    INFO("death at step " << death << ": the peer wrote " << to_app.written
                          << ", the active read " << to_app.read << ", the standby holds "
                          << d.mirror_end << "; the active wrote " << to_peer.written
                          << ", the standby's log ends at " << d.log.end());
    CHECK(to_peer.written <= d.log.end());  // the write gate
    return d;
}

Result<RebuildPlan> assemble(const AtDeath &d, const ConnectionProgress &progress)
{
    StandbyRecords records;
    records.send_log = &d.log;
    records.mirror_end = d.mirror_end;
    records.progress = &progress;
    records.progress_age_ms = static_cast<std::uint32_t>(
        std::chrono::duration_cast<milliseconds>(Clock::now() - d.progress_at).count());
    return assemble_rebuild(d.image, records, std::nullopt);
}

// The standby rebuilds from what it holds (`again`, kept open by the
// caller) and `progress`; the peer's streams go on.
bool continues(const AtDeath &d, const ConnectionProgress &progress, int peer,
               EgressFence &links, Flow &to_peer, Flow &to_app, milliseconds limit,
               UniqueFd &again)
{
    Result<RebuildPlan> plan = assemble(d, progress);
    INFO(plan.why());
    REQUIRE(plan);
    again = restored(plan->state, plan->options);
    // The rebuilt connection now holds the address: the peer reaches it.
    REQUIRE(links.open());
    // The new active reads on from the mirror's end, and its send queue
    // runs to the log's end.
    to_app.read = d.mirror_end;
    to_peer.written = d.log.end();
    return exchange(again.get(), peer, to_peer, to_app, 100000, limit);
}

void set_loopback_mtu(int mtu)
{
    UniqueFd fd(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    REQUIRE(fd);
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    ifr.ifr_mtu = mtu;
    REQUIRE(ioctl(fd.get(), SIOCSIFMTU, &ifr) == 0);
}

// A session over loopback in a namespace of the test's own: the peer, the
// active's socket, and each direction's stream.
struct Session {
    frr_ha::test::ScopedNetns ns;
    UniqueFd listener;
    UniqueFd peer_fd;
    UniqueFd app;
    std::optional<EgressFence> links;  // the active's host's links
    Flow to_peer{71}, to_app{72};

    Session()
    {
        REQUIRE(ns.why() == "");
        set_loopback_mtu(1500);
        Connection c = connect_pair({AF_INET, "", 0}, &listener);
        int on = 1;
        setsockopt(c.client.get(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
        setsockopt(c.server.get(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
        peer_fd = std::move(c.client);
        app = std::move(c.server);
        sockaddr_storage local{};
        socklen_t len = sizeof(local);
        REQUIRE(getsockname(app.get(), reinterpret_cast<sockaddr *>(&local), &len) == 0);
        auto fence = EgressFence::install(ntohs(reinterpret_cast<sockaddr_in *>(&local)->sin_port));
        INFO(fence.why());
        REQUIRE(fence);
        links.emplace(std::move(*fence));
    }
    int peer() const { return peer_fd.get(); }
};

}  // namespace

TEST_CASE("Host death at a random instant: under the hold, the standby's rebuild from what it "
          "confirmed continues both of the peer's streams",
          "[cross_host][tcp_repair][ack_hold]")
{
    REQUIRE_REPAIR();
    Run run{true, std::mt19937(GENERATE(11u, 12u, 13u, 14u, 15u, 16u))};
    Session s;
    const int peer = s.peer();
    Flow &to_peer = s.to_peer, &to_app = s.to_app;

    AtDeath d = run_until_death(run, peer, s.app, *s.links, to_peer, to_app);
    // The peer was acknowledged no byte the standby lacks.
    CHECK(to_app.written - static_cast<std::uint64_t>(outq(peer)) <= d.mirror_end);
    // Had the active's capture at its death reached the standby, it would
    // show nothing lost either: the kernel acknowledged no unconfirmed byte.
    CHECK(assemble(d, d.final_progress));
    UniqueFd again;
    REQUIRE(continues(d, d.progress, peer, *s.links, to_peer, to_app, milliseconds(15000), again));
    CHECK(to_peer.first_bad == UINT64_MAX);
    CHECK(to_app.first_bad == UINT64_MAX);
    require_peer_silent(peer);
}

TEST_CASE("Host death without the hold: the active's kernel acknowledged bytes the standby never "
          "got, and the peer's stream cannot go on (the control)",
          "[cross_host][tcp_repair][ack_hold]")
{
    REQUIRE_REPAIR();
    Run run{false, std::mt19937(21u)};
    Session s;
    const int peer = s.peer();
    Flow &to_peer = s.to_peer, &to_app = s.to_app;

    AtDeath d = run_until_death(run, peer, s.app, *s.links, to_peer, to_app);
    // The peer was told bytes arrived that the standby never got.
    REQUIRE(to_app.written - static_cast<std::uint64_t>(outq(peer)) > d.mirror_end);
    // A capture that reached the standby after the loss shows it: refused.
    Result<RebuildPlan> refused = assemble(d, d.final_progress);
    REQUIRE_FALSE(refused);
    CHECK(refused.why().find("bytes of the peer's stream are lost") != std::string::npos);
    // One from before it (a host dies between captures) cannot: the rebuilt
    // connection waits for bytes the peer will never send again.
    UniqueFd again;
    CHECK_FALSE(continues(d, d.image.progress, peer, *s.links, to_peer, to_app, milliseconds(3000), again));
    CHECK(to_app.read == d.mirror_end);
}
