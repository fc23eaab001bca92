// Dual-RP mode: what the standby host keeps of a TF session's TCP connection,
// and how it assembles from it a state its own kernel can continue
// (tcp_repair.hpp). The active captures the connection when the session
// comes up (the image: addresses, negotiated options, and where each
// stream's offset 0 sits in sequence space) and then from time to time (the
// progress: what the peer acknowledged, the window, the timestamp clock).
// The bytes themselves are the standby's own: the send log and the receive
// mirror. docs/dual-rp.md, "Assembling the state on the standby".
#pragma once

#include "result.hpp"
#include "send_log.hpp"
#include "tcp_repair.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace frr_ha {

// A periodic capture, in stream offsets (what the send log and the mirror
// count), not sequence numbers, so that the standby can compare it with its
// own records.
struct ConnectionProgress {
    // Sent-stream offset the peer had acknowledged (everything before it).
    std::uint64_t peer_acked = 0;
    // Received-stream offset up to which the active's kernel had
    // acknowledged the peer's bytes: the standby must hold every byte
    // before it, or the peer's stream has a hole only the dead kernel knew.
    std::uint64_t received_acked = 0;
    TcpWindow window;
    bool have_window = false;
    std::uint32_t timestamp = 0;  // the TSval at the capture (TCP_TIMESTAMP)
};

// The capture at session up: never changes afterwards, with its first
// progress.
struct ConnectionImage {
    TcpEndpoint local;
    TcpEndpoint remote;
    TcpOptions options;
    // Sequence numbers of stream offset 0 in each direction. Stream offsets
    // are 64-bit and grow for the session's life; sequence numbers wrap.
    std::uint32_t send_base = 0;
    std::uint32_t recv_base = 0;
    ConnectionProgress progress;
};

// `written` and `read`: the bytes the active has written to the socket and
// consumed from it (its stream offsets) at the instant of the capture, with
// no read or write in between (the session's I/O lock).
ConnectionImage image_at_session_up(const TcpConnectionState &captured, std::uint64_t written,
                                    std::uint64_t read);
// `held_at`: under the hold (ack_hold.hpp), the received-stream offset the
// standby confirmed: the kernel acknowledged nothing past it, whatever it
// received.
ConnectionProgress progress_of(const TcpConnectionState &captured, std::uint64_t written,
                               std::uint64_t read, std::uint64_t held_at = UINT64_MAX);

// On the data channel, the session's number with each (StreamImage,
// StreamProgress).
struct SessionImage {
    std::uint64_t session = 0;
    ConnectionImage image;
    // Each stream's offset where the history ends (the image's bases were
    // taken there).
    std::uint64_t history_received = 0, history_sent = 0;
};
struct SessionProgress {
    std::uint64_t session = 0;
    ConnectionProgress progress;
};

// What the standby has at takeover, besides the image.
struct StandbyRecords {
    const SendLog *send_log = nullptr;  // what the active wrote, from before the peer's ack
    std::uint64_t mirror_end = 0;       // the received stream, read by the standby itself
    // The latest progress (the image's first one if none came since), and
    // how long ago, by the standby's clock, it arrived: the timestamp clock
    // moves forward by at least that.
    const ConnectionProgress *progress = nullptr;
    std::uint32_t progress_age_ms = 0;
};

struct RebuildPlan {
    TcpConnectionState state;
    RestoreOptions options;
};

// Assembles the state to restore. Refused, with the reason, where the
// records cannot give the peer a continuous stream: received bytes the
// active's kernel acknowledged but the standby never got, a send log that
// starts after the peer's last known acknowledgement or ends before it,
// or a state the kernel would refuse (check_state). `transit_margin_ms`
// covers the progress's way over the channel; `md5_key` comes from the
// configuration.
// The standby host's stand-in for the peer's socket while it shadows the
// session: a socket in repair mode with the connection's addresses (bound
// with FREEBIND: the service address is the active host's), so bgpd reads
// the session's true addresses off it, and which never sends anything. It
// holds the 4-tuple: the takeover closes it before it rebuilds the real one.
Result<UniqueFd> placeholder_of(const ConnectionImage &image);

Result<RebuildPlan> assemble_rebuild(const ConnectionImage &image, const StandbyRecords &records,
                                     std::optional<std::string> md5_key,
                                     std::uint32_t transit_margin_ms = 1000);

}  // namespace frr_ha
