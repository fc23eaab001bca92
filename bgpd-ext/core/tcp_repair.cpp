// Capture and rebuild of a TCP connection with Linux TCP_REPAIR. The order
// of the restore steps is the kernel's, not a choice: sequence numbers only
// while the socket is closed, options only once it is "connected", queues
// only after the options (the segment size depends on them) and before
// repair mode ends.
#include "tcp_repair.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/sockios.h>

#include <cerrno>
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

namespace frr_ha {

namespace {

std::string with_errno(const std::string &step, int err)
{
    return step + ": " + std::strerror(err);
}

bool set_int(int fd, int level, int name, int value)
{
    return setsockopt(fd, level, name, &value, sizeof(value)) == 0;
}

bool get_u32(int fd, int level, int name, std::uint32_t *value)
{
    socklen_t len = sizeof(*value);
    return getsockopt(fd, level, name, value, &len) == 0;
}

// Selects which queue TCP_QUEUE_SEQ, recv() and send() act on.
bool select_queue(int fd, int queue)
{
    return set_int(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, queue);
}

TcpEndpoint endpoint_of(const sockaddr_storage &ss)
{
    TcpEndpoint e;
    e.family = ss.ss_family;
    if (ss.ss_family == AF_INET) {
        const auto *a = reinterpret_cast<const sockaddr_in *>(&ss);
        std::memcpy(&e.address, &a->sin_addr, sizeof(a->sin_addr));
        e.port = ntohs(a->sin_port);
    } else if (ss.ss_family == AF_INET6) {
        const auto *a = reinterpret_cast<const sockaddr_in6 *>(&ss);
        e.address = a->sin6_addr;
        e.port = ntohs(a->sin6_port);
        e.scope_id = a->sin6_scope_id;
    }
    return e;
}

socklen_t sockaddr_of(const TcpEndpoint &e, sockaddr_storage *ss)
{
    std::memset(ss, 0, sizeof(*ss));
    if (e.family == AF_INET) {
        auto *a = reinterpret_cast<sockaddr_in *>(ss);
        a->sin_family = AF_INET;
        std::memcpy(&a->sin_addr, &e.address, sizeof(a->sin_addr));
        a->sin_port = htons(e.port);
        return sizeof(*a);
    }
    auto *a = reinterpret_cast<sockaddr_in6 *>(ss);
    a->sin6_family = AF_INET6;
    a->sin6_addr = e.address;
    a->sin6_port = htons(e.port);
    a->sin6_scope_id = e.scope_id;
    return sizeof(*a);
}

// Enters repair mode on a socket for as long as it lives; leaves it without
// a window probe (the peer must not see that anything happened).
class RepairMode {
public:
    explicit RepairMode(int fd) : fd_(fd)
    {
        on_ = set_int(fd_, IPPROTO_TCP, TCP_REPAIR, TCP_REPAIR_ON);
        err_ = on_ ? 0 : errno;
    }
    ~RepairMode()
    {
        if (on_ && !kept_)
            leave(fd_, false);
    }
    RepairMode(const RepairMode &) = delete;
    RepairMode &operator=(const RepairMode &) = delete;

    bool on() const { return on_; }
    int error() const { return err_; }
    // The socket is to be closed in repair mode: do not leave it.
    void keep() { kept_ = true; }

