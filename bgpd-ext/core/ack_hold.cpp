#include "ack_hold.hpp"

#include "nfqueue_rule.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <linux/netfilter.h>
#include <netinet/in.h>
#include <sys/socket.h>

extern "C" {
#include <libnetfilter_queue/libnetfilter_queue.h>
}
#include <nftables/libnftables.h>

namespace frr_ha {

namespace {

// Headers only: IPv6 (40) and TCP with every option (60).
constexpr int kCopyBytes = 128;
// Segments the kernel may keep queued for us before it drops more.
constexpr std::uint32_t kQueueLength = 16384;
constexpr int kSocketBuffer = 8 << 20;
constexpr std::uint8_t kTcpAck = 0x10;

// RFC 793's sequence order, across the 2^32 wrap.
bool seq_after(std::uint32_t a, std::uint32_t b)
{
    return static_cast<std::int32_t>(a - b) > 0;
}

std::uint32_t be32(const unsigned char *p)
{
    return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) |
           (std::uint32_t(p[2]) << 8) | std::uint32_t(p[3]);
}

std::uint16_t be16(const unsigned char *p)
{
    return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}

std::string address_text(int family, const std::uint8_t *addr)
{
    char buf[INET6_ADDRSTRLEN] = "";
    ::inet_ntop(family, addr, buf, sizeof(buf));
    return buf;
}

// One end of a socket's connection, IPv4-mapped IPv6 kept as IPv4.
bool endpoint(const sockaddr_storage &ss, int &family, std::uint8_t *addr, std::uint16_t &port)
{
    if (ss.ss_family == AF_INET) {
        const auto &in = reinterpret_cast<const sockaddr_in &>(ss);
        family = AF_INET;
        std::memcpy(addr, &in.sin_addr, 4);
        port = ntohs(in.sin_port);
        return true;
    }
    if (ss.ss_family == AF_INET6) {
        const auto &in6 = reinterpret_cast<const sockaddr_in6 &>(ss);
        port = ntohs(in6.sin6_port);
        if (IN6_IS_ADDR_V4MAPPED(&in6.sin6_addr)) {
            family = AF_INET;
            std::memcpy(addr, in6.sin6_addr.s6_addr + 12, 4);
        } else {
            family = AF_INET6;
            std::memcpy(addr, in6.sin6_addr.s6_addr, 16);
        }
        return true;
    }
    return false;
}

// One table per IP family (x_tables targets live in ip and ip6 tables).
std::string table_ref(int family)
{
    return std::string(family == AF_INET ? "ip " : "ip6 ") + AckHold::kTable;
}

constexpr const char *kReaderChain = "to_reader";

// Only the connections in the set go to the reader. Priority -310: before
// the lease's fence (-300), so a segment released after the lease's
// deadline is still dropped by the fence.
std::string table_text(int family)
{
    const std::string l3 = family == AF_INET ? "ip" : "ip6";
    const std::string type = family == AF_INET ? "ipv4_addr" : "ipv6_addr";
    return "table " + table_ref(family) + " {\n"
           "  set held { type " + type + " . inet_service . " + type + " . inet_service; }\n"
           "  chain output {\n"
           "    type filter hook output priority -310; policy accept;\n"
           "    " + l3 + " saddr . tcp sport . " + l3 + " daddr . tcp dport @held jump " +
           kReaderChain + "\n"
           "  }\n"
           "  chain " + kReaderChain + " { }\n"
           "}\n";
}

}  // namespace

Result<HeldConnection> HeldConnection::of_socket(int fd)
{
    sockaddr_storage local{}, remote{};
    socklen_t ll = sizeof(local), rl = sizeof(remote);
    if (::getsockname(fd, reinterpret_cast<sockaddr *>(&local), &ll) != 0 ||
        ::getpeername(fd, reinterpret_cast<sockaddr *>(&remote), &rl) != 0)
        return Result<HeldConnection>::fail(std::string("not a connected socket: ") +
                                            std::strerror(errno));
    int type = 0;
    socklen_t tl = sizeof(type);
    if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0 || type != SOCK_STREAM)
        return Result<HeldConnection>::fail("not a TCP socket");
    HeldConnection c;
    int remote_family = 0;
    if (!endpoint(local, c.family, c.local, c.local_port) ||
        !endpoint(remote, remote_family, c.remote, c.remote_port) || remote_family != c.family)
        return Result<HeldConnection>::fail("not an IPv4 or IPv6 connection");
    return c;
}

