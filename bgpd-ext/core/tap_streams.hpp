// One session's socket and its two streams as this RP's I/O sees them:
// what was taken and given, and what the streams hold (both OPENs, the
// routes each side holds), so that a standby that joins later can be given
// a history that ends in the same state. Shared by both roles of a tap.
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include <cstdint>
#include <string>

#include "bgp_stream.hpp"
#include "history_stream.hpp"
#include "result.hpp"
#include "stream_rib.hpp"

namespace frr_ha {

class TapStreams {
public:
    explicit TapStreams(int fd) : fd_(fd) {}

    int fd() const { return fd_; }
    std::uint64_t consumed() const { return consumed_; }  // received-stream bytes taken
    std::uint64_t written() const { return written_; }    // sent-stream bytes given
    // A new active continues the counts where the old active left them.
    void continue_at(std::uint64_t consumed, std::uint64_t written)
    {
        consumed_ = consumed;
        written_ = written;
    }
    // The session's largest message (RFC 8654 extended messages or not).
    std::size_t max_message() const { return max_message_; }
    void set_max_message(std::size_t max) { max_message_ = max; }

    // read(2) / writev(2) on the socket, counted and followed.
    ssize_t read_plain(void *buf, std::size_t len);
    ssize_t writev_plain(const struct iovec *iov, int iovcnt);

    // Received bytes consumed from the socket by a peek and a recv.
    void took(const void *data, std::size_t len)
    {
        consumed_ += len;
        track_input(data, len);
    }
    // Received bytes that reached this RP by another way (the mirror).
    void track_input(const void *data, std::size_t len);
    // A sent message known from the send log (the first OPEN is kept).
    void note_sent(const std::string &message);
    // A sent message the peer is known to hold.
    void peer_got(const std::string &message) { out_rib_.apply(message); }
    // After a takeover, what this RP writes is also what its FSM sent:
    // recorded in `rib` as well until the difference is taken (nullptr).
    void also_record_sent(StreamRib *rib) { also_sent_ = rib; }

    const StreamRib &received() const { return in_rib_; }
    const StreamRib &peer_holds() const { return out_rib_; }

    // Whether a history can be made from the streams; `excluded_why` is
    // shown when they are no longer followed. A session handed over
    // `receive_only` needs the received stream's record only.
    Status followable(const std::string &excluded_why, bool receive_only) const;
    struct History {
        HistoryStream in, out;  // for the input link and the send-log link
    };
    // Both OPENs, a KEEPALIVE, the routes as UPDATEs, the message in
    // progress: made as the links take it (history_stream.hpp), from
    // records that must stay followed meanwhile. `receive_only`: the send
    // log's history is our OPEN and a KEEPALIVE (the standby of a session
    // that restarts gracefully needs what the peer holds from us no more).
    History history(bool receive_only) const;
    // The session will never be handed over: the parse of every message
    // is not worth it.
    void stop_following();

private:
    void track_output(const struct iovec *iov, int iovcnt, std::size_t len);

    int fd_;
    std::uint64_t consumed_ = 0, written_ = 0;
    std::size_t max_message_ = kBgpMaxMessage;
    bool following_ = true;
    BgpStreamFramer in_track_{kBgpMaxExtendedMessage}, out_track_{kBgpMaxExtendedMessage};
    StreamRib in_rib_;
    StreamRib out_rib_;  // what the peer holds from us (written, or logged and acknowledged)
    std::string out_open_;
    StreamRib *also_sent_ = nullptr;
};

}  // namespace frr_ha