    // Ends repair mode. TCP_REPAIR_OFF_NO_WP (Linux 4.18) sends nothing; an
    // older kernel refuses it with EINVAL and only has TCP_REPAIR_OFF, which
    // sends one window probe (a bare ACK the peer answers, harmless).
    static bool leave(int fd, bool window_probe)
    {
        if (!window_probe && set_int(fd, IPPROTO_TCP, TCP_REPAIR, TCP_REPAIR_OFF_NO_WP))
            return true;
        if (!window_probe && errno != EINVAL)
            return false;
        return set_int(fd, IPPROTO_TCP, TCP_REPAIR, TCP_REPAIR_OFF);
    }

private:
    int fd_;
    bool on_ = false;
    bool kept_ = false;
    int err_ = 0;
};

// Copies a queue without consuming it (repair mode allows only MSG_PEEK).
// `room` must hold the whole queue: the send queue is copied whole or not
// at all.
Status peek_queue(int fd, int queue, std::size_t room, std::string *out)
{
    if (!select_queue(fd, queue))
        return Status::fail(with_errno("TCP_REPAIR_QUEUE", errno));
    out->assign(room, '\0');
    if (room == 0)
        return Status::ok();
    ssize_t n = recv(fd, &(*out)[0], room, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && errno == EAGAIN)
        n = 0;
    if (n < 0)
        return Status::fail(with_errno(queue == TCP_SEND_QUEUE ? "peek send queue"
                                                               : "peek receive queue",
                                       errno));
    out->resize(static_cast<std::size_t>(n));
    return Status::ok();
}

Status queue_seq(int fd, int queue, std::uint32_t *seq)
{
    if (!select_queue(fd, queue))
        return Status::fail(with_errno("TCP_REPAIR_QUEUE", errno));
    if (!get_u32(fd, IPPROTO_TCP, TCP_QUEUE_SEQ, seq))
        return Status::fail(with_errno("get TCP_QUEUE_SEQ", errno));
    return Status::ok();
}

// Reads everything; the socket is in repair mode.
Result<TcpConnectionState> read_state(int fd)
{
    TcpConnectionState s;

    tcp_info info{};
    socklen_t len = sizeof(info);
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0)
        return Result<TcpConnectionState>::fail(with_errno("TCP_INFO", errno));
    // A FIN received or sent cannot be put back into a socket: only an
    // established connection is continued.
    if (info.tcpi_state != TCP_ESTABLISHED)
        return Result<TcpConnectionState>::fail("capture: connection not established (state " +
                                                std::to_string(info.tcpi_state) + ")");

    sockaddr_storage ss{};
    len = sizeof(ss);
    if (getsockname(fd, reinterpret_cast<sockaddr *>(&ss), &len) != 0)
        return Result<TcpConnectionState>::fail(with_errno("getsockname", errno));
    s.local = endpoint_of(ss);
    len = sizeof(ss);
    if (getpeername(fd, reinterpret_cast<sockaddr *>(&ss), &len) != 0)
        return Result<TcpConnectionState>::fail(with_errno("getpeername", errno));
    s.remote = endpoint_of(ss);

    s.options.timestamps = (info.tcpi_options & TCPI_OPT_TIMESTAMPS) != 0;
    s.options.sack = (info.tcpi_options & TCPI_OPT_SACK) != 0;
    s.options.window_scaling = (info.tcpi_options & TCPI_OPT_WSCALE) != 0;
    s.options.snd_wscale = info.tcpi_snd_wscale;
    s.options.rcv_wscale = info.tcpi_rcv_wscale;
    // In repair mode TCP_MAXSEG reads the clamp the peer's MSS option set,
    // which is what TCPOPT_MAXSEG restores.
    if (!get_u32(fd, IPPROTO_TCP, TCP_MAXSEG, &s.options.mss))
        return Result<TcpConnectionState>::fail(with_errno("get TCP_MAXSEG", errno));
    if (!get_u32(fd, IPPROTO_TCP, TCP_TIMESTAMP, &s.timestamp))
        return Result<TcpConnectionState>::fail(with_errno("get TCP_TIMESTAMP", errno));

    // The send side moves only when we write, and we do not: the queue is
    // everything from the peer's last acknowledgement to the last byte
    // written, whatever ACKs arrive meanwhile.
    std::uint32_t send_next = 0;
    Status st = queue_seq(fd, TCP_SEND_QUEUE, &send_next);
    if (!st)
        return Result<TcpConnectionState>::fail(st.why());
    int outq = 0;
    if (ioctl(fd, SIOCOUTQ, &outq) != 0)
        return Result<TcpConnectionState>::fail(with_errno("SIOCOUTQ", errno));
    st = peek_queue(fd, TCP_SEND_QUEUE, static_cast<std::size_t>(outq), &s.send_queue);
    if (!st)
        return Result<TcpConnectionState>::fail(st.why());
    s.send_seq = send_next - static_cast<std::uint32_t>(s.send_queue.size());