bool HeldConnection::operator==(const HeldConnection &o) const
{
    return family == o.family && local_port == o.local_port && remote_port == o.remote_port &&
           std::memcmp(local, o.local, sizeof(local)) == 0 &&
           std::memcmp(remote, o.remote, sizeof(remote)) == 0;
}

std::string HeldConnection::text() const
{
    const bool v6 = family == AF_INET6;
    auto end = [&](const std::uint8_t *a, std::uint16_t port) {
        std::string s = address_text(family, a);
        return (v6 ? "[" + s + "]" : s) + ":" + std::to_string(port);
    };
    return end(local, local_port) + " > " + end(remote, remote_port);
}

std::size_t HeldConnectionHash::operator()(const HeldConnection &c) const
{
    std::uint64_t h = 1469598103934665603ull;  // FNV-1a
    auto mix = [&](const std::uint8_t *p, std::size_t n) {
        for (std::size_t i = 0; i < n; i++)
            h = (h ^ p[i]) * 1099511628211ull;
    };
    mix(c.local, sizeof(c.local));
    mix(c.remote, sizeof(c.remote));
    const std::uint8_t ports[4] = {std::uint8_t(c.local_port >> 8), std::uint8_t(c.local_port),
                                   std::uint8_t(c.remote_port >> 8), std::uint8_t(c.remote_port)};
    mix(ports, sizeof(ports));
    return static_cast<std::size_t>(h);
}

void AckHold::CtxFree::operator()(nft_ctx *ctx) const
{
    nft_ctx_free(ctx);
}

void AckHold::QueueClose::operator()(nfq_handle *h) const
{
    nfq_close(h);
}

Result<std::unique_ptr<AckHold>> AckHold::install(std::uint16_t queue)
{
    using R = Result<std::unique_ptr<AckHold>>;
    auto hold = std::make_unique<AckHold>(Private{});
    hold->queue_num_ = queue;
    hold->ctx_.reset(nft_ctx_new(NFT_CTX_DEFAULT));
    if (!hold->ctx_)
        return R::fail("nftables: no context");
    nft_ctx_buffer_output(hold->ctx_.get());
    nft_ctx_buffer_error(hold->ctx_.get());

    // The queue's reader first: a rule with no reader drops what it queues.
    hold->queue_.reset(nfq_open());
    if (!hold->queue_)
        return R::fail(std::string("NFQUEUE: cannot open: ") + std::strerror(errno));
    hold->queue_handle_ = nfq_create_queue(hold->queue_.get(), queue, &AckHold::on_packet,
                                           hold.get());
    if (!hold->queue_handle_)
        return R::fail("NFQUEUE " + std::to_string(queue) +
                       ": cannot bind (another process reads it?): " + std::strerror(errno));
    if (nfq_set_mode(hold->queue_handle_, NFQNL_COPY_PACKET, kCopyBytes) < 0 ||
        nfq_set_queue_maxlen(hold->queue_handle_, kQueueLength) < 0)
        return R::fail(std::string("NFQUEUE: cannot configure: ") + std::strerror(errno));
    // Large segments (loopback, offloads) come whole: we read headers only.
    (void)nfq_set_queue_flags(hold->queue_handle_, NFQA_CFG_F_GSO, NFQA_CFG_F_GSO);
    const int fd = nfq_fd(hold->queue_.get());
    (void)::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &kSocketBuffer, sizeof(kSocketBuffer));
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);

    // "add" first so that "delete" finds a table whether or not one was
    // left behind; then the fresh ones, all in one transaction. The queue's
    // rule follows: until then the reader's chain is empty, and so is the
    // set.
    std::string tables;
    for (int family : {AF_INET, AF_INET6})
        tables += "add table " + table_ref(family) + "\ndelete table " + table_ref(family) + "\n";
    Status made = hold->run(tables + table_text(AF_INET) + table_text(AF_INET6));
    if (!made)
        return R::fail(made.why());
    hold->table_installed_ = true;
    for (std::uint8_t family : {NFPROTO_IPV4, NFPROTO_IPV6}) {
        Status rule = append_queue_rule(family, kTable, kReaderChain, queue);
        if (!rule)
            return R::fail(rule.why());
    }
    return R(std::move(hold));
}

