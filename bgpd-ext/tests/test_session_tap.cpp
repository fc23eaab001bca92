// SessionTap on real loopback TCP sockets: the active's history and mirror,
// and a shadow taking over with a half-written message and mirrored bytes
// the old active never consumed.
#include <catch2/catch.hpp>

#include "bgp_stream.hpp"
#include "bgp_messages.hpp"
#include "tap_fixtures.hpp"
#include "session_tap.hpp"
#include "tcp_stream_position.hpp"
#include "unique_fd.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <memory>
#include <string>

using namespace frr_ha;

using namespace frr_ha::test;


TEST_CASE("an active's tap keeps the history, then mirrors before consuming and logs before writing")
{
    HandedOverActive a(false);
    Connection &c = a.c;
    SessionTap &tap = a.tap;
    const std::string &open_like = a.open_like;
    struct iovec &iov = a.iov;
    UniqueFd &in_r = a.in_r, &out_r = a.out_r;
    TcpCountBias &bias = a.bias;
    CHECK(tap.mode() == TapMode::Mirroring);
    // The links start with the history: the standby sees both streams from
    // their first byte.
    CHECK(drain(in_r.get()) == open_like);
    CHECK(drain(out_r.get()) == open_like);
    // The bias makes the kernel's counters say what the tap counted.
    auto pos = tcp_stream_position(c.ours.get());
    REQUIRE(pos);
    CHECK(pos->consumed(bias) == tap.consumed());
    CHECK(pos->written(bias) == tap.written());

    const std::string more = bgp_keepalive() + bgp_keepalive();
    send_all(c.peer.get(), more);
    settle();
    CHECK(read_tap(tap) == more);
    CHECK(drain(in_r.get()) == more);
    CHECK(tap.writev(&iov, 1) == static_cast<ssize_t>(open_like.size()));
    CHECK(drain(out_r.get()) == open_like);
    CHECK(drain(c.peer.get()) == open_like);

    // The standby goes away: the session carries on, unprotected, saying why.
    in_r.reset();
    out_r.reset();
    send_all(c.peer.get(), more);
    settle();
    CHECK(read_tap(tap) == more);
    CHECK(tap.mode() == TapMode::Unprotected);
    CHECK(tap.why_unprotected().find("standby stopped taking the mirror") != std::string::npos);
}

namespace {

// The old active, by hand: the peer sends three keepalives; it peeks and
// mirrors all three but consumes only the first, then logs a keepalive and
// an UPDATE and writes the first and 5 bytes of the second before it dies.
// Returns the three, the keepalive and the UPDATE.
struct HalfWritten {
    std::string three, ka, upd;
};
HalfWritten old_active_dies_mid_message(ShadowOfFreshConnection &f)
{
    HalfWritten w{bgp_keepalive() + bgp_keepalive() + bgp_keepalive(), bgp_keepalive(),
                  bgp_empty_update()};
    send_all(f.c.peer.get(), w.three);
    settle();
    char buf[256];
    REQUIRE(recv(f.c.ours.get(), buf, sizeof(buf), MSG_PEEK) == 57);
    send_all(f.in_w.get(), std::string(buf, 57));
    REQUIRE(recv(f.c.ours.get(), buf, 19, 0) == 19);
    send_all(f.out_w.get(), w.ka + w.upd);
    send_all(f.c.ours.get(), w.ka + w.upd.substr(0, 5));
    return w;
}

}  // namespace