    // The receive side moves as the peer's segments arrive: retake it until
    // the queue, its end and the window come from one instant.
    for (int attempt = 0;; ++attempt) {
        std::uint32_t before = 0, after = 0;
        st = queue_seq(fd, TCP_RECV_QUEUE, &before);
        if (!st)
            return Result<TcpConnectionState>::fail(st.why());
        int inq = 0;
        if (ioctl(fd, SIOCINQ, &inq) != 0)
            return Result<TcpConnectionState>::fail(with_errno("SIOCINQ", errno));
        st = peek_queue(fd, TCP_RECV_QUEUE, static_cast<std::size_t>(inq), &s.recv_queue);
        if (!st)
            return Result<TcpConnectionState>::fail(st.why());
        tcp_repair_window w{};
        len = sizeof(w);
        s.have_window = getsockopt(fd, IPPROTO_TCP, TCP_REPAIR_WINDOW, &w, &len) == 0;
        if (s.have_window) {
            s.window.snd_wl1 = w.snd_wl1;
            s.window.snd_wnd = w.snd_wnd;
            s.window.max_window = w.max_window;
            s.window.rcv_wnd = w.rcv_wnd;
            s.window.rcv_wup = w.rcv_wup;
        }
        st = queue_seq(fd, TCP_RECV_QUEUE, &after);
        if (!st)
            return Result<TcpConnectionState>::fail(st.why());
        if (before == after && s.recv_queue.size() == static_cast<std::size_t>(inq)) {
            s.recv_seq = after - static_cast<std::uint32_t>(s.recv_queue.size());
            break;
        }
        if (attempt == 100)
            return Result<TcpConnectionState>::fail(
                "capture: the receive side kept moving (100 attempts)");
    }
    select_queue(fd, TCP_NO_QUEUE);
    return s;
}

// Puts bytes into a queue of a socket in repair mode: send() queues them as
// already sent (send queue) or already received (receive queue) and puts
// nothing on the wire.
Status fill_queue(int fd, int queue, const std::string &bytes)
{
    const char *what = queue == TCP_SEND_QUEUE ? "send queue" : "receive queue";
    if (bytes.empty())
        return Status::ok();
    if (!select_queue(fd, queue))
        return Status::fail(with_errno(std::string("TCP_REPAIR_QUEUE ") + what, errno));
    // send() in repair mode puts nothing on the wire, so a full buffer never
    // frees: when the queue does not fit, the buffer is raised to hold it
    // (FORCE: past the system's limit, CAP_NET_ADMIN is there anyway). Only
    // then: a buffer set by hand no longer grows with the connection.
    int name = queue == TCP_SEND_QUEUE ? SO_SNDBUFFORCE : SO_RCVBUFFORCE;
    bool raised = false;
    std::size_t off = 0;
    while (off < bytes.size()) {
        ssize_t n = send(fd, bytes.data() + off, bytes.size() - off,
                         MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == ENOMEM) && !raised) {
            // The kernel doubles the value for its bookkeeping.
            std::size_t want = std::min<std::size_t>(bytes.size() + (1u << 20), INT32_MAX / 2);
            if (!set_int(fd, SOL_SOCKET, name, static_cast<int>(want)))
                return Status::fail(with_errno(std::string("buffer for the ") + what, errno));
            raised = true;
            continue;
        }
        if (n <= 0)
            return Status::fail(with_errno(std::string("fill ") + what + " at byte " +
                                               std::to_string(off) + " of " +
                                               std::to_string(bytes.size()),
                                           n < 0 ? errno : ENOSPC));
        off += static_cast<std::size_t>(n);
    }
    return Status::ok();
}

Status set_md5_key(int fd, const TcpEndpoint &remote, const std::string &key)
{
    tcp_md5sig sig{};
    if (key.empty() || key.size() > TCP_MD5SIG_MAXKEYLEN)
        return Status::fail("TCP_MD5SIG: key of " + std::to_string(key.size()) +
                            " bytes (1 to " + std::to_string(TCP_MD5SIG_MAXKEYLEN) + ")");
    sockaddr_of(remote, &sig.tcpm_addr);
    sig.tcpm_keylen = static_cast<std::uint16_t>(key.size());
    std::memcpy(sig.tcpm_key, key.data(), key.size());
    if (setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &sig, sizeof(sig)) != 0)
        return Status::fail(with_errno("TCP_MD5SIG", errno));
    return Status::ok();
}

Status set_options(int fd, const TcpOptions &o)
{
    std::vector<tcp_repair_opt> opts;
    opts.push_back({TCPOPT_MAXSEG, o.mss});
    if (o.window_scaling)
        opts.push_back({TCPOPT_WINDOW, static_cast<std::uint32_t>(o.snd_wscale) |
                                           (static_cast<std::uint32_t>(o.rcv_wscale) << 16)});
    if (o.sack)
        opts.push_back({TCPOPT_SACK_PERMITTED, 0});
    if (o.timestamps)
        opts.push_back({TCPOPT_TIMESTAMP, 0});
    if (setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_OPTIONS, opts.data(),
                   static_cast<socklen_t>(opts.size() * sizeof(opts[0]))) != 0)
        return Status::fail(with_errno("TCP_REPAIR_OPTIONS", errno));
    return Status::ok();
}