Result<bool> AckHold::remove_left_behind()
{
    std::unique_ptr<nft_ctx, CtxFree> ctx(nft_ctx_new(NFT_CTX_DEFAULT));
    if (!ctx)
        return Result<bool>::fail("nftables: no context");
    nft_ctx_buffer_output(ctx.get());
    nft_ctx_buffer_error(ctx.get());
    // The tables' names only: listing one's rules would make libnftables
    // complain on stderr about the compat NFQUEUE target.
    if (nft_run_cmd_from_buffer(ctx.get(), "list tables") != 0)
        return Result<bool>::fail(std::string("nftables: list tables: ") +
                                  nft_ctx_get_error_buffer(ctx.get()));
    const std::string tables = nft_ctx_get_output_buffer(ctx.get());
    bool found = false;
    for (int family : {AF_INET, AF_INET6}) {
        if (tables.find("table " + table_ref(family) + "\n") == std::string::npos)
            continue;
        found = true;
        if (nft_run_cmd_from_buffer(ctx.get(), ("delete table " + table_ref(family)).c_str()) != 0)
            return Result<bool>::fail("the hold a killed bgpd left (" + table_ref(family) +
                                      "): " + nft_ctx_get_error_buffer(ctx.get()));
    }
    return found;
}

AckHold::~AckHold()
{
    // Unbinding the queue drops what waits; then the rule goes.
    if (queue_handle_)
        nfq_destroy_queue(queue_handle_);
    queue_.reset();
    remove_table();
}

void AckHold::remove_table()
{
    if (table_installed_)  // never one another process or object installed
        (void)run("delete table " + table_ref(AF_INET) + "\ndelete table " + table_ref(AF_INET6));
}

Status AckHold::run(const std::string &commands) const
{
    if (nft_run_cmd_from_buffer(ctx_.get(), commands.c_str()) == 0)
        return Status::ok();
    std::string why = nft_ctx_get_error_buffer(ctx_.get());
    while (!why.empty() && (why.back() == '\n' || why.back() == ' '))
        why.pop_back();
    return Status::fail("nftables: " + (why.empty() ? std::string("refused") : why));
}

std::string AckHold::element(const HeldConnection &c) const
{
    return "element " + table_ref(c.family) + " held { " + address_text(c.family, c.local) +
           " . " + std::to_string(c.local_port) + " . " + address_text(c.family, c.remote) +
           " . " + std::to_string(c.remote_port) + " }";
}

Status AckHold::hold(const HeldConnection &c, std::uint32_t confirmed)
{
    if (c.family != AF_INET && c.family != AF_INET6)
        return Status::fail("not an IPv4 or IPv6 connection");
    if (held_.count(c))
        return Status::fail(c.text() + " is held already");
    held_.emplace(c, Held{confirmed, {}});
    Status added = Status::ok();
    privileged([&] { added = run("add " + element(c)); });
    if (!added)
        held_.erase(c);
    return added;
}

bool AckHold::confirm(const HeldConnection &c, std::uint32_t confirmed)
{
    auto it = held_.find(c);
    if (it == held_.end())
        return false;
    if (seq_after(confirmed, it->second.confirmed))
        it->second.confirmed = confirmed;
    if (!it->second.waiting.empty())
        privileged([&] { pass_confirmed(it->second); });
    return true;
}

Status AckHold::release(const HeldConnection &c)
{
    auto it = held_.find(c);
    if (it == held_.end())
        return Status::fail(c.text() + " is not held");
    // Out of the map first: a segment the kernel queues meanwhile finds no
    // hold and passes, after those passed here.
    std::deque<Waiting> waiting = std::move(it->second.waiting);
    held_.erase(it);
    Status deleted = Status::ok();
    privileged([&] {
        for (const Waiting &w : waiting) {
            pass(w.packet_id);
            counters_.released++;
        }
        deleted = run("delete " + element(c));
    });
    return deleted;
}

