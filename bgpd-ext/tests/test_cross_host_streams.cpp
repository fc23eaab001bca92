// Dual-RP mode: CrossHostStreams on both sides of the data channel (the
// active's relays, the standby's receivers). Real loopback TCP sessions and
// their taps; the data channel is the test's two queues, delivered when the
// test says.
#include <catch2/catch.hpp>

#include "bgp_messages.hpp"
#include "ack_hold.hpp"
#include "cross_host_streams.hpp"
#include "remote_streams_wire.hpp"
#include "tcp_repair.hpp"
#include "handover_messages.hpp"
#include "scoped_netns.hpp"
#include "tap_fixtures.hpp"

#include "ha_channel.pb.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <poll.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>

#include <deque>
#include <functional>
#include <memory>
#include <variant>

using namespace frr_ha;
using namespace frr_ha::test;

namespace {

using Piece = std::variant<StreamSessionInfo, StreamChunk, StreamAck, StreamEnd, SessionImage,
                           SessionProgress, StreamProtection>;

// Two hosts' CrossHostStreams with the data channel between them.
struct Hosts {
    std::deque<Piece> to_standby, to_active;
    bool channel_up = true;
    std::vector<std::uint64_t> changed;  // relay_changed, in order
    std::vector<std::uint64_t> receiver_changed;
    std::vector<std::string> log;

    CrossHostStreams::Channel channel(std::deque<Piece> &out)
    {
        auto put = [this, &out](Piece p) {
            if (!channel_up)
                return false;
            out.push_back(std::move(p));
            return true;
        };
        return {[put](const StreamSessionInfo &m) { return put(m); },
                [put](const StreamChunk &m) { return put(m); },
                [put](const StreamAck &m) { return put(m); },
                [put](const StreamEnd &m) { return put(m); },
                [put](const SessionImage &m) { return put(m); },
                [put](const SessionProgress &m) { return put(m); },
                [put](const StreamProtection &m) { return put(m); }};
    }
    CrossHostStreams::Host host()
    {
        return {[this](std::uint64_t s) { changed.push_back(s); },
                [this](std::uint64_t s) { receiver_changed.push_back(s); },
                [this](LogLevel, const std::string &text) { log.push_back(text); }};
    }

    explicit Hosts(std::size_t budget = CrossHostStreams::kDefaultBudget,
                   std::size_t ahead = CrossHostStreams::kDefaultAheadOfLinks)
        : active(channel(to_standby), host(), budget, StreamSender::kDefaultWindow, ahead),
          standby(channel(to_active), host(), budget, StreamSender::kDefaultWindow, ahead)
    {
    }

    CrossHostStreams active, standby;

    static void arrive(CrossHostStreams &at, const Piece &p)
    {
        if (auto *m = std::get_if<StreamSessionInfo>(&p))
            at.on_session(*m);
        else if (auto *m = std::get_if<StreamChunk>(&p))
            at.on_chunk(*m);
        else if (auto *m = std::get_if<StreamAck>(&p))
            at.on_ack(*m);
        else if (auto *m = std::get_if<SessionImage>(&p))
            at.on_image(*m);
        else if (auto *m = std::get_if<SessionProgress>(&p))
            at.on_progress(*m);
        else if (auto *m = std::get_if<StreamProtection>(&p))
            at.on_protection(*m);
        else
            at.on_end(std::get<StreamEnd>(p));
    }
    // Everything on the channel arrives, both ways, until it is quiet.
    void settle_channel()
    {
        while (!to_standby.empty() || !to_active.empty()) {
            while (!to_standby.empty()) {
                Piece p = std::move(to_standby.front());
                to_standby.pop_front();
                arrive(standby, p);
            }
            while (!to_active.empty()) {
                Piece p = std::move(to_active.front());
                to_active.pop_front();
                arrive(active, p);
            }
        }
    }
    std::size_t chunks_waiting() const
    {
        std::size_t bytes = 0;
        for (const Piece &p : to_standby)
            if (auto *c = std::get_if<StreamChunk>(&p))
                bytes += c->bytes.size();
        return bytes;
    }
};

// A session on loopback, handed across hosts after a first exchange.
struct Session : ExchangedSession {
    std::uint64_t number = 0;

    // `with_image`: the socket is captured at the attach (as root).
    // `first`: what each side sent before the hand-over. `catch_up`: the
    // standby host catches up before the gate engages.
    Session(CrossHostStreams &active, const std::string &neighbor, bool with_image = false,
            std::string first = bgp_keepalive() + bgp_empty_update(), bool catch_up = false)
        : ExchangedSession(std::move(first))
    {
        if (catch_up) {
            auto ungated = WriteGate::make(0, false);
            REQUIRE(ungated);
            gate = *ungated;
        }
        std::optional<CrossHostStreams::SocketAtAttach> socket;
        if (with_image) {
            auto captured = capture(c.ours.get());
            REQUIRE(captured);
            auto held = HeldConnection::of_socket(c.ours.get());
            REQUIRE(held);
            socket = CrossHostStreams::SocketAtAttach{*captured, tap.written(), tap.consumed(),
                                                      *held};
        }
        auto added = active.add_relay(StreamSessionInfo{0, 1, "", neighbor, false},
                                      std::move(in_r), std::move(out_r), std::move(conn_r), gate,
                                      socket);
        REQUIRE(added);
        number = *added;
        REQUIRE(attach(false, true));
    }
};

// The standby host's shadow of a session: its placeholder takes the
// session's 4-tuple, free on the standby host (here: a network namespace of
// its own for this thread).
std::array<UniqueFd, 3> shadow_on_standby_host(CrossHostStreams &standby, std::uint64_t session)
{
    ScopedNetns standby_host;
    REQUIRE(standby_host.why().empty());
    auto started = standby.start_shadow(session);
    INFO(started.why());
    REQUIRE(started);
    return std::move(*started);
}

const CrossHostStreams::View *view_of(const CrossHostStreams &side, std::uint64_t session,
                                      std::vector<CrossHostStreams::View> &keep)
{
    keep = side.view();
    for (const auto &v : keep)
        if (v.session == session)
            return &v;
    return nullptr;
}

}  // namespace

