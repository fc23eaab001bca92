// A TCP connection rebuilt with TCP_REPAIR, against the real kernel over
// loopback: one end (the "app", as bgpd's socket) is captured and closed in
// repair mode, a new socket is built from the state, and the other end (the
// "peer") never notices. Needs CAP_NET_ADMIN (the tests run as root).
#include "tcp_repair_fixtures.hpp"

using namespace frr_ha;
using namespace frr_ha::tcp_test;

TEST_CASE("A connection rebuilt from its captured state continues both ways, in-flight and "
          "unacknowledged bytes included", "[tcp_repair]")
{
    REQUIRE_REPAIR();
    UniqueFd listener;
    // The peer (client) has a small receive buffer: the app's writes fill
    // its window and stay in the app's send queue, unacknowledged.
    Connection c = connect_pair({AF_INET, "", 16384}, &listener);
    int peer = c.client.get();
    UniqueFd app = std::move(c.server);
    Flow to_peer{7}, to_app{91};

    REQUIRE(exchange(app.get(), peer, to_peer, to_app, 100000));
    // The peer sends more than the app reads: unread bytes in the app's
    // receive queue (acknowledged by its kernel).
    to_app.write_to(peer, to_app.written + 30000);
    REQUIRE(eventually([&] { return outq(peer) == 0; }));
    to_app.read_from(app.get(), to_app.read + 10000);
    // The app writes until its socket is full: the peer's window is closed.
    to_peer.write_to(app.get(), to_peer.written + (64u << 20));
    // Whatever was in flight has arrived and been acknowledged by now.
    std::this_thread::sleep_for(milliseconds(200));
    REQUIRE(outq(app.get()) > 0);
    const std::uint64_t app_wrote = to_peer.written;
    const std::uint64_t app_read = to_app.read;

    TcpConnectionState s = final_capture(app);
    INFO("send queue " << s.send_queue.size() << ", receive queue " << s.recv_queue.size());
    CHECK(s.local.family == AF_INET);
    CHECK(s.remote.to_string().rfind("127.0.0.1:", 0) == 0);
    CHECK(s.have_window);
    CHECK(s.options.mss > 0);
    CHECK(s.options.timestamps);
    CHECK(s.options.sack);
    CHECK(s.options.window_scaling);
    // What the kernel held is exactly what the app wrote but the peer did
    // not acknowledge, and what the peer sent but the app did not read.
    REQUIRE(s.send_queue.size() > 0);
    CHECK(s.send_queue == to_peer.bytes(app_wrote - s.send_queue.size(), s.send_queue.size()));
    CHECK(s.recv_queue == to_app.bytes(app_read, to_app.written - app_read));

    // The old socket is gone and the peer does not know.
    std::this_thread::sleep_for(milliseconds(300));
    require_peer_untouched(peer);

    UniqueFd again = restored(s);
    CHECK(static_cast<int>(info_of(again.get()).tcpi_state) == TCP_ESTABLISHED);
    REQUIRE(exchange(again.get(), peer, to_peer, to_app, 200000));
    CHECK(to_peer.first_bad == UINT64_MAX);
    CHECK(to_app.first_bad == UINT64_MAX);
    CHECK(to_peer.read == to_peer.written);
    CHECK(to_app.read == to_app.written);
    require_peer_silent(peer);
}

TEST_CASE("An IPv6 connection rebuilt from its captured state continues both ways",
          "[tcp_repair]")
{
    REQUIRE_REPAIR();
    UniqueFd listener;
    Connection c = connect_pair({AF_INET6, "", 0}, &listener);
    // Here the app is the end that connected.
    UniqueFd app = std::move(c.client);
    int peer = c.server.get();
    Flow to_peer{3}, to_app{200};

    REQUIRE(exchange(app.get(), peer, to_peer, to_app, 50000));
    to_app.write_to(peer, to_app.written + 20000);
    REQUIRE(eventually([&] { return outq(peer) == 0; }));
    to_app.read_from(app.get(), to_app.read + 5000);

    TcpConnectionState s = final_capture(app);
    CHECK(s.local.family == AF_INET6);
    CHECK(s.remote.to_string().rfind("[::1]:", 0) == 0);
    CHECK(s.recv_queue.size() == 15000);
    std::this_thread::sleep_for(milliseconds(300));
    require_peer_silent(peer);

    UniqueFd again = restored(s);
    REQUIRE(exchange(again.get(), peer, to_peer, to_app, 100000));
    CHECK(to_peer.first_bad == UINT64_MAX);
    CHECK(to_app.first_bad == UINT64_MAX);
    require_peer_silent(peer);
}