// TCP_TIMESTAMP's bit 0 says the clock counts microseconds (Linux 6.7);
// the advance is in that unit and the bit is kept.
std::uint32_t advanced_timestamp(std::uint32_t ts, std::uint32_t advance_ms)
{
    std::uint32_t usec = ts & 1u;
    std::uint32_t step = usec ? advance_ms * 1000u : advance_ms;
    return ((ts + step) & ~1u) | usec;
}

// The seq distance from a to b (b after a), as TCP counts it.
std::uint32_t seq_distance(std::uint32_t a, std::uint32_t b) { return b - a; }

std::string step_error(const std::string &step, int err)
{
    std::string why = with_errno(step, err);
    if (err == EADDRNOTAVAIL)
        why += " (the connection's 4-tuple is in use on this host)";
    return why;
}

}  // namespace

bool seq_after(std::uint32_t a, std::uint32_t b)
{
    return static_cast<std::int32_t>(a - b) > 0;
}

std::string TcpEndpoint::to_string() const
{
    char buf[INET6_ADDRSTRLEN] = "?";
    if (family == AF_INET)
        inet_ntop(AF_INET, &address, buf, sizeof(buf));
    else if (family == AF_INET6)
        inet_ntop(AF_INET6, &address, buf, sizeof(buf));
    if (family == AF_INET6)
        return std::string("[") + buf + "]:" + std::to_string(port);
    return std::string(buf) + ":" + std::to_string(port);
}

Result<TcpConnectionState> capture(int fd)
{
    RepairMode repair(fd);
    if (!repair.on())
        return Result<TcpConnectionState>::fail(with_errno("TCP_REPAIR on", repair.error()));
    return read_state(fd);
}

Result<TcpConnectionState> capture_and_silence(UniqueFd &fd)
{
    RepairMode repair(fd.get());
    if (!repair.on())
        return Result<TcpConnectionState>::fail(with_errno("TCP_REPAIR on", repair.error()));
    Result<TcpConnectionState> state = read_state(fd.get());
    if (!state)
        return state;  // the socket goes on, out of repair mode
    // Closed in repair mode, the socket disappears without FIN or RST (if
    // this was its last descriptor).
    repair.keep();
    fd.reset();
    return state;
}

Status enter_repair_mode(int fd)
{
    if (!set_int(fd, IPPROTO_TCP, TCP_REPAIR, TCP_REPAIR_ON))
        return Status::fail(with_errno("TCP_REPAIR on", errno));
    return Status::ok();
}

Status silence(UniqueFd &fd)
{
    if (Status on = enter_repair_mode(fd.get()); !on)
        return on;
    fd.reset();
    return Status::ok();
}

std::string check_options(const TcpOptions &o)
{
    if (o.mss == 0 || o.mss > 65535)
        return "MSS " + std::to_string(o.mss);
    // RFC 7323: a shift above 14 does not exist.
    if (o.window_scaling && (o.snd_wscale > 14 || o.rcv_wscale > 14))
        return "window scale above 14";
    return "";
}

std::string check_state(const TcpConnectionState &s)
{
    if (s.local.family != AF_INET && s.local.family != AF_INET6)
        return "local address: no IPv4 or IPv6 family";
    if (s.remote.family != s.local.family)
        return "local and remote addresses of different families";
    if (s.local.port == 0 || s.remote.port == 0)
        return "port 0";
    std::string bad = check_options(s.options);
    if (!bad.empty())
        return bad;
    if (!s.have_window)
        return "";
    const TcpWindow &w = s.window;
    if (w.max_window < w.snd_wnd)
        return "send window " + std::to_string(w.snd_wnd) + " above its maximum " +
               std::to_string(w.max_window);
    // The kernel refuses these two (TCP_REPAIR_WINDOW); saying so first
    // names the field instead of an errno.
    std::uint32_t rcv_nxt = s.recv_next();
    if (seq_after(w.rcv_wup, rcv_nxt))
        return "receive sequence " + std::to_string(rcv_nxt) +
               " is before the window's left edge " + std::to_string(w.rcv_wup);
    if (seq_after(w.snd_wl1, rcv_nxt + w.rcv_wnd))
        return "receive sequence " + std::to_string(rcv_nxt) +
               " is before the segment that last updated the window (" +
               std::to_string(w.snd_wl1) + ")";
    // The peer sends only within the window we advertised (rcv_wup +
    // rcv_wnd), so the receive sequence cannot be past it; one further
    // window of slack for the rounding of scaled windows.
    std::uint32_t limit = w.rcv_wnd * 2u + 65535u;
    if (seq_distance(w.rcv_wup, rcv_nxt) > limit)
        return "receive sequence " + std::to_string(rcv_nxt) +
               " is beyond the window advertised at " + std::to_string(w.rcv_wup) + " (" +
               std::to_string(w.rcv_wnd) + " bytes)";
    return "";
}

