// Tests against the real kernel's netfilter, inside a network namespace made
// for the test (so the host's own port 179 and rules are never touched).
// Needs CAP_SYS_ADMIN and CAP_NET_ADMIN (the tests run as root).
#pragma once

#include <catch2/catch.hpp>

#include "scoped_netns.hpp"
#include "unique_fd.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace frr_ha::test {

// A connected pair on 127.0.0.1.
struct Connection {
    UniqueFd client, server;
};

// A listener on 127.0.0.1:`port`, for as many connections as wanted.
inline UniqueFd listen_on_loopback(std::uint16_t port)
{
    UniqueFd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    int on = 1;
    ::setsockopt(listener.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const int bound = ::bind(listener.get(), reinterpret_cast<sockaddr *>(&addr), sizeof(addr));
    INFO("bind: " << std::strerror(errno));
    REQUIRE(bound == 0);
    REQUIRE(::listen(listener.get(), 4) == 0);
    return listener;
}

inline Connection connect_to(const UniqueFd &listener)
{
    sockaddr_in addr{};
    socklen_t len = sizeof(addr);
    REQUIRE(::getsockname(listener.get(), reinterpret_cast<sockaddr *>(&addr), &len) == 0);
    Connection c;
    c.client = UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    REQUIRE(::connect(c.client.get(), reinterpret_cast<sockaddr *>(&addr), sizeof(addr)) == 0);
    c.server = UniqueFd(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    REQUIRE(c.server);
    return c;
}

// One connection; the listener goes.
inline Connection connect_over_loopback(std::uint16_t port)
{
    return connect_to(listen_on_loopback(port));
}

}  // namespace frr_ha::test
