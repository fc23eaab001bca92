#include "address_claim.hpp"

#include "unique_fd.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_ether.h>
#include <linux/rtnetlink.h>
#include <memory>
#include <net/if.h>
#include <ifaddrs.h>
#include <net/if_arp.h>
#include <netpacket/packet.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <vector>

namespace frr_ha {

namespace {

std::string failed(const std::string &what)
{
    return what + ": " + std::strerror(errno);
}

struct SocketClose {
    void operator()(mnl_socket *s) const { mnl_socket_close(s); }
};

// One RTM_NEWADDR / RTM_DELADDR, acknowledged by the kernel; `tolerated`
// is the errno that counts as done (the address already there, or gone).
Status change_address(const ServiceAddress &a, int ifindex, std::uint16_t type,
                      std::uint16_t flags, int tolerated)
{
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
    nlmsghdr *nlh = mnl_nlmsg_put_header(buf.data());
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
    nlh->nlmsg_seq = static_cast<std::uint32_t>(std::time(nullptr));
    auto *ifa = static_cast<ifaddrmsg *>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
    ifa->ifa_family = static_cast<std::uint8_t>(a.family);
    ifa->ifa_prefixlen = a.prefix_len;
    ifa->ifa_scope = RT_SCOPE_UNIVERSE;
    ifa->ifa_index = static_cast<unsigned>(ifindex);
    const std::size_t len = a.family == AF_INET ? 4 : 16;
    mnl_attr_put(nlh, IFA_LOCAL, len, a.address);
    mnl_attr_put(nlh, IFA_ADDRESS, len, a.address);
    if (a.family == AF_INET6)
        mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);

    std::unique_ptr<mnl_socket, SocketClose> nl(mnl_socket_open(NETLINK_ROUTE));
    if (!nl)
        return Status::fail(failed("netlink socket"));
    if (mnl_socket_bind(nl.get(), 0, MNL_SOCKET_AUTOPID) < 0)
        return Status::fail(failed("netlink bind"));
    if (mnl_socket_sendto(nl.get(), nlh, nlh->nlmsg_len) < 0)
        return Status::fail(failed("netlink send"));
    const ssize_t n = mnl_socket_recvfrom(nl.get(), buf.data(), buf.size());
    if (n < 0)
        return Status::fail(failed("netlink receive"));
    if (mnl_cb_run(buf.data(), static_cast<std::size_t>(n), nlh->nlmsg_seq,
                   mnl_socket_get_portid(nl.get()), nullptr, nullptr) < 0 &&
        errno != tolerated)
        return Status::fail(failed(std::string(type == RTM_NEWADDR ? "adding " : "removing ") +
                                   a.text()));
    return Status::ok();
}

Result<int> interface_index(const std::string &name)
{
    const unsigned index = if_nametoindex(name.c_str());
    if (index == 0)
        return Result<int>::fail("no interface " + name + ": " + std::strerror(errno));
    return static_cast<int>(index);
}

Status hardware_address(const std::string &interface, std::uint8_t mac[ETH_ALEN])
{
    UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, interface.c_str(), IFNAMSIZ - 1);
    if (!s || ::ioctl(s.get(), SIOCGIFHWADDR, &ifr) != 0)
        return Status::fail(failed("the MAC address of " + interface));
    if (ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER)
        return Status::fail(interface + " is not an Ethernet interface");
    std::memcpy(mac, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
    return Status::ok();
}

// An ARP request for the address from the address itself, broadcast: every
// host on the segment that has the address in its cache takes the new MAC.
Status gratuitous_arp(const ServiceAddress &a, int ifindex, const std::uint8_t mac[ETH_ALEN])
{
    UniqueFd s(::socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_ARP)));
    if (!s)
        return Status::fail(failed("packet socket"));
    struct {
        arphdr head;
        std::uint8_t sender_mac[ETH_ALEN];
        std::uint8_t sender_ip[4];
        std::uint8_t target_mac[ETH_ALEN];
        std::uint8_t target_ip[4];
    } __attribute__((packed)) arp{};
    arp.head.ar_hrd = htons(ARPHRD_ETHER);
    arp.head.ar_pro = htons(ETH_P_IP);
    arp.head.ar_hln = ETH_ALEN;
    arp.head.ar_pln = 4;
    arp.head.ar_op = htons(ARPOP_REQUEST);
    std::memcpy(arp.sender_mac, mac, ETH_ALEN);
    std::memcpy(arp.sender_ip, a.address, 4);
    std::memcpy(arp.target_ip, a.address, 4);
    sockaddr_ll to{};
    to.sll_family = AF_PACKET;
    to.sll_protocol = htons(ETH_P_ARP);
    to.sll_ifindex = ifindex;
    to.sll_halen = ETH_ALEN;
    std::memset(to.sll_addr, 0xff, ETH_ALEN);
    if (::sendto(s.get(), &arp, sizeof(arp), 0, reinterpret_cast<sockaddr *>(&to), sizeof(to)) < 0)
        return Status::fail(failed("gratuitous ARP for " + a.text()));
    return Status::ok();
}

