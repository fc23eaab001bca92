// The standby's side of a session tap, which becomes the new active's
// (docs/transparent-failover.md): shadow, mirror ended, taking over, live,
// graceful end.
//
// A shadow's input comes from the input link; its writes are swallowed.
// Once its FSM has taken the session's addresses, the shadow is isolated:
// bgpd's descriptor for the session becomes a stand-in and the peer's
// socket is held here alone, so nothing bgpd does on a standby (a
// NOTIFICATION, a close, a socket option) can reach the peer. At takeover
// the peer's socket takes the stand-in's descriptor number back, the rest
// of the link is read, the bytes the old active mirrored but never consumed
// are dropped from the socket's queue, and from then on the socket is read
// directly.
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bgp_stream.hpp"
#include "connection_image.hpp"
#include "receive_mirror.hpp"
#include "result.hpp"
#include "send_log.hpp"
#include "takeover_difference.hpp"
#include "tap_mode.hpp"
#include "tap_streams.hpp"
#include "tcp_stream_position.hpp"
#include "unique_fd.hpp"

namespace frr_ha {

class ShadowTap {
public:
    // The links carry the received and the sent stream from their first
    // byte. The bias comes with them from an active that made the whole
    // history first, else later, once the links hold the history
    // (history_ended).
    ShadowTap(TapState &state, TapStreams &streams, UniqueFd input_link, UniqueFd sendlog_link,
              std::optional<TcpCountBias> bias);
    ShadowTap(const ShadowTap &) = delete;
    ShadowTap &operator=(const ShadowTap &) = delete;

    // The peer's socket: held apart from bgpd's descriptor once isolated.
    int socket_fd() const { return live_ ? live_.get() : streams_.fd(); }
    bool isolated() const { return static_cast<bool>(live_); }

    // bgpd's I/O while Shadow, MirrorEnded or TakingOver.
    ssize_t read(void *buf, std::size_t len, bool *ended);
    // Shadow, MirrorEnded: a standby writes nothing to a peer; it notes
    // what it would have.
    ssize_t swallow(const struct iovec *iov, int iovcnt, std::size_t total);
    int input_fd(int parked) const;
    // Always writable while the shadow runs: where its writes wait (they
    // are swallowed at once). The send-log link, which the shadow only
    // reads, on bgpd's main thread: not the input link, whose reads the
    // I/O pthread waits for (FRR's event loop loses one of two waits on
    // one descriptor when the other is cancelled from another pthread).
    int swallow_fd() const { return sendlog_link_ ? sendlog_link_.get() : streams_.fd(); }

    // The active's links hold the whole history: the kernel's counters are
    // related to the streams by `bias` from now on.
    void history_ended(TcpCountBias bias) { bias_ = bias; }
    bool history_complete() const { return bias_.has_value() || remote_history_complete_; }
    // Dual-RP: the peer's socket is the standby host's placeholder
    // (placeholder_of), whose kernel counts say nothing. The links hold the
    // whole history once the standby host has received it; what the peer
    // acknowledged comes with the active's progress (a sent-stream offset),
    // and the send log forgets it.
    void remote_history_complete() { remote_history_complete_ = true; }
    void peer_acked(std::uint64_t offset);
    // The connection as the active host last described it: the image, the
    // latest progress and when it arrived (this host's clock). With it the
    // takeover rebuilds the peer's socket on this host (rebuild_socket).
    void follow_remote(const ConnectionImage &image, const ConnectionProgress &progress,
                       std::chrono::steady_clock::time_point progress_at);
    bool across_hosts() const { return remote_.has_value(); }
    // After a takeover across hosts: how the socket was rebuilt, for the log.
    const std::string &rebuilt() const { return rebuilt_; }

    Status isolate();
    void tell_active_shadow_ended(const std::string &why);
    Status drain_sendlog(bool to_eof);
    int sendlog_fd() const { return sendlog_link_.get(); }
    std::size_t sendlog_messages() const { return send_log_.messages(); }
    void open_gate()
    {
        gate_open_ = true;
        std::string().swap(pregate_start_);
    }

    // `writers_gone`: the old active's writing threads are known dead (its
    // life page said so) while its links are still open: what the links
    // hold now is all there will be, and their end is read at once.
    // Across hosts (follow_remote) the links' writers are gone by then, and
    // the peer's socket is rebuilt first; `md5_key` is the session's
    // TCP-MD5 key from the configuration (the kernel never gives it back).
    Status take_over(bool writers_gone = false,
                     const std::optional<std::string> &md5_key = std::nullopt);
    // The takeover moved bgpd's input to the mirror from where it waited
    // (parked at the gate, or after the mirror's end): bgpd must wait anew.
    bool input_moved() const { return input_moved_; }
    // GracefulEnd (entered by the caller): bgpd reads the end at once.
    void end_for_graceful_restart();
    // Released (entered by the caller): links and the held socket go.
    void drop_links();
    Result<std::vector<std::string>> take_takeover_messages();

    std::uint64_t mirrored() const { return mirror_.end(); }
    std::size_t completed_bytes() const { return completed_bytes_; }
    std::size_t unsent_messages() const { return unsent_messages_; }
    std::uint64_t duplicates_dropped() const { return duplicates_dropped_; }
    const TakeoverDifference &difference() const { return difference_; }

private:
    std::size_t gated_length(std::size_t len);
    ssize_t finish_mirror();
    ssize_t fail_takeover(const std::string &why);
    Status rebuild_socket(const std::optional<std::string> &md5_key);

    TapState &state_;
    TapStreams &streams_;
    UniqueFd input_link_, sendlog_link_;
    std::optional<TcpCountBias> bias_;  // none until the history's end
    bool remote_history_complete_ = false;
    struct RemoteConnection {
        ConnectionImage image;
        ConnectionProgress progress;
        std::chrono::steady_clock::time_point progress_at;
    };
    std::optional<RemoteConnection> remote_;
    std::string rebuilt_;
    ReceiveMirror mirror_;  // the received stream held from the mirror
    // Until its FSM is Established the shadow gets the OPEN and the
    // KEEPALIVE only: bgpd checks each header's length against what the
    // OPENs negotiated, in its I/O thread, as soon as the bytes arrive.
    bool gate_open_ = false, gate_waiting_ = false;
    std::string pregate_start_;  // input taken before the gate opened
    UniqueFd live_;  // isolated: the peer's socket (bgpd has a stand-in)
    BgpStreamFramer out_framer_{kBgpMaxExtendedMessage};  // the send-log link
    SendLog send_log_;
    TakeoverDifference difference_;
    std::size_t completed_bytes_ = 0, unsent_messages_ = 0;
    std::uint64_t duplicates_dropped_ = 0;
    UniqueFd always_readable_;  // GracefulEnd: wakes bgpd's I/O to read the end
    bool input_moved_ = false;
};

}  // namespace frr_ha