TEST_CASE("cross-host streams: a session's streams reach the standby host as BGP messages, and the peer gets only what it confirmed",
          "[cross_host_streams]")
{
    Hosts h;
    Session s(h.active, "192.0.2.2");
    REQUIRE(h.active.pump(s.number));
    h.settle_channel();

    std::vector<CrossHostStreams::View> keep;
    const auto *held = view_of(h.standby, s.number, keep);
    REQUIRE(held);
    CHECK_FALSE(held->relay);
    CHECK(held->neighbor == "192.0.2.2");
    CHECK(held->received == s.exchanged.size());
    CHECK(held->sent == s.exchanged.size());
    CHECK(held->messages_received == 2);
    CHECK(held->messages_sent == 2);
    CHECK(held->updates_sent == 1);
    CHECK(s.gate->limit() == s.exchanged.size());

    // A write waits for the standby host: nothing reaches the peer until
    // the chunk has arrived and its confirmation come back.
    const std::string u = update("", kOrigin + kAsPath + kNextHop, v4(10, 1, 1));
    errno = 0;
    CHECK(s.write(u) == -1);
    CHECK(errno == EAGAIN);
    REQUIRE(h.active.pump(s.number));
    CHECK(h.chunks_waiting() == u.size());
    CHECK(take(s.c.peer.get()).empty());
    h.settle_channel();
    CHECK(s.write(u) == static_cast<ssize_t>(u.size()));
    CHECK(drain(s.c.peer.get()) == u);
    held = view_of(h.standby, s.number, keep);
    REQUIRE(held);
    CHECK(held->updates_sent == 2);
    auto c = h.active.counters();
    CHECK(c.bytes_confirmed == 2 * s.exchanged.size() + u.size());
    CHECK(c.in_flight == 0);
}

TEST_CASE("cross-host streams: one budget bounds what all sessions put on the channel unconfirmed",
          "[cross_host_streams]")
{
    const std::size_t budget = 6000;
    Hosts h(budget);
    Session a(h.active, "192.0.2.2"), b(h.active, "192.0.2.3");
    std::string big;
    while (big.size() < 40000)
        big += update("", kOrigin + kAsPath + kNextHop, v4(10, 2, static_cast<std::uint8_t>(big.size())));
    send_all(a.c.peer.get(), big);
    send_all(b.c.peer.get(), big);
    settle();
    std::string read_a, read_b;
    for (int round = 0; round < 200 && (read_a.size() < big.size() || read_b.size() < big.size());
         round++) {
        read_a += read_tap(a.tap);
        read_b += read_tap(b.tap);
        h.active.pump(a.number);
        h.active.pump(b.number);
        CHECK(h.active.counters().in_flight <= budget);
        CHECK(h.chunks_waiting() <= budget);
        // One piece arrives at a time, each way.
        if (!h.to_standby.empty()) {
            Piece p = h.to_standby.front();
            h.to_standby.pop_front();
            Hosts::arrive(h.standby, p);
        }
        if (!h.to_active.empty()) {
            Piece p = h.to_active.front();
            h.to_active.pop_front();
            Hosts::arrive(h.active, p);
        }
    }
    h.settle_channel();
    CHECK(read_a == big);
    CHECK(read_b == big);
    std::vector<CrossHostStreams::View> keep;
    for (const Session *s : {&a, &b}) {
        const auto *held = view_of(h.standby, s->number, keep);
        REQUIRE(held);
        CHECK(held->received == s->exchanged.size() + big.size());
    }
    CHECK(h.active.counters().in_flight == 0);
}

TEST_CASE("cross-host streams: a refused chunk ends the session's streams on both hosts and the tap goes on unprotected",
          "[cross_host_streams]")
{
    Hosts h;
    Session s(h.active, "192.0.2.2");
    REQUIRE(h.active.pump(s.number));
    h.settle_channel();

    // A chunk that leaves a gap (as from a confused active).
    h.standby.on_chunk(StreamChunk{s.number, StreamKind::received, 1000, "xyz"});
    CHECK(h.standby.counters().chunks_refused == 1);
    CHECK(h.standby.view().empty());
    REQUIRE(h.to_active.size() == 1);
    auto *end = std::get_if<StreamEnd>(&h.to_active.front());
    REQUIRE(end);
    CHECK(end->session == s.number);
    CHECK(end->why.find("a chunk was refused") != std::string::npos);
    h.settle_channel();
    CHECK(h.active.view().empty());
    CHECK(h.changed.back() == s.number);

    // The tap heard the standby's word; the session writes to the peer at
    // once, no longer gated.
    settle();
    CHECK(s.tap.take_standby_word("silent"));
    CHECK(s.tap.why_unprotected().find("the standby host: a chunk was refused") !=
          std::string::npos);
    CHECK(s.write(bgp_keepalive()) == static_cast<ssize_t>(bgp_keepalive().size()));
    CHECK(drain(s.c.peer.get()) == bgp_keepalive());
}

TEST_CASE("cross-host streams: a stream that does not frame into BGP messages is refused",
          "[cross_host_streams]")
{
    Hosts h;
    h.standby.on_session(StreamSessionInfo{5, 1, "", "192.0.2.9", false});
    h.standby.on_chunk(StreamChunk{5, StreamKind::sent, 0, std::string(19, '\x01')});
    REQUIRE(h.to_active.size() == 1);
    auto *end = std::get_if<StreamEnd>(&h.to_active.front());
    REQUIRE(end);
    CHECK(end->why.find("the sent stream does not frame into BGP messages") != std::string::npos);
    CHECK(h.standby.view().empty());
}

TEST_CASE("cross-host streams: a chunk of no known session is answered with its end",
          "[cross_host_streams]")
{
    Hosts h;
    h.standby.on_chunk(StreamChunk{42, StreamKind::received, 0, bgp_keepalive()});
    REQUIRE(h.to_active.size() == 1);
    auto *end = std::get_if<StreamEnd>(&h.to_active.front());
    REQUIRE(end);
    CHECK(end->session == 42);
    CHECK(end->why == "the standby host has no such session");
    // An ack for a relay that is gone changes nothing.
    h.active.on_ack(StreamAck{42, 100, 100});
    CHECK(h.active.counters().bytes_confirmed == 0);
}

TEST_CASE("cross-host streams: the data channel down cuts every relay until this RP may write again, and refuses new ones",
          "[cross_host_streams]")
{
    Hosts h;
    Session s(h.active, "192.0.2.2");
    REQUIRE(h.active.pump(s.number));
    h.settle_channel();
    h.channel_up = false;
    h.active.end_relays("the data channel to the partner went down", true);
    h.standby.end_receivers("the data channel to the partner went down");
    CHECK(h.standby.view().empty());
    int fds[3];
    REQUIRE(h.active.relay_fds(s.number, fds));  // cut: nothing watched
    CHECK((fds[0] == -1 && fds[1] == -1 && fds[2] == -1));
    CHECK(h.active.pump(s.number));
    CHECK(s.write(bgp_keepalive()) == -1);  // the gate stays shut
    settle();
    CHECK_FALSE(s.tap.pump(std::chrono::milliseconds(10), 1 << 16));  // past any lag limit
    CHECK(s.tap.mode() == TapMode::Mirroring);
    CHECK(s.write(bgp_keepalive()) == -1);
    h.active.release_cut("this RP writes to peers again");
    CHECK(h.active.view().empty());
    CHECK_FALSE(h.active.relay_fds(s.number, fds));
    settle();
    CHECK(s.tap.take_standby_word("silent"));
    CHECK(s.tap.why_unprotected() ==
          "the standby ended its shadow: this RP writes to peers again");
    CHECK(s.write(bgp_keepalive()) == static_cast<ssize_t>(bgp_keepalive().size()));

    // With the channel down a new hand-over is refused at once, and the
    // ends given are closed.
    auto made = WriteGate::make(0);
    REQUIRE(made);
    UniqueFd in_w, in_r, out_w, out_r, conn_w, conn_r;
    link_pair(&in_w, &in_r);
    link_pair(&out_w, &out_r);
    handover_conn(&conn_w, &conn_r);
    auto added = h.active.add_relay(StreamSessionInfo{0, 1, "", "192.0.2.4", false},
                                    std::move(in_r), std::move(out_r), std::move(conn_r), *made);
    CHECK_FALSE(added);
    CHECK(added.why() == "the data channel to the standby host is down");
    char byte = 0;
    CHECK(::send(in_w.get(), &byte, 1, MSG_NOSIGNAL | MSG_DONTWAIT) == -1);  // its far end closed
}