TEST_CASE("A TCP-MD5 connection continues only when rebuilt with its key", "[tcp_repair]")
{
    REQUIRE_REPAIR();
    const std::string key = "frr-ha md5 key";
    UniqueFd listener;
    Connection c = connect_pair({AF_INET, key, 0}, &listener);
    UniqueFd app = std::move(c.client);
    int peer = c.server.get();
    Flow to_peer{11}, to_app{12};
    REQUIRE(exchange(app.get(), peer, to_peer, to_app, 20000));

    TcpConnectionState s = final_capture(app);
    require_peer_silent(peer);

    // Without the key: the peer's kernel drops every segment (no MD5
    // option where one is required), so nothing arrives, and nothing resets.
    std::uint64_t not_found = tcp_ext("TCPMD5NotFound");
    {
        UniqueFd keyless = restored(s);
        to_peer.write_to(keyless.get(), to_peer.written + 1000);
        std::this_thread::sleep_for(milliseconds(1500));
        to_peer.read_from(peer);
        CHECK(to_peer.read + 1000 == to_peer.written);
        CHECK(tcp_ext("TCPMD5NotFound") > not_found);
        require_peer_silent(peer);
        Status st = silence(keyless);
        REQUIRE(st);
    }
    // What the keyless socket wrote never reached the peer: the stream
    // goes on from the capture.
    to_peer.written = to_peer.read;

    RestoreOptions with_key;
    with_key.md5_key = key;
    UniqueFd again = restored(s, with_key);
    REQUIRE(exchange(again.get(), peer, to_peer, to_app, 50000));
    CHECK(to_peer.first_bad == UINT64_MAX);
    CHECK(to_app.first_bad == UINT64_MAX);
    require_peer_silent(peer);
}

TEST_CASE("The rebuilt connection keeps the timestamp clock the peer knows", "[tcp_repair]")
{
    REQUIRE_REPAIR();
    UniqueFd listener;
    Connection c = connect_pair({AF_INET, "", 0}, &listener);
    UniqueFd app = std::move(c.server);
    int peer = c.client.get();
    Flow to_peer{21}, to_app{22};
    REQUIRE(exchange(app.get(), peer, to_peer, to_app, 20000));

    TcpConnectionState s = final_capture(app);
    REQUIRE(s.options.timestamps);

    // A clock moved back (an offset lost on the way): the peer's PAWS check
    // drops every segment as an old duplicate.
    std::uint64_t paws = tcp_ext("PAWSEstab");
    {
        TcpConnectionState behind = s;
        behind.timestamp -= 1u << 24;
        UniqueFd wrong = restored(behind);
        to_peer.write_to(wrong.get(), to_peer.written + 1000);
        std::this_thread::sleep_for(milliseconds(1500));
        to_peer.read_from(peer);
        CHECK(to_peer.read + 1000 == to_peer.written);
        CHECK(tcp_ext("PAWSEstab") > paws);
        require_peer_silent(peer);
        REQUIRE(silence(wrong));
    }
    to_peer.written = to_peer.read;

    // The captured clock, moved forward by the time since (as the standby
    // will): timestamps still on, and the peer accepts the segments.
    RestoreOptions later;
    later.timestamp_advance_ms = 2000;
    UniqueFd again = restored(s, later);
    tcp_info info = info_of(again.get());
    CHECK((info.tcpi_options & TCPI_OPT_TIMESTAMPS) != 0);
    paws = tcp_ext("PAWSEstab");
    REQUIRE(exchange(again.get(), peer, to_peer, to_app, 50000));
    CHECK(tcp_ext("PAWSEstab") == paws);
    CHECK(to_peer.first_bad == UINT64_MAX);
    CHECK(to_app.first_bad == UINT64_MAX);
    CHECK((info_of(peer).tcpi_options & TCPI_OPT_TIMESTAMPS) != 0);
    require_peer_silent(peer);
}