namespace {

struct OptionName {
    int level, name;
    const char *what;
};
// IPv4's, IPv6's (a v4-mapped session keeps its IPv4 ones too), everyone's.
constexpr OptionName kIpv4Options[] = {{IPPROTO_IP, IP_TTL, "IP_TTL"},
                                       {IPPROTO_IP, IP_MINTTL, "IP_MINTTL"},
                                       {IPPROTO_IP, IP_TOS, "IP_TOS"}};
constexpr OptionName kIpv6Options[] = {{IPPROTO_IPV6, IPV6_UNICAST_HOPS, "IPV6_UNICAST_HOPS"},
                                       {IPPROTO_IPV6, IPV6_MINHOPCOUNT, "IPV6_MINHOPCOUNT"},
                                       {IPPROTO_IPV6, IPV6_TCLASS, "IPV6_TCLASS"}};
constexpr OptionName kAnyOptions[] = {{IPPROTO_TCP, TCP_NODELAY, "TCP_NODELAY"},
                                      {SOL_SOCKET, SO_KEEPALIVE, "SO_KEEPALIVE"},
                                      {SOL_SOCKET, SO_PRIORITY, "SO_PRIORITY"}};

}  // namespace

SocketOptions socket_options_of(int fd)
{
    SocketOptions out;
    out.file_flags = ::fcntl(fd, F_GETFL);
    auto take = [&](const OptionName &o) {
        int value = 0;
        socklen_t len = sizeof(value);
        if (::getsockopt(fd, o.level, o.name, &value, &len) == 0)  // else not this family's
            out.values.push_back({o.level, o.name, value, o.what});
    };
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    const bool v6 = ::getsockname(fd, reinterpret_cast<sockaddr *>(&ss), &len) == 0 &&
                    ss.ss_family == AF_INET6;
    if (v6)
        for (const OptionName &o : kIpv6Options)
            take(o);
    for (const OptionName &o : kIpv4Options)
        take(o);
    for (const OptionName &o : kAnyOptions)
        take(o);
    return out;
}

Status set_socket_options(int fd, const SocketOptions &options)
{
    if (options.file_flags >= 0 && ::fcntl(fd, F_SETFL, options.file_flags) != 0)
        return Status::fail(with_errno("file status flags", errno));
    for (const auto &v : options.values)
        if (::setsockopt(fd, v.level, v.name, &v.value, sizeof(v.value)) != 0)
            return Status::fail(with_errno(std::string("set ") + v.what, errno));
    return Status::ok();
}

