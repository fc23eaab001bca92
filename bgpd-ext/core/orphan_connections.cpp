#include "orphan_connections.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>

namespace frr_ha {

namespace {

struct SocketClose {
    void operator()(mnl_socket *s) const { mnl_socket_close(s); }
};
using NetlinkSocket = std::unique_ptr<mnl_socket, SocketClose>;

std::string failed(const char *step)
{
    return std::string("orphaned connections: ") + step + ": " + std::strerror(errno);
}

// Every state but LISTEN (and the request states, which hold no 4-tuple).
constexpr std::uint32_t kConnectionStates =
    (1u << TCP_ESTABLISHED) | (1u << TCP_SYN_SENT) | (1u << TCP_SYN_RECV) |
    (1u << TCP_FIN_WAIT1) | (1u << TCP_FIN_WAIT2) | (1u << TCP_TIME_WAIT) | (1u << TCP_CLOSE) |
    (1u << TCP_CLOSE_WAIT) | (1u << TCP_LAST_ACK) | (1u << TCP_CLOSING);

struct Found {
    std::uint16_t port_be;
    std::vector<inet_diag_sockid> orphans;
    std::vector<std::uint8_t> states;
};

const char *state_name(std::uint8_t state)
{
    switch (state) {
    case TCP_ESTABLISHED: return "established";
    case TCP_SYN_SENT: return "syn-sent";
    case TCP_SYN_RECV: return "syn-recv";
    case TCP_FIN_WAIT1: return "fin-wait-1";
    case TCP_FIN_WAIT2: return "fin-wait-2";
    case TCP_TIME_WAIT: return "time-wait";
    case TCP_CLOSE: return "close";
    case TCP_CLOSE_WAIT: return "close-wait";
    case TCP_LAST_ACK: return "last-ack";
    case TCP_CLOSING: return "closing";
    }
    return "?";
}

std::string endpoint(std::uint8_t family, const std::uint32_t *address, std::uint16_t port_be)
{
    char text[INET6_ADDRSTRLEN] = "?";
    inet_ntop(family, address, text, sizeof(text));
    return (family == AF_INET6 ? "[" + std::string(text) + "]" : std::string(text)) + ":" +
           std::to_string(ntohs(port_be));
}

int on_socket(const nlmsghdr *nlh, void *data)
{
    auto *found = static_cast<Found *>(data);
    if (mnl_nlmsg_get_payload_len(nlh) < sizeof(inet_diag_msg))
        return MNL_CB_ERROR;
    const auto *msg = static_cast<const inet_diag_msg *>(mnl_nlmsg_get_payload(nlh));
    const bool on_port = msg->id.idiag_sport == found->port_be ||
                         msg->id.idiag_dport == found->port_be;
    if (on_port && msg->idiag_inode == 0) {
        found->orphans.push_back(msg->id);
        found->states.push_back(msg->idiag_state);
    }
    return MNL_CB_OK;
}

// One request (a dump, or a destroy that the kernel acknowledges), and its
// answers through `cb` until the kernel says it is done.
Status talk(mnl_socket *nl, std::uint16_t type, std::uint16_t flags, std::uint8_t family,
            const inet_diag_sockid *id, mnl_cb_t cb, void *data)
{
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
    nlmsghdr *nlh = mnl_nlmsg_put_header(buf.data());
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = NLM_F_REQUEST | flags;
    nlh->nlmsg_seq = static_cast<std::uint32_t>(time(nullptr));
    auto *req = static_cast<inet_diag_req_v2 *>(
        mnl_nlmsg_put_extra_header(nlh, sizeof(inet_diag_req_v2)));
    req->sdiag_family = family;
    req->sdiag_protocol = IPPROTO_TCP;
    req->idiag_states = kConnectionStates;
    if (id)
        req->id = *id;
    if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
        return Status::fail(failed("send"));
    const std::uint32_t seq = nlh->nlmsg_seq;
    const unsigned portid = mnl_socket_get_portid(nl);
    for (;;) {
        const ssize_t n = mnl_socket_recvfrom(nl, buf.data(), buf.size());
        if (n < 0)
            return Status::fail(failed("receive"));
        const int run = mnl_cb_run(buf.data(), static_cast<std::size_t>(n), seq, portid, cb, data);
        if (run < 0)
            return Status::fail(failed(type == SOCK_DESTROY ? "the kernel refused to destroy one"
                                                            : "the kernel refused the dump"));
        if (run == MNL_CB_STOP)
            return Status::ok();
    }
}

}  // namespace

Result<std::size_t> destroy_orphaned_connections(std::uint16_t port, std::string *destroyed_text)
{
    NetlinkSocket nl(mnl_socket_open(NETLINK_SOCK_DIAG));
    if (!nl)
        return Result<std::size_t>::fail(failed("netlink socket"));
    if (mnl_socket_bind(nl.get(), 0, MNL_SOCKET_AUTOPID) < 0)
        return Result<std::size_t>::fail(failed("netlink bind"));
    std::size_t destroyed = 0;
    for (std::uint8_t family : {AF_INET, AF_INET6}) {
        Found found{htons(port), {}, {}};
        Status dumped = talk(nl.get(), SOCK_DIAG_BY_FAMILY, NLM_F_DUMP, family, nullptr,
                             on_socket, &found);
        if (!dumped)
            return Result<std::size_t>::fail(dumped.why());
        for (std::size_t i = 0; i < found.orphans.size(); i++) {
            const inet_diag_sockid &id = found.orphans[i];
            Status gone = talk(nl.get(), SOCK_DESTROY, NLM_F_ACK, family, &id, nullptr, nullptr);
            // Gone meanwhile (its last retransmission ended it) is as good.
            if (!gone && errno != ENOENT)
                return Result<std::size_t>::fail(gone.why());
            if (!gone)
                continue;
            destroyed++;
            if (destroyed_text)
                *destroyed_text += (destroyed_text->empty() ? "" : ", ") +
                                   endpoint(family, id.idiag_src, id.idiag_sport) + " > " +
                                   endpoint(family, id.idiag_dst, id.idiag_dport) + " " +
                                   state_name(found.states[i]);
        }
    }
    return destroyed;
}

}  // namespace frr_ha