// A neighbour advertisement nobody solicited, to all nodes, with the
// override flag: caches take the new link-layer address (RFC 4861 7.2.6).
Status unsolicited_na(const ServiceAddress &a, int ifindex, const std::uint8_t mac[ETH_ALEN])
{
    UniqueFd s(::socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMPV6));
    if (!s)
        return Status::fail(failed("ICMPv6 socket"));
    const int hops = 255;  // RFC 4861: anything else is dropped
    if (::setsockopt(s.get(), IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof(hops)) != 0 ||
        ::setsockopt(s.get(), IPPROTO_IPV6, IPV6_MULTICAST_IF, &ifindex, sizeof(ifindex)) != 0)
        return Status::fail(failed("ICMPv6 socket options"));
    sockaddr_in6 from{};
    from.sin6_family = AF_INET6;
    std::memcpy(&from.sin6_addr, a.address, 16);
    from.sin6_scope_id = IN6_IS_ADDR_LINKLOCAL(&from.sin6_addr) ? static_cast<unsigned>(ifindex) : 0;
    if (::bind(s.get(), reinterpret_cast<sockaddr *>(&from), sizeof(from)) != 0)
        return Status::fail(failed("the advertisement's source " + a.text()));
    struct {
        nd_neighbor_advert na;
        nd_opt_hdr opt;
        std::uint8_t mac[ETH_ALEN];
    } __attribute__((packed)) msg{};
    msg.na.nd_na_type = ND_NEIGHBOR_ADVERT;
    msg.na.nd_na_flags_reserved = ND_NA_FLAG_OVERRIDE;  // the kernel sums it
    std::memcpy(&msg.na.nd_na_target, a.address, 16);
    msg.opt.nd_opt_type = ND_OPT_TARGET_LINKADDR;
    msg.opt.nd_opt_len = 1;  // in units of 8 bytes
    std::memcpy(msg.mac, mac, ETH_ALEN);
    sockaddr_in6 to{};
    to.sin6_family = AF_INET6;
    ::inet_pton(AF_INET6, "ff02::1", &to.sin6_addr);
    to.sin6_scope_id = static_cast<unsigned>(ifindex);
    if (::sendto(s.get(), &msg, sizeof(msg), 0, reinterpret_cast<sockaddr *>(&to), sizeof(to)) < 0)
        return Status::fail(failed("neighbour advertisement for " + a.text()));
    return Status::ok();
}

}  // namespace