Result<UniqueFd> restore(const TcpConnectionState &s, const RestoreOptions &options)
{
    using R = Result<UniqueFd>;
    std::string bad = check_state(s);
    if (!bad.empty())
        return R::fail("state refused: " + bad);
    if (s.send_queue.size() > (1u << 30) || s.recv_queue.size() > (1u << 30))
        return R::fail("state refused: a queue above 1 GiB");

    // Until repair mode is turned off at the end, closing this socket (every
    // early return) sends nothing.
    UniqueFd fd(socket(s.local.family, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP));
    if (!fd)
        return R::fail(with_errno("socket", errno));
    if (!set_int(fd.get(), IPPROTO_TCP, TCP_REPAIR, TCP_REPAIR_ON))
        return R::fail(with_errno("TCP_REPAIR on", errno));

    if (options.freebind) {
        bool ok = s.local.family == AF_INET
                      ? set_int(fd.get(), IPPROTO_IP, IP_FREEBIND, 1)
                      : set_int(fd.get(), IPPROTO_IPV6, IPV6_FREEBIND, 1);
        if (!ok)
            return R::fail(with_errno("FREEBIND", errno));
        // FREEBIND lets the bind through; the route lookup of connect() from
        // an address no interface holds wants the socket transparent too
        // (else ENETUNREACH).
        ok = s.local.family == AF_INET ? set_int(fd.get(), IPPROTO_IP, IP_TRANSPARENT, 1)
                                       : set_int(fd.get(), IPPROTO_IPV6, IPV6_TRANSPARENT, 1);
        if (!ok)
            return R::fail(with_errno("TRANSPARENT", errno));
    }
    sockaddr_storage ss{};
    socklen_t len = sockaddr_of(s.local, &ss);
    // Repair mode binds even where a listener or the old socket holds the
    // port; the 4-tuple is checked at connect().
    if (bind(fd.get(), reinterpret_cast<sockaddr *>(&ss), len) != 0)
        return R::fail(step_error("bind " + s.local.to_string(), errno));

    // Sequence numbers: the start of each queue; filling the queues below
    // moves them to where the capture left them.
    if (!select_queue(fd.get(), TCP_RECV_QUEUE) ||
        !set_int(fd.get(), IPPROTO_TCP, TCP_QUEUE_SEQ, static_cast<int>(s.recv_seq)))
        return R::fail(with_errno("set receive TCP_QUEUE_SEQ", errno));
    if (!select_queue(fd.get(), TCP_SEND_QUEUE) ||
        !set_int(fd.get(), IPPROTO_TCP, TCP_QUEUE_SEQ, static_cast<int>(s.send_seq)))
        return R::fail(with_errno("set send TCP_QUEUE_SEQ", errno));

    // Before connect(): the key sizes the header, and the first segment
    // must carry it.
    if (options.md5_key) {
        Status st = set_md5_key(fd.get(), s.remote, *options.md5_key);
        if (!st)
            return R::fail(st.why());
    }

    // In repair mode connect() sends no SYN: it sets the peer's address and
    // makes the socket established.
    len = sockaddr_of(s.remote, &ss);
    if (connect(fd.get(), reinterpret_cast<sockaddr *>(&ss), len) != 0)
        return R::fail(step_error("connect " + s.local.to_string() + " -> " +
                                      s.remote.to_string(),
                                  errno));

    Status st = set_options(fd.get(), s.options);
    if (!st)
        return R::fail(st.why());
    if (s.options.timestamps &&
        !set_int(fd.get(), IPPROTO_TCP, TCP_TIMESTAMP,
                 static_cast<int>(advanced_timestamp(s.timestamp,
                                                     options.timestamp_advance_ms))))
        return R::fail(with_errno("set TCP_TIMESTAMP", errno));

    st = fill_queue(fd.get(), TCP_SEND_QUEUE, s.send_queue);
    if (!st)
        return R::fail(st.why());
    st = fill_queue(fd.get(), TCP_RECV_QUEUE, s.recv_queue);
    if (!st)
        return R::fail(st.why());
    select_queue(fd.get(), TCP_NO_QUEUE);

    if (s.have_window) {
        tcp_repair_window w{};
        w.snd_wl1 = s.window.snd_wl1;
        w.snd_wnd = s.window.snd_wnd;
        w.max_window = s.window.max_window;
        w.rcv_wnd = s.window.rcv_wnd;
        w.rcv_wup = s.window.rcv_wup;
        if (setsockopt(fd.get(), IPPROTO_TCP, TCP_REPAIR_WINDOW, &w, sizeof(w)) != 0)
            return R::fail(with_errno("set TCP_REPAIR_WINDOW", errno));
    }

    if (options.stay_in_repair)
        return fd;
    // From here the kernel owns the connection: the send queue goes out on
    // the retransmission timer, new writes right away.
    if (!RepairMode::leave(fd.get(), false))
        return R::fail(with_errno("TCP_REPAIR off", errno));
    // As on bgpd's own sockets (accepted from its listener, or connected):
    // without it a rebuilt connection on the BGP port keeps bgpd's listener,
    // made anew at the takeover, from binding that port (EADDRINUSE), and
    // the new active accepts no connection. Only now: leaving repair mode
    // resets the socket's reuse (in repair mode the kernel forces it).
    if (!set_int(fd.get(), SOL_SOCKET, SO_REUSEADDR, 1))
        return R::fail(with_errno("SO_REUSEADDR", errno));
    return fd;
}

}  // namespace frr_ha
