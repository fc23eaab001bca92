#include "stand_in.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "unique_fd.hpp"

namespace frr_ha {

Status put_stand_in(int fd)
{
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair) < 0)
        return Status::fail(std::string("stand-in socket: ") + std::strerror(errno));
    UniqueFd stand_in(pair[0]), other_end(pair[1]);
    if (::dup3(stand_in.get(), fd, O_CLOEXEC) < 0)
        return Status::fail(std::string("stand-in descriptor: ") + std::strerror(errno));
    return Status::ok();
}

}  // namespace frr_ha
