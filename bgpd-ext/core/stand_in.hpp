// A stand-in for a peer's socket under bgpd's descriptor, so that whatever
// bgpd does with that descriptor on a standby or a released RP never
// reaches the peer.
#pragma once

#include "result.hpp"

namespace frr_ha {

// Puts a unix socket whose other end is closed under descriptor `fd`: a
// write to it fails (EPIPE), a close or a socket option touches nothing
// but itself. The file `fd` named is no longer referenced through `fd`.
Status put_stand_in(int fd);

}  // namespace frr_ha