TEST_CASE("A state that cannot be continued is refused with the reason, and the peer is never "
          "reset", "[tcp_repair]")
{
    REQUIRE_REPAIR();
    UniqueFd listener;
    Connection c = connect_pair({AF_INET, "", 0}, &listener);
    UniqueFd app = std::move(c.server);
    int peer = c.client.get();
    Flow to_peer{31}, to_app{32};
    REQUIRE(exchange(app.get(), peer, to_peer, to_app, 20000));

    SECTION("the 4-tuple is still in use: the live socket is untouched")
    {
        // capture() leaves the socket as it was.
        Result<TcpConnectionState> s = capture(app.get());
        INFO(s.why());
        REQUIRE(s);
        Result<UniqueFd> twin = restore(*s);
        REQUIRE(!twin);
        INFO(twin.why());
        CHECK(twin.why().find("connect") != std::string::npos);
        CHECK(twin.why().find("4-tuple is in use") != std::string::npos);
        REQUIRE(exchange(app.get(), peer, to_peer, to_app, 20000));
        CHECK(to_peer.first_bad == UINT64_MAX);
        CHECK(to_app.first_bad == UINT64_MAX);
        require_peer_silent(peer);
    }

    SECTION("a corrupted receive sequence or window")
    {
        TcpConnectionState s = final_capture(app);
        TcpConnectionState back = s, ahead = s, window = s;
        back.recv_seq -= 1000000;
        ahead.recv_seq += 1000000;
        window.window.snd_wnd = window.window.max_window + 1;
        for (const TcpConnectionState *bad : {&back, &ahead, &window}) {
            Result<UniqueFd> fd = restore(*bad);
            REQUIRE(!fd);
            INFO(fd.why());
            CHECK(fd.why().rfind("state refused: ", 0) == 0);
        }
        require_peer_silent(peer);
        // Refusals touched nothing: the right state still continues.
        UniqueFd again = restored(s);
        REQUIRE(exchange(again.get(), peer, to_peer, to_app, 20000));
        CHECK(to_peer.first_bad == UINT64_MAX);
        CHECK(to_app.first_bad == UINT64_MAX);
    }

    SECTION("a corrupted send sequence cannot be seen here: the peer drops the segments, "
            "no reset either way")
    {
        // Nothing on this host tells a wrong send sequence from a right
        // one (the peer's acknowledgement is the only witness), so restore
        // succeeds; what matters is that the peer is not disturbed.
        TcpConnectionState s = final_capture(app);
        TcpConnectionState wrong = s;
        wrong.send_seq += 1000000;
        {
            UniqueFd fd = restored(wrong);
            to_peer.write_to(fd.get(), to_peer.written + 1000);
            std::this_thread::sleep_for(milliseconds(1500));
            to_peer.read_from(peer);
            CHECK(to_peer.read + 1000 == to_peer.written);
            require_peer_silent(peer);
            CHECK(static_cast<int>(info_of(fd.get()).tcpi_state) == TCP_ESTABLISHED);
            REQUIRE(silence(fd));
        }
        to_peer.written = to_peer.read;
        UniqueFd again = restored(s);
        REQUIRE(exchange(again.get(), peer, to_peer, to_app, 20000));
        CHECK(to_peer.first_bad == UINT64_MAX);
        CHECK(to_app.first_bad == UINT64_MAX);
    }
}

