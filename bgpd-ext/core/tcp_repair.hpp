// A TCP connection taken out of one socket and rebuilt in another with
// Linux TCP_REPAIR (CAP_NET_ADMIN). In dual-RP mode the standby host's
// kernel continues a TF session this way: the peer keeps talking to the
// same 4-tuple at the same sequence numbers and never learns the socket
// changed. Each field says where the standby will get it from.
#pragma once

#include "result.hpp"
#include "unique_fd.hpp"

#include <netinet/in.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace frr_ha {

// An IPv4 or IPv6 address with its port, as the kernel gives it.
struct TcpEndpoint {
    int family = AF_UNSPEC;          // AF_INET or AF_INET6
    in6_addr address{};              // IPv4: the first 4 bytes
    std::uint16_t port = 0;          // host order
    std::uint32_t scope_id = 0;      // IPv6 link-local only

    std::string to_string() const;
};

// What TCP negotiated in the handshake; it cannot be negotiated again.
// In dual-RP: from the active's capture when the session comes up (it
// never changes afterwards).
struct TcpOptions {
    std::uint32_t mss = 0;              // what the peer allows us to send
    std::uint8_t snd_wscale = 0;        // the peer's window scale
    std::uint8_t rcv_wscale = 0;        // ours
    bool window_scaling = false;
    bool sack = false;
    bool timestamps = false;
};

// The kernel's window bookkeeping (struct tcp_repair_window).
// In dual-RP: from the active's periodic capture; a stale value only costs
// a window update from the peer, never a byte.
struct TcpWindow {
    std::uint32_t snd_wl1 = 0;
    std::uint32_t snd_wnd = 0;
    std::uint32_t max_window = 0;
    std::uint32_t rcv_wnd = 0;
    std::uint32_t rcv_wup = 0;
};

struct TcpConnectionState {
    TcpEndpoint local;
    TcpEndpoint remote;

    // Sequence number of the first byte of send_queue (the peer has
    // acknowledged everything before it), and the bytes from there on that
    // the peer has not acknowledged, sent or not.
    // In dual-RP: the send log, from the peer's last acknowledgement (seen
    // in the replicated segments) to the end of what the active logged.
    // The queue must reach every byte the peer may have acknowledged: the
    // kernel drops an ACK beyond its last byte sent (the queue counts as
    // sent), and with the peer's window closed the connection stalls.
    // Bytes beyond may instead be written after the rebuild: they go out
    // at once, where queued ones wait for the retransmission timer.
    std::uint32_t send_seq = 0;
    std::string send_queue;

    // Sequence number of the first byte of recv_queue, and the bytes from
    // there on that the kernel acknowledged but the application did not
    // read. In dual-RP: the receive mirror (the standby has read them
    // itself, so recv_queue is empty and recv_seq is the mirror's end).
    std::uint32_t recv_seq = 0;
    std::string recv_queue;

    TcpOptions options;
    TcpWindow window;
    bool have_window = false;

    // The TSval the connection would send at capture time (TCP_TIMESTAMP:
    // the kernel's clock plus the connection's offset; bit 0 set if it
    // counts microseconds). In dual-RP: the active's periodic capture; the
    // standby moves it forward by the time since (RestoreOptions).
    std::uint32_t timestamp = 0;

    // Next sequence numbers, after the queues.
    std::uint32_t send_next() const
    {
        return send_seq + static_cast<std::uint32_t>(send_queue.size());
    }
    std::uint32_t recv_next() const
    {
        return recv_seq + static_cast<std::uint32_t>(recv_queue.size());
    }
};

struct RestoreOptions {
    // The TCP-MD5 key of the session. The kernel never gives a key back
    // (TCP_MD5SIG is write-only), so it comes from the configuration, as
    // bgpd's own "neighbor password" does.
    std::optional<std::string> md5_key;
    // Milliseconds to move the timestamp forward: at least the time since
    // the capture, so that the peer's PAWS check (a TSval older than the
    // last one it saw is dropped) accepts our segments. Moving forward
    // further is harmless.
    std::uint32_t timestamp_advance_ms = 0;
    // Bind with IP_FREEBIND / IPV6_FREEBIND and IP_TRANSPARENT /
    // IPV6_TRANSPARENT: the standby host rebuilds the socket before it
    // claims the service address.
    bool freebind = true;
    // Leave the socket in repair mode: it holds the connection's addresses
    // for getsockname()/getpeername() and never sends, nor does its close
    // (the standby's placeholder, connection_image.hpp).
    bool stay_in_repair = false;
};

// Whether sequence number a comes after b, as TCP compares them (modulo
// 2^32, within half the space).
bool seq_after(std::uint32_t a, std::uint32_t b);

// Reads the state of a connected TCP socket. The socket goes through
// repair mode for the read and leaves it without a window probe: nothing is
// sent to the peer, and the connection goes on as before. The caller is the
// socket's only reader and writer meanwhile (the send side is read once;
// only the peer's side is retaken until it holds still).
Result<TcpConnectionState> capture(int fd);

// The last capture of a socket that this process gives up: reads its state
// in repair mode and closes it there, so the kernel sends neither FIN nor
// RST. The connection now lives only in the returned state. On failure the
// socket is left open, out of repair mode: closing it is the caller's call.
// (Another process holding the same socket keeps it alive, in repair mode.)
Result<TcpConnectionState> capture_and_silence(UniqueFd &fd);

// Closes a socket without a FIN or RST to its peer (enters repair mode
// first). How an RP that must stop talking to a peer drops its socket. On
// failure fd stays open: closing it normally would send a FIN.
Status silence(UniqueFd &fd);
// Puts a socket in repair mode, to be closed later by whoever holds it:
// from now on the kernel sends nothing for it.
Status enter_repair_mode(int fd);

// Whether the negotiated options are in range: "" if so, else why not.
std::string check_options(const TcpOptions &options);

// Whether the state is one a kernel could continue (its window against its
// sequence numbers, option ranges). "" if so, else why not.
std::string check_state(const TcpConnectionState &state);

// A new socket that continues the connection: connected, same sequence
// numbers, queues, options, window and timestamp clock, out of repair mode.
// Nothing is sent while it is built; once built, the kernel retransmits the
// send queue as it would after a timeout. On failure, what was built is
// closed in repair mode (nothing reaches the peer) and the reason names the
// step and errno.
// What the application set on a socket and the kernel does not keep in the
// connection's state: the file status flags (O_NONBLOCK), TTL and minimum
// TTL (GTSM), TOS / traffic class (DSCP), TCP_NODELAY, SO_KEEPALIVE,
// SO_PRIORITY. Read from a socket before it goes, set on the one rebuilt
// in its place; an option the family lacks is not read.
struct SocketOptions {
    int file_flags = -1;
    struct Value {
        int level, name, value;
        const char *what;
    };
    std::vector<Value> values;
};
SocketOptions socket_options_of(int fd);
Status set_socket_options(int fd, const SocketOptions &options);

Result<UniqueFd> restore(const TcpConnectionState &state, const RestoreOptions &options = {});

}  // namespace frr_ha