TEST_CASE("a shadow takes over: finishes a half-written message, drops what it already holds")
{
    ShadowOfFreshConnection f;
    Connection &c = f.c;
    SessionTap &shadow = *f.shadow;
    UniqueFd &in_w = f.in_w, &out_w = f.out_w;
    const auto [three, ka, upd] = old_active_dies_mid_message(f);
    in_w.reset();  // SIGKILL
    out_w.reset();

    bool ended = false;
    CHECK(read_tap(shadow, &ended) == three);  // the shadow ran all three
    CHECK(ended);
    CHECK(shadow.mode() == TapMode::MirrorEnded);

    REQUIRE(shadow.take_over());
    CHECK(shadow.completed_bytes() == upd.size() - 5);
    CHECK(shadow.mode() == TapMode::TakingOver);
    // bgpd waited parked after the mirror's end: it must wait on it anew.
    CHECK(shadow.input_moved());
    // The peer got both messages whole, each byte once.
    std::string at_peer = drain(c.peer.get());
    CHECK(at_peer == ka + upd);
    std::string error;
    CHECK(messages_in(at_peer, &error) == 2);
    CHECK(error.empty());

    // Input: the mirror ends, the two mirrored-but-unconsumed messages are
    // dropped from the socket, and new bytes come from the socket itself.
    CHECK(read_tap(shadow).empty());
    CHECK(shadow.mode() == TapMode::Live);
    send_all(c.peer.get(), upd);
    settle();
    CHECK(read_tap(shadow) == upd);
    CHECK(shadow.consumed() == 57 + upd.size());
}

TEST_CASE("a send log read as the active writes takes at most 128 KiB a call, and all of it in turn")
{
    ShadowOfFreshConnection f;
    SessionTap &shadow = *f.shadow;
    // The link as the module makes it (2 MiB, SO_SNDBUFFORCE: CAP_NET_ADMIN),
    // filled while the standby read nothing.
    int size = 2 << 20;
    REQUIRE(::setsockopt(f.out_w.get(), SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) == 0);
    REQUIRE(::fcntl(f.out_w.get(), F_SETFL, O_NONBLOCK) == 0);
    const std::string ka = bgp_keepalive();
    std::string burst;
    while (burst.size() < (64u << 10))
        burst += ka;
    std::size_t queued = 0;
    for (;;) {
        ssize_t n = ::send(f.out_w.get(), burst.data(), burst.size(), MSG_NOSIGNAL);
        if (n <= 0)
            break;
        queued += static_cast<std::size_t>(n);  // the last may end mid-message
    }
    REQUIRE(queued > (2u << 20));

    REQUIRE(shadow.drain_sendlog(false));
    const std::size_t first = shadow.sendlog_messages() * ka.size();
    CHECK(first > 0);
    CHECK(first <= (128u << 10));
    for (int calls = 0; calls < 32; calls++)
        REQUIRE(shadow.drain_sendlog(false));
    CHECK(shadow.sendlog_messages() == queued / ka.size());
}

TEST_CASE("a shadow takes over from a dying active whose links are still open, its writers gone")
{
    // The old active's life page said its writing threads are dead; its
    // process still holds the links (its exit is not over): what they hold
    // is all there is, with no end of stream to wait for.
    ShadowOfFreshConnection f;
    Connection &c = f.c;
    SessionTap &shadow = *f.shadow;
    const auto [three, ka, upd] = old_active_dies_mid_message(f);  // links left open

    bool ended = false;
    CHECK(read_tap(shadow, &ended) == three);
    CHECK_FALSE(ended);  // the links are open
    CHECK(shadow.mode() == TapMode::Shadow);

    REQUIRE(shadow.take_over(true));
    CHECK(shadow.completed_bytes() == upd.size() - 5);
    std::string at_peer = drain(c.peer.get());
    CHECK(at_peer == ka + upd);
    // bgpd's wait on the mirror wakes to read its end at once.
    CHECK_FALSE(shadow.input_moved());
    struct pollfd p = {shadow.input_fd(-1), POLLIN, 0};
    CHECK(poll(&p, 1, 0) == 1);
    CHECK(read_tap(shadow).empty());
    CHECK(shadow.mode() == TapMode::Live);
    send_all(c.peer.get(), upd);
    settle();
    CHECK(read_tap(shadow) == upd);
    CHECK(shadow.consumed() == 57 + upd.size());
    CHECK(shadow.duplicates_dropped() == 38);
}