TEST_CASE("cross-host streams: a session's name on the wire, and what is refused",
          "[cross_host_streams][wire]")
{
    wire::StreamSession m;
    to_wire(StreamSessionInfo{3, 7, "blue", "2001:db8::2", true}, &m);
    auto back = session_from_wire(m);
    REQUIRE(back);
    CHECK(back->session == 3);
    CHECK(back->epoch == 7);
    CHECK(back->vrf == "blue");
    CHECK(back->neighbor == "2001:db8::2");
    CHECK(back->receive_only);

    m.set_neighbor("");
    CHECK(session_from_wire(m).why() == "a session with no neighbor");
    m.set_neighbor(std::string(128, 'n'));
    CHECK(session_from_wire(m).why() == "a name longer than 127 bytes");
    m.set_neighbor("192.0.2.2");
    m.set_vrf(std::string(128, 'v'));
    CHECK_FALSE(session_from_wire(m));

    wire::StreamEnd e;
    to_wire(StreamEnd{3, std::string(2000, 'w')}, &e);
    CHECK(e.why().size() == StreamEnd::kMaxWhy);
    e.set_why(std::string(2000, 'w'));
    CHECK(end_from_wire(e).why.size() == StreamEnd::kMaxWhy);
}

TEST_CASE("cross-host streams: the standby host gets the connection's image once the history is told, then its progress",
          "[cross_host_streams]")
{
    Hosts h;
    Session s(h.active, "192.0.2.2", true);
    REQUIRE(h.active.pump(s.number));
    h.settle_channel();
    std::vector<CrossHostStreams::View> keep;
    const auto *held = view_of(h.standby, s.number, keep);
    REQUIRE(held);
    REQUIRE(held->image);
    // The addresses and ports of the active's socket, as the peer sees them.
    auto mine = capture(s.c.ours.get());
    REQUIRE(mine);
    CHECK(held->image->local.to_string() == mine->local.to_string());
    CHECK(held->image->remote.to_string() == mine->remote.to_string());
    CHECK(held->image->options.mss == mine->options.mss);
    // Stream offset 0 is the history's first byte: the sequence numbers of
    // what was exchanged before the attach are the bases.
    CHECK(held->image->send_base + s.exchanged.size() == mine->send_seq);
    CHECK(held->image->recv_base + s.exchanged.size() == mine->recv_seq);
    CHECK(held->progress_age_ms >= 0);

    // Traffic both ways, then a capture: the progress says the peer
    // acknowledged all the router sent, and the kernel all it received.
    const std::string u = update("", kOrigin + kAsPath + kNextHop, v4(10, 3, 3));
    send_all(s.c.peer.get(), u);
    settle();
    CHECK(read_tap(s.tap) == u);
    REQUIRE(h.active.pump(s.number));
    h.settle_channel();
    CHECK(s.write(u) == -1);  // logged; out once the standby host confirmed it
    REQUIRE(h.active.pump(s.number));
    h.settle_channel();
    CHECK(s.write(u) == static_cast<ssize_t>(u.size()));
    CHECK(drain(s.c.peer.get()) == u);
    settle();
    auto now = capture(s.c.ours.get());
    REQUIRE(now);
    h.active.progress(s.number, *now, s.tap.written(), s.tap.consumed());
    h.settle_channel();
    held = view_of(h.standby, s.number, keep);
    REQUIRE(held);
    REQUIRE(held->progress);
    CHECK(held->progress->peer_acked == s.exchanged.size() + u.size());
    CHECK(held->progress->received_acked == s.exchanged.size() + u.size());
    CHECK(held->received == s.exchanged.size() + u.size());
    CHECK(held->sent == s.exchanged.size() + u.size());
}

TEST_CASE("cross-host streams: no image without a capture, and a progress before the image ends the session",
          "[cross_host_streams]")
{
    Hosts h;
    Session s(h.active, "192.0.2.2");
    REQUIRE(h.active.pump(s.number));
    h.settle_channel();
    std::vector<CrossHostStreams::View> keep;
    const auto *held = view_of(h.standby, s.number, keep);
    REQUIRE(held);
    CHECK_FALSE(held->image);
    // Without an image, the active sends no progress.
    auto now = capture(s.c.ours.get());
    REQUIRE(now);
    h.active.progress(s.number, *now, s.tap.written(), s.tap.consumed());
    CHECK(h.to_standby.empty());
    // A confused active's progress first: the standby ends the session.
    h.standby.on_progress(SessionProgress{s.number, ConnectionProgress{}});
    CHECK(h.standby.view().empty());
    REQUIRE(h.to_active.size() == 1);
    CHECK(std::get<StreamEnd>(h.to_active.front()).why == "a progress before the image");
}

namespace {

std::string sockname(int fd, bool peer)
{
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    int rc = peer ? ::getpeername(fd, reinterpret_cast<sockaddr *>(&ss), &len)
                  : ::getsockname(fd, reinterpret_cast<sockaddr *>(&ss), &len);
    REQUIRE(rc == 0);
    auto *in = reinterpret_cast<sockaddr_in *>(&ss);
    char text[INET_ADDRSTRLEN] = "";
    ::inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text));
    return std::string(text) + ":" + std::to_string(ntohs(in->sin_port));
}

}  // namespace