int AckHold::fd() const
{
    return nfq_fd(queue_.get());
}

void AckHold::on_readable()
{
    privileged([this] { take_queued(); });
}

void AckHold::take_queued()
{
    alignas(8) char buf[65536];
    for (;;) {
        const ssize_t n = ::recv(fd(), buf, sizeof(buf), MSG_DONTWAIT);
        if (n > 0) {
            nfq_handle_packet(queue_.get(), buf, static_cast<int>(n));
            continue;
        }
        if (n < 0 && errno == ENOBUFS) {
            // The kernel dropped segments it could not give us: TCP sends
            // them again, nothing unconfirmed went out.
            counters_.lost++;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        return;
    }
}

int AckHold::on_packet(nfq_q_handle *, nfgenmsg *, nfq_data *nfa, void *self)
{
    auto *hold = static_cast<AckHold *>(self);
    const nfqnl_msg_packet_hdr *hdr = nfq_get_msg_packet_hdr(nfa);
    if (!hdr)
        return 0;
    unsigned char *ip = nullptr;
    const int len = nfq_get_payload(nfa, &ip);
    hold->take(ntohl(hdr->packet_id), ip, len);
    return 0;
}

void AckHold::take(std::uint32_t packet_id, const unsigned char *ip, int len)
{
    counters_.queued++;
    HeldConnection c;
    const unsigned char *tcp = nullptr;
    if (len >= 20 && (ip[0] >> 4) == 4 && ip[9] == IPPROTO_TCP) {
        const int ihl = (ip[0] & 0x0f) * 4;
        c.family = AF_INET;
        std::memcpy(c.local, ip + 12, 4);
        std::memcpy(c.remote, ip + 16, 4);
        tcp = len >= ihl + 20 ? ip + ihl : nullptr;
    } else if (len >= 60 && (ip[0] >> 4) == 6 && ip[6] == IPPROTO_TCP) {
        c.family = AF_INET6;
        std::memcpy(c.local, ip + 8, 16);
        std::memcpy(c.remote, ip + 24, 16);
        tcp = ip + 40;
    }
    if (!tcp) {  // not a segment we can read: nothing we hold
        counters_.unknown++;
        pass(packet_id);
        return;
    }
    c.local_port = be16(tcp);
    c.remote_port = be16(tcp + 2);
    auto it = held_.find(c);
    if (it == held_.end()) {
        counters_.unknown++;
        pass(packet_id);
        return;
    }
    Held &h = it->second;
    const Waiting w{packet_id, be32(tcp + 8), (tcp[13] & kTcpAck) != 0,
                    std::chrono::steady_clock::now()};
    if (h.waiting.empty() && (!w.has_ack || !seq_after(w.ack, h.confirmed))) {
        counters_.passed_at_once++;
        pass(packet_id);
        return;
    }
    counters_.held++;
    h.waiting.push_back(w);
}

void AckHold::pass(std::uint32_t packet_id)
{
    nfq_set_verdict(queue_handle_, packet_id, NF_ACCEPT, 0, nullptr);
}

void AckHold::pass_confirmed(Held &h)
{
    while (!h.waiting.empty()) {
        const Waiting &w = h.waiting.front();
        if (w.has_ack && seq_after(w.ack, h.confirmed))
            return;
        pass(w.packet_id);
        counters_.released++;
        h.waiting.pop_front();
    }
}

std::size_t AckHold::waiting(const HeldConnection &c) const
{
    auto it = held_.find(c);
    return it == held_.end() ? 0 : it->second.waiting.size();
}

std::chrono::milliseconds AckHold::longest_wait(const HeldConnection &c,
                                                std::chrono::steady_clock::time_point now) const
{
    auto it = held_.find(c);
    if (it == held_.end() || it->second.waiting.empty())
        return std::chrono::milliseconds(0);
    return std::chrono::duration_cast<std::chrono::milliseconds>(now -
                                                                 it->second.waiting.front().since);
}

}  // namespace frr_ha
