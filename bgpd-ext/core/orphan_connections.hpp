// Connections a killed bgpd left in its host's kernel (dual-RP,
// docs/dual-rp.md "A killed bgpd's connections"). A process killed with
// SIGKILL closes its sockets: each peer connection becomes an orphan, no
// longer any process's, that goes on sending its FIN (and retransmissions)
// for minutes. On the active's host that orphan holds the 4-tuple the
// partner continued on its own kernel: the host's next bgpd could not
// build the placeholder of that session when it shadows it again, and a
// FIN that got out would end the peer's session. The fences (lease, hold)
// drop what such an orphan sends; the next bgpd destroys the orphans
// before it opens them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "result.hpp"

namespace frr_ha {

// Destroys every TCP connection of this network namespace, IPv4 and IPv6,
// from or to `port` that no process holds (an orphan: the kernel's
// inet_diag reports no inode), listeners aside. The kernel answers each
// with an RST, which leaves the host only if no fence drops it: call this
// with the fence shut. Returns how many were destroyed; `destroyed`, if
// given, gets each one ("10.0.12.10:40001 > 10.0.12.4:179 fin-wait-1",
// comma-separated). Needs CAP_NET_ADMIN and a kernel with
// CONFIG_INET_DIAG_DESTROY.
Result<std::size_t> destroy_orphaned_connections(std::uint16_t port,
                                                 std::string *destroyed = nullptr);

}  // namespace frr_ha
