// A hand-over's history made a part at a time while the session goes on
// (history_stream.hpp): it ends in the same state, takes the memory of one
// part, and the standby learns where the streams stand only once the links
// hold it all.
#include <catch2/catch.hpp>

#include "bgp_messages.hpp"
#include "bgp_stream.hpp"
#include "history_stream.hpp"
#include "session_tap.hpp"
#include "stream_rib.hpp"
#include "tap_fixtures.hpp"

#include <chrono>
#include <string>
#include <thread>

using namespace frr_ha;
using namespace frr_ha::test;
using namespace std::chrono_literals;

namespace {

std::string med(std::uint32_t v)
{
    return attr(0x80, 4, std::string{char(v >> 24), char(v >> 16), char(v >> 8), char(v)});
}

// Prefix i of a table: 10.x.y/24.
std::string prefix(int i) { return v4(10, static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i)); }

// `count` prefixes from `first`, `per_set` to an attribute set (MED = set).
std::string table(int first, int count, int per_set, std::uint32_t med_base = 0)
{
    std::string out;
    for (int i = first; i < first + count; i += per_set) {
        std::string nlri;
        for (int k = i; k < i + per_set && k < first + count; k++)
            nlri += prefix(k);
        out += update("", kOrigin + kAsPath + kNextHop + med(med_base + i / per_set), nlri);
    }
    return out;
}

void apply_stream(StreamRib &rib, const std::string &bytes)
{
    BgpStreamFramer f(kBgpMaxExtendedMessage);
    f.feed(bytes.data(), bytes.size());
    while (auto m = f.next())
        REQUIRE(rib.apply(*m));
    REQUIRE_FALSE(f.broken());
}

// An Established session: the peer sent `from_peer`, we sent `ours`. Not
// handed over as it came up: its history is made from the records.
void bring_up_unprotected(Connection &c, SessionTap &tap, const std::string &from_peer,
                          const std::string &ours)
{
    std::thread peer([&] { send_all(c.peer.get(), from_peer); });
    std::string got;
    for (int i = 0; i < 100000 && got.size() < from_peer.size(); i++)
        got += read_tap(tap);
    peer.join();
    REQUIRE(got == from_peer);
    struct iovec iov = {const_cast<char *>(ours.data()), ours.size()};
    REQUIRE(tap.writev(&iov, 1) == static_cast<ssize_t>(ours.size()));
    REQUIRE(drain(c.peer.get()) == ours);
    REQUIRE(tap.unprotect("no standby when the session came up"));
}

// The hand-over's links: the active's ends (_w), the standby's (_r).
struct HandoverLinks {
    UniqueFd in_w, out_w, conn_w, in_r, out_r, conn_r;
    HandoverLinks()
    {
        link_pair(&in_w, &in_r);
        link_pair(&out_w, &out_r);
        handover_conn(&conn_w, &conn_r);
    }
    // A link that takes a little at a time.
    static void narrow(const UniqueFd &w)
    {
        const int small = 4096;
        REQUIRE(setsockopt(w.get(), SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)) == 0);
    }
};

}  // namespace

TEST_CASE("a record replayed in parts while it changes ends where the record ends")
{
    StreamRib rib;
    apply_stream(rib, pseudo_open() + table(0, 6000, 7));
    StreamRib shadow;
    std::string changes;  // what changed the record after the first part
    StreamRib::Cursor cursor;
    int part = 0;
    while (!cursor.done()) {
        std::vector<std::string> messages;
        std::string why;
        REQUIRE(rib.replay_part(cursor, 500, 4096, &messages, &why));
        for (const auto &m : messages)
            REQUIRE(shadow.apply(m));
        // Between parts: prefixes behind and ahead of the cursor withdrawn,
        // changed and added; the messages follow the history.
        std::string change = update(prefix(part * 400) + prefix(5999 - part * 300), "", "") +
                             table(part * 450, 20, 4, 100000 + part) +
                             table(6000 + part * 10, 10, 5, 200000);
        apply_stream(rib, change);
        changes += change;
        part++;
    }
    CHECK(part > 10);
    apply_stream(shadow, changes);
    CHECK(shadow.prefixes() == rib.prefixes());
    CHECK(replayed(shadow) == replayed(rib));
}

