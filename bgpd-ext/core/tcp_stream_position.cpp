#include "tcp_stream_position.hpp"

#include <linux/sockios.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace frr_ha {

std::optional<TcpStreamPosition> tcp_stream_position(int fd, std::string *error)
{
    auto fail = [error](const char *what) -> std::optional<TcpStreamPosition> {
        if (error)
            *error = std::string(what) + ": " + std::strerror(errno);
        return std::nullopt;
    };
    struct tcp_info info;
    std::memset(&info, 0, sizeof(info));
    socklen_t len = sizeof(info);
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) < 0)
        return fail("TCP_INFO");
    // tcpi_bytes_received appeared after tcpi_bytes_acked; an older kernel
    // returns a shorter struct.
    if (len < offsetof(struct tcp_info, tcpi_bytes_received) + sizeof(info.tcpi_bytes_received)) {
        errno = ENOTSUP;
        return fail("TCP_INFO without byte counters");
    }
    int inq = 0, outq = 0;
    if (ioctl(fd, SIOCINQ, &inq) < 0)
        return fail("SIOCINQ");
    if (ioctl(fd, SIOCOUTQ, &outq) < 0)
        return fail("SIOCOUTQ");
    TcpStreamPosition pos;
    pos.received = info.tcpi_bytes_received;
    pos.unread = static_cast<std::uint64_t>(inq);
    pos.acked = info.tcpi_bytes_acked;
    pos.unacked = static_cast<std::uint64_t>(outq);
    return pos;
}

}  // namespace frr_ha

namespace frr_ha {

TcpCountBias calibrate(const TcpStreamPosition &pos, std::uint64_t app_written,
                       std::uint64_t app_consumed)
{
    TcpCountBias bias;
    bias.acked = pos.acked + pos.unacked - app_written;
    bias.received = pos.received - pos.unread - app_consumed;
    return bias;
}

}  // namespace frr_ha