TEST_CASE("a shadow refuses to continue when the old active consumed bytes it never mirrored")
{
    ShadowOfFreshConnection f;
    Connection &c = f.c;
    SessionTap &shadow = *f.shadow;
    UniqueFd &in_w = f.in_w, &out_w = f.out_w;

    send_all(c.peer.get(), bgp_keepalive());
    settle();
    char buf[64];
    REQUIRE(recv(c.ours.get(), buf, sizeof(buf), 0) == 19);  // consumed, not mirrored
    in_w.reset();
    out_w.reset();

    REQUIRE(shadow.take_over());
    CHECK(shadow.read(buf, sizeof(buf), nullptr) == -1);
    CHECK(errno == EPROTO);
    CHECK(shadow.mode() == TapMode::Unprotected);
    CHECK(shadow.why_unprotected() == "the old active consumed bytes the mirror never got");
}

TEST_CASE("a shadow takes only the OPEN and KEEPALIVE until its FSM is Established")
{
    ShadowOfFreshConnection f(false);
    SessionTap &shadow = *f.shadow;
    UniqueFd &in_w = f.in_w;

    // An OPEN-sized first message, a KEEPALIVE, then an UPDATE, all at once.
    const std::string open = pseudo_open();
    const std::string update = bgp_empty_update();
    send_all(in_w.get(), open + bgp_keepalive() + update);
    const int parked = 1000;
    CHECK(shadow.input_fd(parked) != parked);
    CHECK(read_tap(shadow) == open + bgp_keepalive());
    CHECK(shadow.input_fd(parked) == parked);  // no polling while gated
    shadow.open_gate();
    CHECK(shadow.input_fd(parked) != parked);
    CHECK(read_tap(shadow) == update);
}

TEST_CASE("after a takeover the peer gets what the shadow sent and the old active did not")
{
    ShadowOfFreshConnection f;
    Connection &c = f.c;
    SessionTap &shadow = *f.shadow;
    UniqueFd &in_w = f.in_w, &out_w = f.out_w;

    // An UPDATE announcing 10.2.0.0/24 (ORIGIN, AS_PATH, NEXT_HOP).
    const std::string body = std::string("\x00\x00\x00\x14", 4) +
                             std::string("\x40\x01\x01\x00", 4) +
                             std::string("\x40\x02\x06\x02\x01\x00\x00\xfd\xe9", 9) +
                             std::string("\x40\x03\x04\x0a\x00\x0c\x01", 7) + std::string("\x18\x0a\x02\x00", 4);
    std::string update(16, '\xff');
    update += static_cast<char>(0);
    update += static_cast<char>(19 + body.size());
    update += static_cast<char>(BgpType::Update);
    update += body;

    // The old active logged and wrote a KEEPALIVE only; the shadow's FSM
    // had also sent the UPDATE (swallowed) when the active died.
    send_all(out_w.get(), bgp_keepalive());
    send_all(c.ours.get(), bgp_keepalive());
    struct iovec iov = {const_cast<char *>(update.data()), update.size()};
    CHECK(shadow.writev(&iov, 1) == static_cast<ssize_t>(update.size()));
    in_w.reset();
    out_w.reset();
    bool ended = false;
    read_tap(shadow, &ended);

    REQUIRE(shadow.take_over());
    auto taken = shadow.take_takeover_messages();
    REQUIRE(taken);
    auto &first = *taken;
    REQUIRE(first.size() == 1);
    CHECK(first.front() == update);  // the same bytes the shadow had sent
    CHECK(shadow.take_takeover_messages()->empty());
}

TEST_CASE("a session ended for a graceful restart reads its end at once and writes nothing")
{
    ShadowOfFreshConnection f;
    Connection &c = f.c;
    SessionTap &shadow = *f.shadow;

    // The peer has sent something the old active never consumed.
    send_all(c.peer.get(), bgp_keepalive());
    shadow.end_for_graceful_restart();
    CHECK(std::string(tap_mode_name(shadow.mode())) == "graceful-end");

    // bgpd's I/O thread is woken at once, and reads the end of the stream.
    const int parked = 1000;
    struct pollfd p = {shadow.input_fd(parked), POLLIN, 0};
    REQUIRE(p.fd >= 0);
    REQUIRE(p.fd != parked);
    CHECK(poll(&p, 1, 0) == 1);
    char buf[64];
    bool ended = false;
    CHECK(shadow.read(buf, sizeof(buf), &ended) == 0);

    // Nothing reaches the peer: a NOTIFICATION here would defeat the
    // peer's graceful-restart helper.
    const std::string notification(21, '\xff');
    struct iovec iov = {const_cast<char *>(notification.data()), notification.size()};
    CHECK(shadow.writev(&iov, 1) == static_cast<ssize_t>(notification.size()));
    struct pollfd q = {c.peer.get(), POLLIN, 0};
    CHECK(poll(&q, 1, 50) == 0);
}