TEST_CASE("an Established session's history is made as the link takes it, and the standby's counts line up")
{
    Connection c = connect_loopback();
    SessionTap tap{c.ours.get()};
    // The peer's OPEN, KEEPALIVE and a table of 20000 prefixes in 5000
    // attribute sets (about 350 kB); ours, OPEN and KEEPALIVE.
    const std::string from_peer = pseudo_open() + bgp_keepalive() + table(0, 20000, 4);
    bring_up_unprotected(c, tap, from_peer, pseudo_open() + bgp_keepalive());

    HandoverLinks l;
    HandoverLinks::narrow(l.in_w);
    REQUIRE(tap.attach(std::move(l.in_w), std::move(l.out_w), std::move(l.conn_w)));
    CHECK(tap.mode() == TapMode::HandingOver);
    CHECK_FALSE(history_end(l.conn_r.get()));  // not before the links hold it all

    // The standby reads slowly; the session goes on, the peer changing a
    // few routes meanwhile. The history waiting in memory stays about one
    // part, however large the table.
    std::string in_link, out_link;
    std::uint64_t most_waiting = 0;
    const std::string change = update(prefix(3) + prefix(19000), "", "") + table(20000, 8, 2, 90000);
    for (int i = 0; i < 200000 && tap.mode() == TapMode::HandingOver; i++) {
        if (i == 10) {
            send_all(c.peer.get(), change);
            settle();
            CHECK(read_tap(tap) == change);
        }
        char buf[2048];
        ssize_t n = recv(l.in_r.get(), buf, sizeof(buf), MSG_DONTWAIT);
        if (n > 0)
            in_link.append(buf, static_cast<std::size_t>(n));
        out_link += take(l.out_r.get());
        most_waiting = std::max(most_waiting, tap.replication_stats().pending_bytes);
        tap.pump(10s, 16 << 10);
    }
    REQUIRE(tap.mode() == TapMode::Mirroring);
    in_link += drain(l.in_r.get());
    out_link += drain(l.out_r.get());
    CHECK(most_waiting < 2 * ActiveTap::kHistoryPart);
    CHECK(in_link.size() > 300000);

    // What the standby got ends where the peer's stream ends.
    StreamRib standby, peer_sent;
    apply_stream(standby, in_link);
    apply_stream(peer_sent, from_peer + change);
    CHECK(replayed(standby) == replayed(peer_sent));
    CHECK(standby.prefixes() == 20000 - 2 + 8);

    // Told once the links held it all: the kernel's counters, less the
    // bias, are the standby's own counts of both links.
    auto end = history_end(l.conn_r.get());
    REQUIRE(end);
    auto pos = tcp_stream_position(c.ours.get());
    REQUIRE(pos);
    CHECK(pos->consumed(end->bias) == in_link.size());
    CHECK(pos->written(end->bias) == out_link.size());
    CHECK(end->history_sent_bytes == out_link.size());
}

TEST_CASE("a shadow whose history never ended is not continued, and says why")
{
    Connection c = connect_loopback();
    UniqueFd in_w, out_w, in_r, out_r;
    link_pair(&in_w, &in_r);
    link_pair(&out_w, &out_r);
    SessionTap shadow(dup(c.ours.get()), std::move(in_r), std::move(out_r), std::nullopt);
    shadow.open_gate();
    send_all(in_w.get(), pseudo_open() + bgp_keepalive());
    CHECK(read_tap(shadow) == pseudo_open() + bgp_keepalive());
    CHECK_FALSE(shadow.history_complete());
    // The active dies in the middle of its hand-over.
    in_w.reset();
    out_w.reset();
    Status taken = shadow.take_over();
    CHECK_FALSE(taken);
    CHECK(taken.why().find("before the hand-over's history was complete") != std::string::npos);
}