TEST_CASE("The standby's shape: the send queue from a send log that starts before the peer's "
          "acknowledgement and goes past the kernel's queue, the receive queue already read",
          "[tcp_repair]")
{
    REQUIRE_REPAIR();
    UniqueFd listener;
    Connection c = connect_pair({AF_INET, "", 16384}, &listener);
    int peer = c.client.get();
    UniqueFd app = std::move(c.server);
    Flow to_peer{41}, to_app{42};
    REQUIRE(exchange(app.get(), peer, to_peer, to_app, 100000));
    to_app.write_to(peer, to_app.written + 8000);
    REQUIRE(eventually([&] { return outq(peer) == 0; }));
    to_peer.write_to(app.get(), to_peer.written + (64u << 20));
    std::this_thread::sleep_for(milliseconds(200));

    TcpConnectionState s = final_capture(app);
    REQUIRE(s.send_queue.size() > 0);
    REQUIRE(s.recv_queue.size() == 8000);

    // What the standby has instead of the kernel's queues:
    // - the send log from an older acknowledgement than the last one (the
    //   peer holds those bytes already: sent again at the same sequence
    //   numbers, they are duplicates it discards);
    // - the log's end beyond what reached the kernel (the active logs a
    //   write before making it);
    // - the received bytes it read from the mirror itself: no receive queue.
    const std::uint32_t already_acked = 20000, not_written = 30000;
    const std::uint64_t log_from = to_peer.written - s.send_queue.size() - already_acked;
    TcpConnectionState standby = s;
    standby.send_seq = s.send_seq - already_acked;
    standby.send_queue = to_peer.bytes(log_from, s.send_queue.size() + already_acked + not_written);
    to_peer.written += not_written;
    standby.recv_seq = s.recv_next();
    standby.recv_queue.clear();
    to_app.read += s.recv_queue.size();

    UniqueFd again = restored(standby);
    REQUIRE(exchange(again.get(), peer, to_peer, to_app, 100000));
    CHECK(to_peer.first_bad == UINT64_MAX);
    CHECK(to_app.first_bad == UINT64_MAX);
    require_peer_silent(peer);
}