TEST_CASE("cross-host streams: the standby host's shadow gets both streams on its links and a placeholder with the session's addresses",
          "[cross_host_streams]")
{
    Hosts h;
    Session s(h.active, "192.0.2.2", true);
    REQUIRE(h.active.pump(s.number));
    h.settle_channel();
    auto st = h.standby.receiver_state(s.number);
    REQUIRE(st);
    CHECK(st->shadow_wanted);
    CHECK(st->history_complete);
    CHECK(st->write_fd == -1);
    CHECK(std::count(h.receiver_changed.begin(), h.receiver_changed.end(), s.number) >= 1);

    // The placeholder takes the session's 4-tuple: on the standby host it
    // is free (here: a network namespace of its own for this thread).
    std::string local = sockname(s.c.ours.get(), false), remote = sockname(s.c.ours.get(), true);
    std::array<UniqueFd, 3> fds;
    {
        ScopedNetns standby_host;
        REQUIRE(standby_host.why().empty());
        auto started = h.standby.start_shadow(s.number);
        INFO(started.why());
        REQUIRE(started);
        fds = std::move(*started);
        CHECK(sockname(fds[0].get(), false) == local);
        CHECK(sockname(fds[0].get(), true) == remote);
        int repair = 0;
        socklen_t len = sizeof(repair);
        REQUIRE(::getsockopt(fds[0].get(), IPPROTO_TCP, TCP_REPAIR, &repair, &len) == 0);
        CHECK(repair == 1);  // it never sends
        // The service address is the active host's: no interface here
        // holds it.
        auto view = h.standby.view();
        REQUIRE(view.size() == 1);
        REQUIRE(view[0].image);
        ConnectionImage elsewhere = *view[0].image;
        REQUIRE(elsewhere.local.family == AF_INET);
        const std::uint8_t service[4] = {192, 0, 2, 10};
        std::memcpy(&elsewhere.local.address, service, sizeof(service));
        auto not_held = placeholder_of(elsewhere);
        INFO(not_held.why());
        REQUIRE(not_held);
        CHECK(sockname(not_held->get(), false).rfind("192.0.2.10:", 0) == 0);
    }
    CHECK_FALSE(h.standby.start_shadow(s.number));  // once only
    CHECK_FALSE(h.standby.receiver_state(s.number)->shadow_wanted);

    // The links carry each stream from its first byte, as a local hand-over's.
    CHECK(take(fds[1].get()) == s.exchanged);
    CHECK(take(fds[2].get()) == s.exchanged);
    const std::string u = update("", kOrigin + kAsPath + kNextHop, v4(10, 4, 4));
    send_all(s.c.peer.get(), u);
    settle();
    CHECK(read_tap(s.tap) == u);
    REQUIRE(h.active.pump(s.number));
    h.settle_channel();
    CHECK(take(fds[1].get()) == u);

    // The progress says what the peer acknowledged: the shadow's send log
    // forgets it.
    auto now = capture(s.c.ours.get());
    REQUIRE(now);
    h.active.progress(s.number, *now, s.tap.written(), s.tap.consumed());
    h.settle_channel();
    CHECK(h.standby.receiver_state(s.number)->peer_acked == s.exchanged.size());

    // The shadow ends on the standby host: its word reaches the active's
    // tap, which goes on unprotected with it.
    send_standby_word(fds[1].get(), "shadow session ends: Admin. shutdown");
    h.standby.receiver_word(s.number);
    CHECK_FALSE(h.standby.receiver_state(s.number));
    h.settle_channel();
    CHECK(h.active.view().empty());
    settle();
    CHECK(s.tap.take_standby_word("silent"));
    CHECK_THAT(s.tap.why_unprotected(), Catch::Contains("Admin. shutdown"));
}

TEST_CASE("cross-host streams: the standby host is not ready until each shadow has read its history from its links",
          "[cross_host_streams]")
{
    Hosts h;
    Session s(h.active, "192.0.2.2", true);
    CHECK(h.standby.shadows_behind().empty());  // no session handed over yet
    REQUIRE(h.active.pump(s.number));
    h.settle_channel();
    REQUIRE(h.standby.receiver_state(s.number)->history_complete);
    CHECK(h.standby.shadows_behind() == "the shadow of 192.0.2.2 is not running yet");
    std::array<UniqueFd, 3> fds = shadow_on_standby_host(h.standby, s.number);
    CHECK_THAT(h.standby.shadows_behind(),
               Catch::StartsWith("the shadow of 192.0.2.2 has not read its history yet"));
    // The received stream read, the send log not yet.
    CHECK(take(fds[1].get()) == s.exchanged);
    CHECK_THAT(h.standby.shadows_behind(), Catch::Contains("has not read its history yet"));
    CHECK(take(fds[2].get()) == s.exchanged);
    CHECK(h.standby.shadows_behind().empty());

    // What comes after the history is the live lag, shown apart: unread,
    // it does not make the standby host unready again.
    send_all(s.c.peer.get(), update("", kOrigin + kAsPath + kNextHop, v4(10, 6, 6)));
    settle();
    read_tap(s.tap);
    REQUIRE(h.active.pump(s.number));
    h.settle_channel();
    CHECK(h.standby.shadows_behind().empty());
}

TEST_CASE("cross-host streams: a new hand-over of a neighbor supersedes what the standby host still receives for it",
          "[cross_host_streams]")
{
    Hosts h;
    Session s(h.active, "192.0.2.2", true);
    REQUIRE(h.active.pump(s.number));
    h.settle_channel();
    REQUIRE(h.standby.receiver_state(s.number));
    // The active hands the neighbor over again under a new number, and the
    // end of the first never came.
    const std::uint64_t next = s.number + 100;
    h.standby.on_session(StreamSessionInfo{next, 1, "", "192.0.2.2", false});
    CHECK_FALSE(h.standby.receiver_state(s.number));
    CHECK(h.standby.receiver_state(next));
    bool told = false;
    for (const Piece &p : h.to_active)
        if (auto *e = std::get_if<StreamEnd>(&p))
            told = told || (e->session == s.number &&
                            e->why.find("superseded by the neighbor's session") != std::string::npos);
    CHECK(told);
    // Another neighbor's receiver is left alone.
    h.standby.on_session(StreamSessionInfo{next + 1, 1, "", "192.0.2.3", false});
    CHECK(h.standby.receiver_state(next));
    CHECK_THAT(h.standby.shadows_behind(), Catch::Contains("192.0.2.2 waits for its connection's image"));
}

namespace {

// A session with its shadow on the standby host, whose peer sends more
// than the links, the window and the budget ahead of the links hold
// while the shadow reads nothing.
struct UnreadShadow {
    Hosts &h;
    Session s;
    std::array<UniqueFd, 3> fds;
    std::string big, read;
    std::thread peer;

    UnreadShadow(Hosts &hosts, std::size_t bytes) : h(hosts), s(h.active, "192.0.2.2", true)
    {
        REQUIRE(h.active.pump(s.number));
        h.settle_channel();
        fds = shadow_on_standby_host(h.standby, s.number);
        while (big.size() < bytes)
            big += update("", kOrigin + kAsPath + kNextHop,
                          v4(10, 5, static_cast<std::uint8_t>(big.size())));
        peer = std::thread([this] { send_all(s.c.peer.get(), big); });
    }
    ~UnreadShadow()
    {
        if (peer.joinable())
            peer.join();
    }
    // The active reads, relays and is confirmed until nothing moves, or
    // the input link is full and nothing more is read.
    void pump_until_quiet()
    {
        for (int round = 0; round < 400; round++) {
            std::string got = read_tap(s.tap);
            read += got;
            h.active.pump(s.number);
            h.settle_channel();
            if (got.empty() && h.to_standby.empty())
                settle();
            auto st = h.standby.receiver_state(s.number);
            if (st && st->write_fd != -1 && got.empty())
                return;
            if (got.empty() && read.size() >= big.size())
                return;
        }
    }
    // Or until `done`.
    bool pump_until(const std::function<bool()> &done)
    {
        for (int round = 0; round < 400 && !done(); round++) {
            std::string got = read_tap(s.tap);
            read += got;
            h.active.pump(s.number);
            h.settle_channel();
            if (got.empty())
                settle();
        }
        return done();
    }
    std::uint64_t total() const { return s.exchanged.size() + big.size(); }
};

}  // namespace