TEST_CASE("a session handed over for a graceful restart mirrors what it receives, not what it sends")
{
    HandedOverActive a(true);
    Connection &c = a.c;
    SessionTap &tap = a.tap;
    const std::string &open_like = a.open_like;
    struct iovec &iov = a.iov;
    UniqueFd &in_r = a.in_r, &out_r = a.out_r;
    CHECK(tap.receive_only());
    // Both histories, so the standby's FSM comes up as the active's did;
    // then the send log ends.
    CHECK(drain(in_r.get()) == open_like);
    CHECK(drain(out_r.get()) == open_like);
    char byte;
    CHECK(recv(out_r.get(), &byte, 1, MSG_DONTWAIT) == 0);

    // From now on: received bytes are mirrored, sent ones go straight out.
    const std::string more = bgp_keepalive() + bgp_keepalive();
    send_all(c.peer.get(), more);
    settle();
    CHECK(read_tap(tap) == more);
    CHECK(drain(in_r.get()) == more);
    CHECK(tap.writev(&iov, 1) == static_cast<ssize_t>(open_like.size()));
    CHECK(drain(c.peer.get()) == open_like);
    CHECK(tap.mode() == TapMode::Mirroring);
}

TEST_CASE("an isolated shadow's descriptor reaches nothing of the peer's connection")
{
    ShadowOfFreshConnection f;
    Connection &c = f.c;
    SessionTap &shadow = *f.shadow;
    const int fd = shadow.fd();

    REQUIRE(shadow.isolate());
    CHECK(shadow.isolated());
    CHECK(shadow.socket_fd() != fd);
    // bgpd's event loops keep a pollfd with no events after its last
    // event: the stand-in must never be reported, or they spin.
    struct pollfd idle[] = {{fd, 0, 0}, {fd, POLLIN, 0}};
    CHECK(::poll(idle, 2, 0) == 0);
    // What bgpd could do on a standby: write a NOTIFICATION, set a socket
    // option, shut the descriptor down, close it.
    const std::string notification = bgp_keepalive();
    signal(SIGPIPE, SIG_IGN);  // as in bgpd (FRR ignores it)
    CHECK(::write(fd, notification.data(), notification.size()) < 0);
    int one = 1;
    CHECK(::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0);
    ::shutdown(fd, SHUT_RDWR);
    ::close(fd);
    // The peer saw nothing: no byte, no FIN (a read would return 0), no RST.
    char buf[64];
    CHECK(recv(c.peer.get(), buf, sizeof(buf), MSG_DONTWAIT) == -1);
    CHECK(errno == EAGAIN);
    // And the connection still carries bytes both ways.
    send_all(c.peer.get(), bgp_keepalive());
    settle();
    CHECK(recv(c.ours.get(), buf, sizeof(buf), MSG_DONTWAIT) == 19);
}

