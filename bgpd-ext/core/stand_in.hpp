// A stand-in for a peer's socket under bgpd's descriptor, so that whatever
// bgpd does with that descriptor on a standby or a released RP never
// reaches the peer.
#pragma once

#include "result.hpp"

namespace frr_ha {

// Puts an unconnected unix socket under descriptor `fd`: a write to it
// fails, a close or a socket option touches nothing but itself, and it is
// never ready for poll() (so bgpd's event loops never wake for it). The
// file `fd` named is no longer referenced through `fd`.
Status put_stand_in(int fd);

}  // namespace frr_ha