TEST_CASE("cross-host streams: a shadow that does not read is confirmed ahead of its links within the budget, then holds the confirmations back, and the session with them",
          "[cross_host_streams]")
{
    constexpr std::size_t kAhead = 1u << 20;
    Hosts h(CrossHostStreams::kDefaultBudget, kAhead);
    UnreadShadow u(h, 6u << 20);
    Session &s = u.s;
    std::array<UniqueFd, 3> &fds = u.fds;
    std::string &big = u.big;
    std::string &read = u.read;
    // Past the full link, exactly the budget is confirmed.
    CHECK(u.pump_until([&] { return h.standby.counters().ahead_of_links == kAhead; }));
    u.pump_until_quiet();
    CHECK(h.standby.counters().ahead_of_links == kAhead);
    auto st = h.standby.receiver_state(s.number);
    REQUIRE(st);
    CHECK(st->write_fd == st->read_fd);  // the input link is full
    std::vector<CrossHostStreams::View> keep;
    const auto *relay = view_of(h.active, s.number, keep);
    REQUIRE(relay);
    // Then nothing more: the window stops the relay.
    CHECK(relay->received < u.total());
    CHECK(relay->offered_received - relay->received <= StreamSender::kDefaultWindow);

    // The shadow reads: every byte arrives, in order, and is confirmed.
    std::string shadow;
    for (int round = 0; round < 2000 && shadow.size() < u.total(); round++) {
        shadow += take(fds[1].get());
        h.standby.receiver_flush(s.number);
        h.settle_channel();
        read += read_tap(s.tap);
        h.active.pump(s.number);
        h.settle_channel();
    }
    u.peer.join();
    CHECK(shadow.size() == u.total());
    CHECK(shadow == s.exchanged + big);
    relay = view_of(h.active, s.number, keep);
    REQUIRE(relay);
    CHECK(relay->received == u.total());
    CHECK(h.standby.counters().ahead_of_links == 0);
}

TEST_CASE("cross-host streams: a shadow that takes its session over gets every byte its host confirmed ahead of the links",
          "[cross_host_streams]")
{
    Hosts h;  // 16 MiB ahead of the links: more than the peer sends
    UnreadShadow u(h, 6u << 20);
    std::vector<CrossHostStreams::View> keep;
    // Every byte confirmed, though the shadow read none.
    CHECK(u.pump_until([&] {
        const auto *relay = view_of(h.active, u.s.number, keep);
        return relay && relay->received == u.total();
    }));
    u.peer.join();
    CHECK(h.standby.counters().ahead_of_links > 0);
    CHECK(h.standby.may_continue(u.s.number));

    // This host becomes active: the links take all it holds, and the
    // shadow finds every byte in order on its input link.
    h.standby.end_receivers("this RP becomes active", true);
    CHECK(h.standby.may_continue(u.s.number));
    CHECK(h.standby.counters().ahead_of_links == 0);
    std::string shadow = take(u.fds[1].get());
    CHECK(shadow.size() == u.total());
    CHECK(shadow == u.s.exchanged + u.big);
}

TEST_CASE("cross-host streams: the standby host's shadow takes the session over on a socket rebuilt from what it holds, and the peer's stream goes on",
          "[cross_host_streams]")
{
    Hosts h;
    Session s(h.active, "192.0.2.2", true, pseudo_open() + bgp_keepalive());
    REQUIRE(h.active.pump(s.number));
    h.settle_channel();
    std::array<UniqueFd, 3> fds = shadow_on_standby_host(h.standby, s.number);
    // The shadow as bgpd runs it: its FSM reads the OPEN and KEEPALIVE,
    // the socket is set apart, the gate opens.
    const int bgpd_fd = fds[0].release();
    for (int i : {1, 2})  // as bgpd_ha_shadow_adopt() sets them
        ::fcntl(fds[i].get(), F_SETFL, ::fcntl(fds[i].get(), F_GETFL) | O_NONBLOCK);
    SessionTap shadow(bgpd_fd, std::move(fds[1]), std::move(fds[2]), std::nullopt);
    CHECK(read_tap(shadow) == s.exchanged);
    const int ttl = 7;  // as bgpd sets it (ebgp-multihop, GTSM) on its socket
    REQUIRE(::setsockopt(bgpd_fd, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl)) == 0);
    REQUIRE(shadow.isolate());
    shadow.open_gate();
    auto follow = [&] {
        auto st = h.standby.receiver_state(s.number);
        REQUIRE(st);
        REQUIRE(st->image);
        shadow.follow_remote(*st->image, *st->progress, st->progress_at);
        if (st->history_complete)
            REQUIRE(shadow.remote_history_complete());
    };
    follow();
    CHECK(shadow.history_complete());

    // Both ways through the active host: the peer's update reaches the
    // shadow, the router's reaches the peer once the standby host holds it.
    const std::string from_peer = update("", kOrigin + kAsPath + kNextHop, v4(10, 6, 1));
    const std::string ours = update("", kOrigin + kAsPath + kNextHop, v4(10, 7, 1));
    send_all(s.c.peer.get(), from_peer);
    settle();
    CHECK(read_tap(s.tap) == from_peer);
    CHECK(s.write(ours) == -1);
    REQUIRE(h.active.pump(s.number));
    h.settle_channel();
    CHECK(s.write(ours) == static_cast<ssize_t>(ours.size()));
    CHECK(drain(s.c.peer.get()) == ours);
    CHECK(read_tap(shadow) == from_peer);
    REQUIRE(shadow.drain_sendlog(false));
    settle();
    auto now = capture(s.c.ours.get());
    REQUIRE(now);
    h.active.progress(s.number, *now, s.tap.written(), s.tap.consumed());
    h.settle_channel();
    follow();

    // The active host dies: its socket goes without a word (repair mode),
    // the data channel with it.
    REQUIRE(silence(s.c.ours));
    h.standby.end_receivers("the data channel to the partner went down");
    Status taken = shadow.take_over();
    INFO(taken.why());
    REQUIRE(taken);
    // bgpd's descriptor is the rebuilt socket, with bgpd's options.
    int got_ttl = 0;
    socklen_t ttl_len = sizeof(got_ttl);
    REQUIRE(::getsockopt(bgpd_fd, IPPROTO_IP, IP_TTL, &got_ttl, &ttl_len) == 0);
    CHECK(got_ttl == ttl);
    CHECK((::fcntl(bgpd_fd, F_GETFL) & O_NONBLOCK) != 0);
    CHECK(sockname(bgpd_fd, true) == sockname(s.c.peer.get(), false));

    // The peer's stream goes on: what it sends now comes in on the rebuilt
    // socket after the rest of the mirror, what the new active writes
    // reaches it, and it never saw a FIN or RST.
    const std::string later = update("", kOrigin + kAsPath + kNextHop, v4(10, 6, 2));
    send_all(s.c.peer.get(), later);
    std::string got;
    for (int i = 0; i < 40 && got.size() < later.size(); i++) {
        settle();
        got += read_tap(shadow);
    }
    CHECK(got == later);
    const std::string reply = update("", kOrigin + kAsPath + kNextHop, v4(10, 7, 2));
    struct iovec iov = {const_cast<char *>(reply.data()), reply.size()};
    CHECK(shadow.writev(&iov, 1) == static_cast<ssize_t>(reply.size()));
    CHECK(drain(s.c.peer.get()) == reply);
    int error = 0;
    socklen_t len = sizeof(error);
    REQUIRE(::getsockopt(s.c.peer.get(), SOL_SOCKET, SO_ERROR, &error, &len) == 0);
    CHECK(error == 0);
    ::close(bgpd_fd);
}

