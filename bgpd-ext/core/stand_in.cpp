#include "stand_in.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "unique_fd.hpp"

namespace frr_ha {

// An unconnected unix datagram socket: a write fails (ENOTCONN), a read
// finds nothing, and poll() never reports it. Not a socket whose other end
// is closed: that one reports POLLHUP even to a pollfd that asks for
// nothing, and FRR's event loop keeps a descriptor's pollfd, with no
// events, after its last read or write event fired, so every poll of
// bgpd's main and I/O pthreads returned at once for as long as a session
// stood in: both spun at full CPU on a standby.
Status put_stand_in(int fd)
{
    UniqueFd stand_in(::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!stand_in)
        return Status::fail(std::string("stand-in socket: ") + std::strerror(errno));
    if (::dup3(stand_in.get(), fd, O_CLOEXEC) < 0)
        return Status::fail(std::string("stand-in descriptor: ") + std::strerror(errno));
    return Status::ok();
}

}  // namespace frr_ha