Result<ServiceAddress> ServiceAddress::parse(const std::string &address_and_length,
                                             const std::string &interface)
{
    using R = Result<ServiceAddress>;
    const std::size_t slash = address_and_length.find('/');
    if (slash == std::string::npos)
        return R::fail("'" + address_and_length + "': no prefix length (as in 192.0.2.1/24)");
    const std::string address = address_and_length.substr(0, slash);
    const std::string length = address_and_length.substr(slash + 1);
    ServiceAddress a;
    if (::inet_pton(AF_INET, address.c_str(), a.address) == 1)
        a.family = AF_INET;
    else if (::inet_pton(AF_INET6, address.c_str(), a.address) == 1)
        a.family = AF_INET6;
    else
        return R::fail("'" + address + "' is not an IPv4 or IPv6 address");
    const unsigned max = a.family == AF_INET ? 32 : 128;
    char *end = nullptr;
    const unsigned long len = std::strtoul(length.c_str(), &end, 10);
    if (length.empty() || *end != '\0' || len > max)
        return R::fail("prefix length '" + length + "' is not 0 to " + std::to_string(max));
    a.prefix_len = static_cast<std::uint8_t>(len);
    auto index = interface_index(interface);
    if (!index)
        return R::fail(index.why());
    a.interface = interface;
    return a;
}

namespace {

bool same_subnet(int family, const std::uint8_t *a, const std::uint8_t *b, unsigned len)
{
    const unsigned bytes = family == AF_INET ? 4 : 16;
    for (unsigned i = 0; i < bytes && len > 0; i++, len = len > 8 ? len - 8 : 0) {
        const std::uint8_t mask = static_cast<std::uint8_t>(len >= 8 ? 0xff : 0xff << (8 - len));
        if ((a[i] & mask) != (b[i] & mask))
            return false;
    }
    return true;
}

}  // namespace

Result<ServiceAddress> ServiceAddress::on_its_subnet(const std::string &address_and_length)
{
    using R = Result<ServiceAddress>;
    auto a = parse(address_and_length, "lo");
    if (!a)
        return a;
    ifaddrs *list = nullptr;
    if (::getifaddrs(&list) != 0)
        return R::fail(failed("the host's addresses"));
    std::unique_ptr<ifaddrs, void (*)(ifaddrs *)> owned(list, ::freeifaddrs);
    std::string found;
    for (const ifaddrs *i = list; i; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != a->family)
            continue;
        const std::uint8_t *own =
            a->family == AF_INET
                ? reinterpret_cast<const std::uint8_t *>(
                      &reinterpret_cast<const sockaddr_in *>(i->ifa_addr)->sin_addr)
                : reinterpret_cast<const std::uint8_t *>(
                      &reinterpret_cast<const sockaddr_in6 *>(i->ifa_addr)->sin6_addr);
        const std::size_t bytes = a->family == AF_INET ? 4 : 16;
        if (std::memcmp(own, a->address, bytes) == 0)
            continue;  // the service address itself, claimed earlier
        if (!same_subnet(a->family, own, a->address, a->prefix_len))
            continue;
        if (!found.empty() && found != i->ifa_name)
            return R::fail("both " + found + " and " + i->ifa_name + " have an address in " +
                           address_and_length + "'s subnet");
        found = i->ifa_name;
    }
    if (found.empty())
        return R::fail("no interface of this host has an address in " + address_and_length +
                       "'s subnet");
    a->interface = found;
    return a;
}

std::string ServiceAddress::text() const
{
    char buf[INET6_ADDRSTRLEN] = "";
    ::inet_ntop(family, address, buf, sizeof(buf));
    return std::string(buf) + "/" + std::to_string(prefix_len) + " on " + interface;
}

Status announce(const ServiceAddress &a)
{
    auto index = interface_index(a.interface);
    if (!index)
        return Status::fail(index.why());
    std::uint8_t mac[ETH_ALEN];
    Status got = hardware_address(a.interface, mac);
    if (!got)
        return got;
    return a.family == AF_INET ? gratuitous_arp(a, *index, mac) : unsolicited_na(a, *index, mac);
}

Status claim(const ServiceAddress &a)
{
    auto index = interface_index(a.interface);
    if (!index)
        return Status::fail(index.why());
    Status added = change_address(a, *index, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, EEXIST);
    if (!added)
        return added;
    return announce(a);
}

Status release(const ServiceAddress &a)
{
    auto index = interface_index(a.interface);
    if (!index)
        return Status::fail(index.why());
    return change_address(a, *index, RTM_DELADDR, 0, EADDRNOTAVAIL);
}

}  // namespace frr_ha