namespace {

// Two hosts' streams with the active's relays under a real hold, in a
// network namespace of this thread's (the hold's nftables table and queue
// are the namespace's). `queue`: the hold's NFQUEUE number.
struct HostsUnderHold {
    ScopedNetns netns;
    std::unique_ptr<AckHold> installed;
    Hosts hosts;

    explicit HostsUnderHold(std::uint16_t queue)
    {
        REQUIRE(netns.why().empty());
        auto made = AckHold::install(queue);
        INFO(made.why());
        REQUIRE(made);
        installed = std::move(*made);
        hosts.active.set_hold(installed.get());
    }
    AckHold &hold() { return *installed; }
};

// The peer's own bytes its kernel says were acknowledged, after letting the
// hold take what the active's kernel queued for `ms`.
std::uint64_t peer_acked_after(AckHold &hold, int peer, int ms)
{
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (std::chrono::steady_clock::now() < end) {
        pollfd p{hold.fd(), POLLIN, 0};
        if (::poll(&p, 1, 10) == 1)
            hold.on_readable();
    }
    auto pos = tcp_stream_position(peer);
    REQUIRE(pos);
    return pos->acked;
}

}  // namespace

TEST_CASE("cross-host streams: under the hold the peer is acknowledged only what the standby host confirmed",
          "[cross_host_streams]")
{
    HostsUnderHold held(180);
    AckHold &hold = held.hold();
    Hosts &h = held.hosts;
    Session s(h.active, "192.0.2.2", true);
    REQUIRE(h.active.pump(s.number));
    h.settle_channel();
    CHECK(h.active.counters().held_sessions == 1);
    const std::uint64_t before = peer_acked_after(hold, s.c.peer.get(), 50);
    CHECK(before == s.exchanged.size());

    // The peer's update reaches bgpd at once, but its ACK waits for the
    // standby host.
    const std::string u = update("", kOrigin + kAsPath + kNextHop, v4(10, 8, 1));
    send_all(s.c.peer.get(), u);
    settle();
    CHECK(read_tap(s.tap) == u);
    CHECK(peer_acked_after(hold, s.c.peer.get(), 200) == before);
    REQUIRE(h.active.pump(s.number));
    CHECK(peer_acked_after(hold, s.c.peer.get(), 100) == before);  // the chunk is on its way
    h.settle_channel();  // the standby host holds it and confirms
    CHECK(peer_acked_after(hold, s.c.peer.get(), 300) == before + u.size());
    CHECK(hold.counters().held > 0);

    // The progress says the kernel acknowledged what the hold let out.
    auto now = capture(s.c.ours.get());
    REQUIRE(now);
    h.active.progress(s.number, *now, s.tap.written(), s.tap.consumed());
    h.settle_channel();
    auto st = h.standby.receiver_state(s.number);
    REQUIRE(st);
    REQUIRE(st->progress);
    CHECK(st->progress->received_acked == s.exchanged.size() + u.size());

    // The session's streams end (the standby refuses a chunk): what waits
    // goes, and the session is no longer held.
    h.standby.on_chunk(StreamChunk{s.number, StreamKind::received, 100000, "x"});
    h.settle_channel();
    CHECK(h.active.counters().held_sessions == 0);
    CHECK(hold.connections() == 0);
    send_all(s.c.peer.get(), u);
    settle();
    CHECK(read_tap(s.tap) == u);
    CHECK(peer_acked_after(hold, s.c.peer.get(), 300) == before + 2 * u.size());
}

namespace {

// Lets the hold take what the kernel queues for `ms`, checking the lag
// limit every `every` ms as bgpd's timer does: the sessions it ended.
std::size_t lagging_after(CrossHostStreams &active, AckHold &hold, int ms,
                          std::chrono::milliseconds limit, int every = 20)
{
    std::size_t ended = 0;
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (std::chrono::steady_clock::now() < end) {
        pollfd p{hold.fd(), POLLIN, 0};
        if (::poll(&p, 1, every) == 1)
            hold.on_readable();
        ended += active.end_lagging(limit, std::chrono::steady_clock::now());
    }
    return ended;
}

}  // namespace

TEST_CASE("cross-host streams: a standby host that does not confirm holds the peer's acknowledgement back only up to the lag limit",
          "[cross_host_streams]")
{
    HostsUnderHold held(183);
    AckHold &hold = held.hold();
    Hosts &h = held.hosts;
    Session s(h.active, "192.0.2.2", true);
    REQUIRE(h.active.pump(s.number));
    h.settle_channel();
    const std::uint64_t before = peer_acked_after(hold, s.c.peer.get(), 50);

    // The peer's update reaches bgpd; the standby host never confirms it
    // (its chunk stays on the channel): the ACK waits, and within a lag
    // limit of 10 s nothing ends.
    const std::string u = update("", kOrigin + kAsPath + kNextHop, v4(10, 8, 3));
    send_all(s.c.peer.get(), u);
    settle();
    CHECK(read_tap(s.tap) == u);
    REQUIRE(h.active.pump(s.number));
    CHECK(lagging_after(h.active, hold, 300, std::chrono::seconds(10)) == 0);
    CHECK(peer_acked_after(hold, s.c.peer.get(), 10) == before);
    std::vector<CrossHostStreams::View> keep;
    const CrossHostStreams::View *v = view_of(h.active, s.number, keep);
    REQUIRE(v);
    CHECK(v->hold_wait_ms >= 250);

    // A check long after the last one follows a stall of the thread (the
    // confirmation may be unread): it decides nothing, however long the
    // wait.
    std::this_thread::sleep_for(CrossHostStreams::kLateLagCheck + std::chrono::milliseconds(50));
    CHECK(h.active.end_lagging(std::chrono::milliseconds(100), std::chrono::steady_clock::now()) == 0);
    CHECK(hold.connections() == 1);

    // At a lag limit it has waited past, the next timely check ends the
    // session's streams: what waited goes out, the tap hears why and the
    // session goes on unprotected.
    CHECK(lagging_after(h.active, hold, 100, std::chrono::milliseconds(100)) == 1);
    CHECK(h.active.counters().hold_lagging == 1);
    CHECK(h.active.counters().held_sessions == 0);
    CHECK(hold.connections() == 0);
    CHECK(peer_acked_after(hold, s.c.peer.get(), 300) == before + u.size());
    CHECK(s.tap.take_standby_word("silent"));
    CHECK(s.tap.why_unprotected().find("the standby ended its shadow: standby lagging: the peer's "
                                       "acknowledgement waited") != std::string::npos);
    h.settle_channel();  // the standby host hears the end too
    CHECK_FALSE(h.standby.receiver_state(s.number));
    const std::string ours = update("", kOrigin + kAsPath + kNextHop, v4(10, 8, 4));
    CHECK(s.write(ours) == static_cast<ssize_t>(ours.size()));
    CHECK(drain(s.c.peer.get()) == ours);
}

