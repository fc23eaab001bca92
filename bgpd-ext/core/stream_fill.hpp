// Filling a gap of known length at a message boundary with messages that
// change nothing at the peer, when the bytes that belong there are unknown.
// KEEPALIVEs (19 bytes) are used first; empty UPDATEs (23 bytes, the IPv4
// unicast End-of-RIB marker, which a peer outside graceful restart ignores)
// only where 19s alone cannot make the length and the caller allows them.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

namespace frr_ha {

// The filler of exactly `length` bytes, or nothing if no mix of the allowed
// messages adds up to it (for example 20..37 bytes except 19, 23 and 38).
std::optional<std::string> harmless_fill(std::size_t length, bool allow_empty_update);

}  // namespace frr_ha
