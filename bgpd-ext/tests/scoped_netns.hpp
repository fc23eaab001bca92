// This thread in a network namespace made for the test (a host of its own:
// its sockets, addresses and port 179 are apart from the machine's). Needs
// CAP_SYS_ADMIN (the tests run as root).
#pragma once

#include "unique_fd.hpp"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace frr_ha::test {

// This thread in a network namespace of its own, with loopback up, until
// the scope ends (then back where it was). Empty why() when entered.
class ScopedNetns {
public:
    ScopedNetns() : home_(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC))
    {
        if (!home_) {
            why_ = std::string("no namespace to come back to: ") + std::strerror(errno);
            return;
        }
        if (::unshare(CLONE_NEWNET) != 0) {
            why_ = std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno);
            return;
        }
        entered_ = true;
        UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        struct ifreq ifr {};
        std::strcpy(ifr.ifr_name, "lo");
        ifr.ifr_flags = IFF_UP | IFF_LOOPBACK | IFF_RUNNING;
        if (!s || ::ioctl(s.get(), SIOCSIFFLAGS, &ifr) != 0)
            why_ = std::string("loopback up: ") + std::strerror(errno);
    }
    ~ScopedNetns()
    {
        if (entered_)
            (void)::setns(home_.get(), CLONE_NEWNET);
    }
    const std::string &why() const { return why_; }

private:
    UniqueFd home_;
    bool entered_ = false;
    std::string why_;
};

}  // namespace frr_ha::test