TEST_CASE("cross-host streams: the data channel down keeps the gate and the hold shut until this RP may write again",
          "[cross_host_streams]")
{
    HostsUnderHold held(181);
    AckHold &hold = held.hold();
    Hosts &h = held.hosts;
    Session s(h.active, "192.0.2.2", true);
    REQUIRE(h.active.pump(s.number));
    h.settle_channel();
    const std::uint64_t before = peer_acked_after(hold, s.c.peer.get(), 50);

    // The channel goes: the standby host may be taking over with what it
    // holds, so what the peer sends now is not acknowledged.
    h.active.end_relays("the data channel to the partner went down", true);
    CHECK(hold.connections() == 1);
    // Nor does the router write what the standby host never logged.
    const std::string ours = update("", kOrigin + kAsPath + kNextHop, v4(10, 9, 2));
    errno = 0;
    CHECK(s.write(ours) == -1);
    CHECK(errno == EAGAIN);
    CHECK(take(s.c.peer.get()).empty());
    const std::string u = update("", kOrigin + kAsPath + kNextHop, v4(10, 9, 1));
    send_all(s.c.peer.get(), u);
    settle();
    CHECK(read_tap(s.tap) == u);
    CHECK(peer_acked_after(hold, s.c.peer.get(), 300) == before);
    // Cut, the session waits past any lag limit: the standby host may be
    // taking over with what it holds.
    CHECK(lagging_after(h.active, hold, 300, std::chrono::milliseconds(50)) == 0);
    CHECK(hold.connections() == 1);
    CHECK(peer_acked_after(hold, s.c.peer.get(), 10) == before);

    // Its lease came back (no standby took over): what waited goes, and
    // the session writes on, unprotected.
    h.active.release_cut("this RP writes to peers again");
    CHECK(hold.connections() == 0);
    CHECK(peer_acked_after(hold, s.c.peer.get(), 300) == before + u.size());
    settle();
    CHECK(s.tap.take_standby_word("silent"));
    CHECK(s.write(ours) == static_cast<ssize_t>(ours.size()));
    CHECK(drain(s.c.peer.get()) == ours);
}

TEST_CASE("cross-host streams: a shadow may continue only what the active cannot have gone on without",
          "[cross_host_streams]")
{
    Hosts h;
    h.standby.on_session(StreamSessionInfo{5, 1, "", "192.0.2.5", false});
    h.standby.on_session(StreamSessionInfo{6, 1, "", "192.0.2.6", false});
    CHECK(h.standby.may_continue(5));
    CHECK_FALSE(h.standby.may_continue(7));  // never heard of

    // The active ended one session's streams: it goes on without this host.
    h.standby.on_end(StreamEnd{6, "the standby's lag limit"});
    CHECK_FALSE(h.standby.may_continue(6));
    CHECK(h.standby.may_continue(5));

    // The data channel went down: the active's relays are cut, it writes
    // nothing this host lacks, and the shadow may take over...
    h.standby.end_receivers("the data channel to the partner went down", true);
    CHECK(h.standby.view().empty());
    CHECK(h.standby.may_continue(5));
    CHECK_FALSE(h.standby.may_continue(6));
    // ... until the partner is back (its cut released, or its lease
    // granted again): then it may have written without this host.
    h.standby.partner_back();
    CHECK_FALSE(h.standby.may_continue(5));

    // Becoming active ends the receivers continuable (the takeover);
    // any other role change does not.
    h.standby.on_session(StreamSessionInfo{8, 1, "", "192.0.2.8", false});
    h.standby.end_receivers("this RP is no longer standby", true);
    CHECK(h.standby.may_continue(8));
    h.standby.on_session(StreamSessionInfo{9, 1, "", "192.0.2.9", false});
    h.standby.end_receivers("this RP is no longer standby");
    CHECK_FALSE(h.standby.may_continue(9));
}

namespace {

// Reads what a shadow's link holds until it is empty.
std::string read_link(int fd)
{
    std::string got;
    char buf[65536];
    for (;;) {
        ssize_t n = ::recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n <= 0)
            return got;
        got.append(buf, static_cast<std::size_t>(n));
    }
}

}  // namespace

TEST_CASE("cross-host streams: a session catching up writes and is acknowledged at once, and is protected only once the standby host caught up and holds all the peer may have",
          "[cross_host_streams]")
{
    HostsUnderHold held(182);
    AckHold &hold = held.hold();
    Hosts &h = held.hosts;
    Session s(h.active, "192.0.2.2", true, bgp_keepalive() + bgp_empty_update(), true);
    REQUIRE(h.active.pump(s.number));
    CHECK(h.active.counters().held_sessions == 0);
    CHECK(h.active.counters().catching_up == 1);
    CHECK(s.tap.mode() == TapMode::Mirroring);
    CHECK(s.tap.shown_mode() == TapMode::HandingOver);  // not protected yet
    CHECK(s.tap.replication_stats().protected_after_ms == -1);

    // Nothing has reached the standby host: the router's update reaches
    // the peer, and the peer's is acknowledged, all the same.
    const std::string ours = update("", kOrigin + kAsPath + kNextHop, v4(10, 11, 1));
    CHECK(s.write(ours) == static_cast<ssize_t>(ours.size()));
    CHECK(drain(s.c.peer.get()) == ours);
    const std::string theirs = update("", kOrigin + kAsPath + kNextHop, v4(10, 11, 2));
    send_all(s.c.peer.get(), theirs);
    settle();
    CHECK(read_tap(s.tap) == theirs);
    CHECK(peer_acked_after(hold, s.c.peer.get(), 100) == s.exchanged.size() + theirs.size());

    // The standby host gets it all, but may not continue the session: the
    // active did not wait for it.
    REQUIRE(h.active.pump(s.number));
    h.settle_channel();
    CHECK_FALSE(h.standby.may_continue(s.number));
    CHECK(h.standby.counters().catching_up == 1);
    std::vector<CrossHostStreams::View> keep;
    CHECK_FALSE(view_of(h.standby, s.number, keep)->is_protected);

    // Its shadow starts and reads its links: it has caught up, and says so.
    auto fds = shadow_on_standby_host(h.standby, s.number);
    CHECK(read_link(fds[1].get()) == s.exchanged + theirs);
    CHECK(read_link(fds[2].get()) == s.exchanged + ours);
    CHECK(h.standby.shadows_behind().find("has caught up and waits for the active") !=
          std::string::npos);
    h.settle_channel();
    CHECK(s.gate->engaged());
    CHECK(h.active.counters().held_sessions == 1);

    // From now on a write waits for the standby host...
    const std::string more = update("", kOrigin + kAsPath + kNextHop, v4(10, 11, 3));
    errno = 0;
    CHECK(s.write(more) == -1);
    CHECK(errno == EAGAIN);
    CHECK(take(s.c.peer.get()).empty());
    REQUIRE(h.active.pump(s.number));
    h.settle_channel();
    CHECK(s.write(more) == static_cast<ssize_t>(more.size()));
    (void)peer_acked_after(hold, s.c.peer.get(), 100);  // the hold passes it
    CHECK(drain(s.c.peer.get()) == more);
    // ... but the session is protected only once a capture after the hold
    // started says what the kernel acknowledged before it.
    CHECK_FALSE(h.standby.may_continue(s.number));
    CHECK_FALSE(s.gate->is_protected());
    auto now = capture(s.c.ours.get());
    REQUIRE(now);
    h.active.progress(s.number, *now, s.tap.written(), s.tap.consumed());
    h.settle_channel();
    CHECK(s.gate->is_protected());
    CHECK(s.tap.shown_mode() == TapMode::Mirroring);
    CHECK(s.tap.replication_stats().protected_after_ms >= 0);
    CHECK(h.standby.may_continue(s.number));
    CHECK(h.standby.shadows_behind().empty());
    CHECK(h.active.counters().catching_up == 0);
    CHECK(h.standby.counters().catching_up == 0);
    CHECK(view_of(h.active, s.number, keep)->is_protected);
    CHECK(view_of(h.standby, s.number, keep)->is_protected);
    CHECK(std::count(h.log.begin(), h.log.end(), "192.0.2.2 is protected by the standby host") == 1);
}

