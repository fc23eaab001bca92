// The byte accounting of a transparent takeover, on real kernel TCP sockets
// over loopback: what the kernel says about a socket matches what the
// application did, and a process that receives a socket over a unix channel
// can continue the stream of a process killed with SIGKILL, with no byte
// lost, duplicated or malformed, and without the peer seeing the connection
// close.
#include <catch2/catch.hpp>

#include "bgp_stream.hpp"
#include "fd_passing.hpp"
#include "receive_mirror.hpp"
#include "send_log.hpp"
#include "tcp_stream_position.hpp"
#include "unique_fd.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cinttypes>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

using namespace frr_ha;

namespace {

UniqueFd listen_loopback(std::uint16_t *port)
{
    UniqueFd l(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    REQUIRE(l.get() >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(l.get(), reinterpret_cast<sockaddr *>(&a), sizeof(a)) == 0);
    REQUIRE(listen(l.get(), 1) == 0);
    socklen_t len = sizeof(a);
    REQUIRE(getsockname(l.get(), reinterpret_cast<sockaddr *>(&a), &len) == 0);
    *port = ntohs(a.sin_port);
    return l;
}

int connect_loopback(std::uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    if (fd >= 0 && connect(fd, reinterpret_cast<sockaddr *>(&a), sizeof(a)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

void write_all(int fd, const std::string &s)
{
    std::size_t off = 0;
    while (off < s.size()) {
        ssize_t n = write(fd, s.data() + off, s.size() - off);
        REQUIRE(n > 0);
        off += static_cast<std::size_t>(n);
    }
}

std::string read_exactly(int fd, std::size_t len)
{
    std::string out(len, '\0');
    std::size_t off = 0;
    while (off < len) {
        ssize_t n = read(fd, out.data() + off, len - off);
        REQUIRE(n > 0);
        off += static_cast<std::size_t>(n);
    }
    return out;
}

// Polls until cond() holds (the kernel moves bytes asynchronously).
template <typename F>
bool eventually(F cond)
{
    for (int i = 0; i < 200; i++) {
        if (cond())
            return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
}

TcpStreamPosition position(int fd)
{
    std::string err;
    auto pos = tcp_stream_position(fd, &err);
    INFO(err);
    REQUIRE(pos.has_value());
    return *pos;
}

// A syntactically valid UPDATE of `total` bytes.
std::string update_of(std::size_t total, char fill)
{
    std::string m(16, '\xff');
    m.push_back(static_cast<char>(total >> 8));
    m.push_back(static_cast<char>(total & 0xff));
    m.push_back(static_cast<char>(BgpType::Update));
    const std::size_t withdrawn = total - kBgpHeaderSize - 4;
    m.push_back(static_cast<char>(withdrawn >> 8));
    m.push_back(static_cast<char>(withdrawn & 0xff));
    m.append(withdrawn, fill);
    m.append(2, '\0');
    return m;
}

// Length-prefixed records on the test's unix channel.
void put_record(int fd, const std::string &s)
{
    std::uint32_t len = htonl(static_cast<std::uint32_t>(s.size()));
    write_all(fd, std::string(reinterpret_cast<char *>(&len), 4) + s);
}

std::string get_record(int fd)
{
    auto len = read_exactly(fd, 4);
    std::uint32_t n;
    std::memcpy(&n, len.data(), 4);
    return read_exactly(fd, ntohl(n));
}

}  // namespace

TEST_CASE("the kernel's positions match what the application read and wrote")
{
    std::uint16_t port;
    auto listener = listen_loopback(&port);
    UniqueFd app(connect_loopback(port));
    REQUIRE(app.get() >= 0);
    UniqueFd peer(accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    REQUIRE(peer.get() >= 0);
    // Nothing read or written yet by either application.
    const auto app_bias = calibrate(position(app.get()), 0, 0);
    const auto peer_bias = calibrate(position(peer.get()), 0, 0);
    // Linux counts the SYN as acknowledged on the connecting side only.
    CHECK(app_bias.acked == 1);
    CHECK(peer_bias.acked == 0);
    CHECK(app_bias.received == 0);

    write_all(peer.get(), std::string(1000, 'r'));
    REQUIRE(eventually([&] { return position(app.get()).received == 1000; }));
    REQUIRE(eventually([&] { return position(peer.get()).unacked == 0; }));
    CHECK(position(peer.get()).written(peer_bias) == 1000);
    read_exactly(app.get(), 300);
    auto pos = position(app.get());
    CHECK(pos.unread == 700);
    CHECK(pos.consumed(app_bias) == 300);

    write_all(app.get(), std::string(500, 'w'));
    read_exactly(peer.get(), 500);
    REQUIRE(eventually([&] { return position(app.get()).unacked == 0; }));
    CHECK(position(app.get()).written(app_bias) == 500);

    // A peer that stops reading: written = acknowledged + still queued.
    int small = 4096;
    setsockopt(peer.get(), SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    fcntl(app.get(), F_SETFL, O_NONBLOCK);
    std::uint64_t total = 500;
    std::string chunk(65536, 'x');
    for (;;) {
        ssize_t n = write(app.get(), chunk.data(), chunk.size());
        if (n <= 0)
            break;
        total += static_cast<std::uint64_t>(n);
    }
    REQUIRE(eventually([&] { return position(app.get()).written(app_bias) == total; }));
    CHECK(position(app.get()).unacked > 0);
}

TEST_CASE("a socket handed over survives a SIGKILL of its first holder, and the stream continues exactly")
{
    std::uint16_t port;
    auto listener = listen_loopback(&port);
    int chan[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, chan) == 0);
    UniqueFd standby_end(chan[0]);

    // What the BGP peer sends, and what the active has to send it.
    std::string from_peer;
    for (int i = 0; i < 10; i++)
        from_peer += i % 3 ? update_of(90 + i, static_cast<char>('a' + i)) : bgp_keepalive();
    const std::vector<std::string> to_peer = {update_of(60, 'A'), update_of(80, 'B'),
                                              bgp_keepalive()};
    const std::size_t peeked = 600, consumed = 350;
    const std::size_t partial = 40;  // bytes of the second message written

    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        // The active: owns the session, hands the socket to the standby,
        // mirrors what it peeks, logs what it sends, then is killed midway.
        close(chan[0]);
        int s = connect_loopback(port);
        std::string err;
        if (s < 0 || !send_descriptor(chan[1], s, "192.0.2.2", &err))
            _exit(1);
        // Hands over the kernel counters' bias with the socket.
        auto at_start = tcp_stream_position(s);
        if (!at_start)
            _exit(5);
        auto bias = calibrate(*at_start, 0, 0);
        put_record(chan[1], std::to_string(bias.acked) + " " + std::to_string(bias.received));
        std::string buf(peeked, '\0');
        std::size_t got = 0;
        while (got < peeked) {  // wait until enough is queued, then peek
            ssize_t n = recv(s, buf.data(), peeked, MSG_PEEK);
            if (n <= 0)
                _exit(2);
            got = static_cast<std::size_t>(n);
        }
        for (const auto &m : to_peer)
            put_record(chan[1], m);  // the send log, before any write
        put_record(chan[1], buf);    // the mirror of what was peeked
        std::string sink(consumed, '\0');
        if (recv(s, sink.data(), consumed, MSG_WAITALL) != static_cast<ssize_t>(consumed))
            _exit(3);
        const std::string partly = to_peer[0] + to_peer[1].substr(0, partial);
        if (write(s, partly.data(), partly.size()) != static_cast<ssize_t>(partly.size()))
            _exit(4);
        put_record(chan[1], "about to die");
        pause();
        _exit(0);
    }
    close(chan[1]);
    UniqueFd peer(accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    REQUIRE(peer.get() >= 0);
    write_all(peer.get(), from_peer);

    // The standby: receives the socket, the log and the mirror.
    std::string label, err;
    UniqueFd session(receive_descriptor(standby_end.get(), &label, &err));
    INFO(err);
    REQUIRE(session.get() >= 0);
    CHECK(label == "192.0.2.2");
    TcpCountBias bias;
    {
        auto rec = get_record(standby_end.get());
        REQUIRE(std::sscanf(rec.c_str(), "%" SCNu64 " %" SCNu64, &bias.acked, &bias.received) == 2);
    }
    SendLog log;
    for (const auto &expected : to_peer) {
        auto m = get_record(standby_end.get());
        REQUIRE(m == expected);
        REQUIRE(log.append(log.end(), m));
    }
    ReceiveMirror mirror;
    auto mirrored = get_record(standby_end.get());
    REQUIRE(mirror.append(0, mirrored.size()));
    REQUIRE(get_record(standby_end.get()) == "about to die");

    kill(pid, SIGKILL);
    int status;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFSIGNALED(status));

    // Takeover: where did the active stand?
    auto pos = position(session.get());
    CHECK(pos.consumed(bias) == consumed);
    CHECK(pos.written(bias) == 60 + partial);

    // Receive side: drop what the mirror already holds, read the rest.
    auto dup = mirror.duplicates_in_queue(pos.consumed(bias));
    REQUIRE(dup.has_value());
    CHECK(*dup == peeked - consumed);
    read_exactly(session.get(), *dup);
    auto rest = read_exactly(session.get(), from_peer.size() - peeked);
    CHECK(mirrored + rest == from_peer);  // every byte once, in order

    // Send side: finish the half-written message from the log, then go on.
    auto resume = log.resume(pos.written(bias));
    REQUIRE(resume.has_value());
    CHECK(resume->complete == to_peer[1].substr(partial));
    CHECK(resume->unwritten == 1);
    write_all(session.get(), resume->complete + bgp_keepalive());

    // The peer got a valid, continuous stream and no end of it.
    const std::string expected = to_peer[0] + to_peer[1] + bgp_keepalive();
    auto received = read_exactly(peer.get(), expected.size());
    CHECK(received == expected);
    BgpStreamFramer framer;
    framer.feed(received.data(), received.size());
    int messages = 0;
    while (framer.next())
        messages++;
    CHECK(messages == 3);
    CHECK_FALSE(framer.broken());
    pollfd p{peer.get(), POLLIN | POLLRDHUP, 0};
    CHECK(poll(&p, 1, 100) == 0);  // no FIN, no RST, nothing more
}
