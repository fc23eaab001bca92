// Dual-RP takeover: the new active's host takes over the router's service
// addresses, the addresses its peers know it by (docs/dual-rp.md,
// "Claiming the service addresses"). It adds each address to the
// interface towards the peers and tells the segment at once that the
// address moved, so the peers' next segment reaches this host's MAC rather
// than the dead one's when their neighbour caches age: a gratuitous ARP
// (IPv4) or an unsolicited neighbour advertisement with the override flag
// (IPv6, RFC 4861 7.2.6). Done after every TF socket is rebuilt (a segment
// for a connection with no socket yet would be answered with a RST).
#pragma once

#include <cstdint>
#include <string>

#include "result.hpp"

namespace frr_ha {

struct ServiceAddress {
    int family = 0;  // AF_INET or AF_INET6
    std::uint8_t address[16] = {};
    std::uint8_t prefix_len = 0;
    std::string interface;

    // "192.0.2.1/24" or "2001:db8::1/64" on `interface`; refused with the
    // reason (a bad address, a length out of range, no such interface).
    static Result<ServiceAddress> parse(const std::string &address_and_length,
                                        const std::string &interface);
    // The same on the interface of this host that has an address of its
    // own in the service address's subnet (the hosts' interface names may
    // differ; the configuration, shared by both, names none). Refused when
    // no interface, or more than one, has such an address.
    static Result<ServiceAddress> on_its_subnet(const std::string &address_and_length);
    std::string text() const;  // "192.0.2.1/24 on eth0"
};

// Adds the address to its interface (IPv6 without duplicate address
// detection: the lease already ensures the old active sends nothing, and
// DAD would hold the address back for a second), then announces it. An
// address already there is only announced. Needs CAP_NET_ADMIN (and
// CAP_NET_RAW for the announcement).
Status claim(const ServiceAddress &a);
// Tells the segment again where the address is: the caller repeats it a
// few times, as a lost announcement leaves a peer on the old MAC until its
// cache entry ages out.
Status announce(const ServiceAddress &a);
// Removes the address from its interface (a host that steps down). An
// address not there is not an error.
Status release(const ServiceAddress &a);

}  // namespace frr_ha