TEST_CASE("a takeover gives the peer's socket its descriptor number back")
{
    ShadowOfFreshConnection f;
    Connection &c = f.c;
    SessionTap &shadow = *f.shadow;
    const int fd = shadow.fd();

    REQUIRE(shadow.isolate());
    f.in_w.reset();  // the old active dies
    f.out_w.reset();
    REQUIRE(shadow.take_over());
    CHECK_FALSE(shadow.isolated());
    CHECK(shadow.socket_fd() == fd);
    const std::string ka = bgp_keepalive();
    CHECK(::send(fd, ka.data(), ka.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(ka.size()));
    CHECK(drain(c.peer.get()) == ka);
}

TEST_CASE("a released active holds nothing of the peer's connection")
{
    HandedOverActive a(false);
    const int fd = a.tap.fd();
    a.tap.release();
    a.c.ours.release();  // the tap's descriptor, now a stand-in
    struct pollfd idle = {fd, 0, 0};
    CHECK(::poll(&idle, 1, 0) == 0);  // never wakes bgpd's event loops
    signal(SIGPIPE, SIG_IGN);  // as in bgpd (FRR ignores it)
    CHECK(::write(fd, "x", 1) < 0);
    ::close(fd);
    char buf[64];
    CHECK(recv(a.c.peer.get(), buf, sizeof(buf), MSG_DONTWAIT) == 0);  // the last holder closed
}

TEST_CASE("a released active whose session goes on from another host closes it without a word")
{
    HandedOverActive a(false);
    const int fd = a.tap.fd();
    REQUIRE(a.tap.release(true));
    a.c.ours.release();  // the tap's descriptor, now a stand-in
    ::close(fd);         // the last holder: in repair mode, no FIN, no RST
    settle();
    char buf[64];
    errno = 0;
    CHECK(recv(a.c.peer.get(), buf, sizeof(buf), MSG_DONTWAIT) == -1);
    CHECK(errno == EAGAIN);
    int error = 0;
    socklen_t len = sizeof(error);
    REQUIRE(::getsockopt(a.c.peer.get(), SOL_SOCKET, SO_ERROR, &error, &len) == 0);
    CHECK(error == 0);
}

TEST_CASE("a socket without a tap released silently closes without a word too")
{
    Connection c = connect_loopback();
    const int fd = c.ours.get();
    REQUIRE(release_silently(fd));
    struct pollfd idle = {fd, 0, 0};
    CHECK(::poll(&idle, 1, 0) == 0);  // a stand-in now
    c.ours.reset();  // bgpd's close: the last holder, in repair mode
    settle();
    char buf[64];
    errno = 0;
    CHECK(recv(c.peer.get(), buf, sizeof(buf), MSG_DONTWAIT) == -1);
    CHECK(errno == EAGAIN);
    int error = 0;
    socklen_t len = sizeof(error);
    REQUIRE(::getsockopt(c.peer.get(), SOL_SOCKET, SO_ERROR, &error, &len) == 0);
    CHECK(error == 0);
}

TEST_CASE("a shadow that ends tells the active why, and the active waits before handing over again")
{
    HandedOverActive a(false);
    SessionTap &tap = a.tap;
    CHECK(tap.standby_word_fd() >= 0);
    CHECK_FALSE(tap.take_standby_word("silent"));  // nothing said yet

    // The standby's end of the links, as its shadow ends.
    const std::string why = "Admin. shutdown";
    REQUIRE(send(a.in_r.get(), why.data(), why.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(why.size()));
    a.in_r.reset();
    a.out_r.reset();
    REQUIRE(tap.take_standby_word("silent"));
    CHECK(tap.mode() == TapMode::Unprotected);
    CHECK(tap.why_unprotected() == "the standby ended its shadow: Admin. shutdown");
    CHECK(tap.standby_word_fd() == -1);
    std::string not_yet = tap.attachable().why();
    CHECK(not_yet.find("handed over again in") != std::string::npos);

    // The session itself is untouched: it carries on without the standby.
    const std::string ka = bgp_keepalive();
    send_all(a.c.peer.get(), ka);
    settle();
    CHECK(read_tap(tap) == ka);
}

TEST_CASE("a standby that goes without a word leaves the session unprotected at once, no back-off")
{
    HandedOverActive a(false);
    a.in_r.reset();
    a.out_r.reset();
    REQUIRE(a.tap.take_standby_word("the standby closed the session's links"));
    CHECK(a.tap.why_unprotected() == "the standby closed the session's links");
    CHECK(a.tap.attachable().why().find("handed over again in") == std::string::npos);
}