TEST_CASE("a session whose sent stream cannot be recorded is handed over receive-only, never to continue")
{
    Connection c = connect_loopback();
    SessionTap tap{c.ours.get()};
    const std::string from_peer = pseudo_open() + bgp_keepalive() + table(0, 300, 3);
    send_all(c.peer.get(), from_peer);
    settle();
    REQUIRE(read_tap(tap) == from_peer);
    // We send something the record cannot follow (as with ADD-PATH sent).
    std::string too_short = bgp_empty_update();
    too_short.resize(21);
    too_short[17] = 21;
    const std::string ours = pseudo_open() + bgp_keepalive() + too_short;
    struct iovec iov = {const_cast<char *>(ours.data()), ours.size()};
    REQUIRE(tap.writev(&iov, 1) == static_cast<ssize_t>(ours.size()));
    REQUIRE(tap.unprotect("no standby when the session came up"));

    // Continuing it would need what the peer holds from us: refused, saying why.
    Status tf = tap.attachable(false);
    CHECK_FALSE(tf);
    CHECK(tf.why().find("what the peer holds from us") != std::string::npos);

    // Restarting it gracefully needs the peer's routes only.
    REQUIRE(tap.attachable(true));
    HandoverLinks l;
    REQUIRE(tap.attach(std::move(l.in_w), std::move(l.out_w), std::move(l.conn_w), true));
    for (int i = 0; i < 100 && tap.mode() == TapMode::HandingOver; i++)
        tap.pump(10s, 1 << 20);
    CHECK(tap.mode() == TapMode::Mirroring);
    CHECK(drain(l.out_r.get()) == pseudo_open() + bgp_keepalive());  // then the log closes
    StreamRib standby, peer_sent;
    apply_stream(standby, drain(l.in_r.get()));
    apply_stream(peer_sent, from_peer);
    CHECK(replayed(standby) == replayed(peer_sent));
    CHECK(history_end(l.conn_r.get()));
}

TEST_CASE("what passed during a hand-over is freed once the session is protected")
{
    Connection c = connect_loopback();
    SessionTap tap{c.ours.get()};
    // The peer's table (about 350 kB) makes a history the input link
    // takes slowly: the hand-over lasts while our load passes.
    const std::string from_peer = pseudo_open() + bgp_keepalive() + table(0, 20000, 4);
    const std::string ours = pseudo_open() + bgp_keepalive();
    bring_up_unprotected(c, tap, from_peer, ours);

    HandoverLinks l;
    HandoverLinks::narrow(l.in_w);
    HandoverLinks::narrow(l.out_w);
    REQUIRE(tap.attach(std::move(l.in_w), std::move(l.out_w), std::move(l.conn_w)));

    // A table load goes to the peer while the standby takes nothing yet:
    // it waits behind the history, in the hand-over's buffers.
    const std::string load = table(30000, 40000, 4, 50000);
    for (std::size_t at = 0; at < load.size();) {
        struct iovec part = {const_cast<char *>(load.data() + at), std::min<std::size_t>(4096, load.size() - at)};
        ssize_t n = tap.writev(&part, 1);
        REQUIRE(n > 0);
        REQUIRE(tap.mode() == TapMode::HandingOver);
        at += static_cast<std::size_t>(n);
        take(c.peer.get());  // the peer reads as it comes
    }
    CHECK(tap.replication_stats().pending_capacity > load.size() / 2);

    // The standby reads it all: protected, and the buffers are given back
    // (a string assigned from an empty one would keep its own).
    std::string out_link;
    for (int i = 0; i < 200000 && tap.mode() == TapMode::HandingOver; i++) {
        take(l.in_r.get());
        out_link += take(l.out_r.get());
        tap.pump(10s, 16 << 10);
    }
    REQUIRE(tap.mode() == TapMode::Mirroring);
    out_link += drain(l.out_r.get());
    CHECK(out_link == ours + load);
    CHECK(tap.replication_stats().pending_capacity < 1024);
    CHECK(history_end(l.conn_r.get()));
}
