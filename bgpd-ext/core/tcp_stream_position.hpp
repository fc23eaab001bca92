// Where the application stands in a TCP connection's two byte streams, read
// from the kernel. A standby that holds the socket of a dead active uses it
// to tell how far the active got: how many received bytes it consumed, and
// how many bytes it handed to the kernel for sending.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace frr_ha {

// What the kernel's counters include besides the application's bytes. Linux
// counts the SYN in tcpi_bytes_acked on the side that connected, not on the
// side that accepted; rather than guess, measure it once while the
// application knows its own totals (calibrate()) and carry it along.
struct TcpCountBias {
    std::uint64_t acked = 0;
    std::uint64_t received = 0;
};

struct TcpStreamPosition {
    std::uint64_t received = 0;  // bytes received in order (tcpi_bytes_received)
    std::uint64_t unread = 0;    // of them, still in the receive queue (SIOCINQ)
    std::uint64_t acked = 0;     // bytes the peer acknowledged (tcpi_bytes_acked)
    std::uint64_t unacked = 0;   // bytes in the send queue, sent or not (SIOCOUTQ)

    // Bytes the application read from the socket.
    std::uint64_t consumed(const TcpCountBias &bias) const
    {
        return received - bias.received - unread;
    }
    // Bytes the application wrote to the socket.
    std::uint64_t written(const TcpCountBias &bias) const
    {
        return acked - bias.acked + unacked;
    }
};

// The bias of a socket whose application has written `app_written` and read
// `app_consumed` bytes so far.
TcpCountBias calibrate(const TcpStreamPosition &pos, std::uint64_t app_written,
                       std::uint64_t app_consumed);

// Reads the position of a connected TCP socket; nothing (and why, in *error)
// if the kernel cannot tell.
//
// The four numbers come from one instant of the connection: the peer's
// segments and ACKs arriving while they are read cannot skew consumed() or
// written() (the sample is retaken, a bounded number of times, until nothing
// moved; *retries, if given, says how often). The caller must be the only
// one reading and writing the socket meanwhile (its own thread, or the
// reader and writer are gone): what the application does, the sample cannot
// tell from what the peer does.
std::optional<TcpStreamPosition> tcp_stream_position(int fd, std::string *error = nullptr,
                                                     unsigned *retries = nullptr);

}  // namespace frr_ha