TEST_CASE("An IPv4 connection accepted on a dual-stack IPv6 listener (v4-mapped addresses) is "
          "rebuilt", "[tcp_repair]")
{
    REQUIRE_REPAIR();
    UniqueFd listener(socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
    REQUIRE(listener);
    int off = 0;
    REQUIRE(setsockopt(listener.get(), IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) == 0);
    sockaddr_in6 any{};
    any.sin6_family = AF_INET6;
    any.sin6_addr = in6addr_any;
    socklen_t len = sizeof(any);
    REQUIRE(bind(listener.get(), reinterpret_cast<sockaddr *>(&any), len) == 0);
    REQUIRE(listen(listener.get(), 1) == 0);
    REQUIRE(getsockname(listener.get(), reinterpret_cast<sockaddr *>(&any), &len) == 0);

    UniqueFd peer(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to.sin_port = any.sin6_port;
    REQUIRE(connect(peer.get(), reinterpret_cast<sockaddr *>(&to), sizeof(to)) == 0);
    UniqueFd app(accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    REQUIRE(app);
    nonblocking(peer.get());
    nonblocking(app.get());
    Flow to_peer{51}, to_app{52};
    REQUIRE(exchange(app.get(), peer.get(), to_peer, to_app, 30000));

    TcpConnectionState s = final_capture(app);
    CHECK(s.local.family == AF_INET6);
    CHECK(s.remote.to_string().rfind("[::ffff:127.0.0.1]:", 0) == 0);
    require_peer_silent(peer.get());
    UniqueFd again = restored(s);
    REQUIRE(exchange(again.get(), peer.get(), to_peer, to_app, 50000));
    CHECK(to_peer.first_bad == UINT64_MAX);
    CHECK(to_app.first_bad == UINT64_MAX);
    require_peer_silent(peer.get());
}

TEST_CASE("The restored send queue must reach every byte the peer may have acknowledged: "
          "the send log beyond it may be written after the rebuild", "[tcp_repair]")
{
    REQUIRE_REPAIR();
    UniqueFd listener;
    Connection c = connect_pair({AF_INET, "", 16384}, &listener);
    int peer = c.client.get();
    UniqueFd app = std::move(c.server);
    Flow to_peer{61}, to_app{62};
    REQUIRE(exchange(app.get(), peer, to_peer, to_app, 50000));
    // The peer's window is closed when the connection is captured.
    to_peer.write_to(app.get(), to_peer.written + (64u << 20));
    std::this_thread::sleep_for(milliseconds(200));

    TcpConnectionState s = final_capture(app);
    REQUIRE(s.send_queue.size() > 0);
    const std::uint64_t captured_end = to_peer.written;

    SECTION("a queue that stops short of the peer's acknowledgement stalls, without a reset")
    {
        // Nothing queued, from 5000 bytes before the peer's last
        // acknowledgement (the standby's conservative point): the socket's
        // next sequence number is behind what the peer acknowledged, so the
        // peer's ACKs, its window update included, are dropped as
        // acknowledging unsent data. With the window closed nothing moves.
        TcpConnectionState empty = s;
        empty.send_seq = s.send_seq - 5000;
        empty.send_queue.clear();
        {
            UniqueFd fd = restored(empty);
            to_peer.written = captured_end - s.send_queue.size() - 5000;
            to_peer.write_to(fd.get(), to_peer.written + 1000);
            auto until = Clock::now() + milliseconds(1500);
            while (Clock::now() < until) {
                to_peer.read_from(peer);
                std::this_thread::sleep_for(milliseconds(20));
            }
            CHECK(to_peer.read == captured_end - s.send_queue.size());
            require_peer_silent(peer);
            REQUIRE(silence(fd));
        }
        to_peer.written = captured_end;
    }

    // Queued in repair mode up to the captured end (which the peer's
    // acknowledgement cannot pass), from 5000 bytes before the last
    // acknowledgement; the log's next bytes written after the rebuild go
    // out as new data, without waiting for the retransmission timer.
    const std::uint32_t already_acked = 5000;
    TcpConnectionState standby = s;
    standby.send_seq = s.send_seq - already_acked;
    standby.send_queue = to_peer.bytes(captured_end - s.send_queue.size() - already_acked,
                                       s.send_queue.size() + already_acked);
    UniqueFd again = restored(standby);
    REQUIRE(exchange(again.get(), peer, to_peer, to_app, 50000));
    CHECK(to_peer.first_bad == UINT64_MAX);
    CHECK(to_app.first_bad == UINT64_MAX);
    require_peer_silent(peer);
}

TEST_CASE("A connection rebuilt on a listener's port leaves that port to a new listener, as "
          "bgpd's own sockets do",
          "[tcp_repair]")
{
    REQUIRE_REPAIR();
    UniqueFd listener;
    Connection c = connect_pair({AF_INET, "", 0}, &listener);
    sockaddr_in port{};
    socklen_t len = sizeof(port);
    REQUIRE(getsockname(listener.get(), reinterpret_cast<sockaddr *>(&port), &len) == 0);
    UniqueFd app = std::move(c.server);
    TcpConnectionState s = final_capture(app);
    listener.reset();  // the old active's bgpd is gone with its listener
    UniqueFd again = restored(s);

    // The new active's bgpd makes its listener (SO_REUSEADDR, as FRR's) on
    // the port the rebuilt connection holds, and accepts on it.
    UniqueFd fresh(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    int on = 1;
    REQUIRE(setsockopt(fresh.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == 0);
    sockaddr_in any = port;
    any.sin_addr.s_addr = htonl(INADDR_ANY);
    int reuse = 0;
    socklen_t rlen = sizeof(reuse);
    REQUIRE(getsockopt(again.get(), SOL_SOCKET, SO_REUSEADDR, &reuse, &rlen) == 0);
    CHECK(reuse == 1);
    const int bound = bind(fresh.get(), reinterpret_cast<sockaddr *>(&any), sizeof(any));
    INFO(std::strerror(errno));
    REQUIRE(bound == 0);
    REQUIRE(listen(fresh.get(), 1) == 0);
    UniqueFd client(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    REQUIRE(connect(client.get(), reinterpret_cast<sockaddr *>(&port), sizeof(port)) == 0);
    UniqueFd accepted(accept4(fresh.get(), nullptr, nullptr, SOCK_CLOEXEC));
    CHECK(accepted);
    // And the rebuilt connection goes on.
    Flow to_peer{3}, to_app{5};
    CHECK(exchange(again.get(), c.client.get(), to_peer, to_app, 1000));
}