TEST_CASE("cross-host streams: a write that passes the gate as it engages counts, and the session waits for it to be confirmed",
          "[cross_host_streams]")
{
    Hosts h;
    Session s(h.active, "192.0.2.2", false, bgp_keepalive() + bgp_empty_update(), true);
    REQUIRE(h.active.pump(s.number));
    h.settle_channel();
    // Written while the standby host caught up: the gate remembers how far.
    const std::string ours = update("", kOrigin + kAsPath + kNextHop, v4(10, 12, 1));
    CHECK(s.write(ours) == static_cast<ssize_t>(ours.size()));
    CHECK(s.gate->ungated_end() == s.exchanged.size() + ours.size());
    // The standby caught up before that write reached it: engaged, and not
    // protected until the write is confirmed.
    h.active.on_protection(StreamProtection{s.number, StreamProtection::Step::CaughtUp, 0, 0});
    CHECK(s.gate->engaged());
    CHECK_FALSE(s.gate->is_protected());
    CHECK(h.to_standby.empty());
    REQUIRE(h.active.pump(s.number));
    h.settle_channel();
    CHECK(s.gate->is_protected());
    CHECK(h.standby.may_continue(s.number));
    // Once engaged no write passes ungated, however many race it.
    CHECK_FALSE(s.gate->pass_ungated(1u << 30));
}

TEST_CASE("cross-host streams: a protection the standby host cannot hold, or a session never protected, is not continued",
          "[cross_host_streams]")
{
    Hosts h;
    Session s(h.active, "192.0.2.2", false, bgp_keepalive() + bgp_empty_update(), true);
    REQUIRE(h.active.pump(s.number));
    h.settle_channel();
    // Said protected past what this host holds: its streams end on both
    // sides, with the reason, and the session goes on without the standby.
    h.standby.on_protection(
        StreamProtection{s.number, StreamProtection::Step::Protected, 1u << 20, 0});
    CHECK_FALSE(h.standby.may_continue(s.number));
    CHECK(std::any_of(h.log.begin(), h.log.end(), [](const std::string &l) {
        return l.find("protected at offsets this host does not hold (received 1048576") !=
               std::string::npos;
    }));
    h.settle_channel();
    CHECK(h.active.view().empty());
    settle();
    CHECK(s.tap.take_standby_word("silent"));
    const std::string ours = update("", kOrigin + kAsPath + kNextHop, v4(10, 13, 1));
    CHECK(s.write(ours) == static_cast<ssize_t>(ours.size()));
    CHECK(drain(s.c.peer.get()) == ours);

    // One still catching up when the data channel goes (or this RP takes
    // over) is not continued: the active never waited for this host.
    h.standby.on_session(StreamSessionInfo{20, 1, "", "192.0.2.20", false, true});
    h.standby.on_session(StreamSessionInfo{21, 1, "", "192.0.2.21", false, false});
    CHECK_FALSE(h.standby.may_continue(20));
    CHECK(h.standby.may_continue(21));  // an older active's: gated from its first byte
    h.standby.end_receivers("this RP becomes active", true);
    CHECK_FALSE(h.standby.may_continue(20));
    CHECK(h.standby.may_continue(21));
    CHECK(h.standby.shadows_behind().empty());
}

TEST_CASE("cross-host streams: a session catching up is confirmed as it arrives until its shadow starts, so a history larger than the links goes through",
          "[cross_host_streams]")
{
    // The budget ahead of the links smaller than what the links miss.
    Hosts h(CrossHostStreams::kDefaultBudget, 256u << 10);
    // 6 MiB of the sent stream, more than the links and the window hold,
    // and no image yet (it follows the whole history): nothing reads the
    // links.
    std::string history;
    while (history.size() < (6u << 20))
        history += bgp_keepalive();
    auto feed = [&](std::uint64_t session) {
        for (std::size_t at = 0; at < history.size(); at += StreamReceiver::kMaxChunk)
            h.standby.on_chunk(StreamChunk{session, StreamKind::sent, at,
                                           history.substr(at, StreamReceiver::kMaxChunk)});
    };
    auto last_ack = [&](std::uint64_t session) {
        StreamAck last{};
        for (const Piece &p : h.to_active)
            if (auto *a = std::get_if<StreamAck>(&p); a && a->session == session)
                last = *a;
        return last;
    };
    h.standby.on_session(StreamSessionInfo{30, 1, "", "192.0.2.30", false, true});
    feed(30);
    CHECK(last_ack(30).sent == history.size());
    CHECK(h.standby.shadows_behind().find("waits for its connection's image") != std::string::npos);
    CHECK_FALSE(h.standby.may_continue(30));

    // An older active's session is confirmed only as far as the links took
    // it and the budget ahead of them (its shadow may continue whatever was
    // confirmed).
    h.to_active.clear();
    h.standby.on_session(StreamSessionInfo{31, 1, "", "192.0.2.31", false, false});
    feed(31);
    const std::uint64_t took = last_ack(31).sent;
    CHECK(took > 0);
    CHECK(took < history.size());
}
