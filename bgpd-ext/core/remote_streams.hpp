// Dual-RP mode: a TF session's two byte streams carried to the standby host
// over the HA channel, and the standby's confirmations back
// (docs/dual-rp.md, "Carrying the streams across hosts").
//
// In local mode the links are unix socket pairs, whose bytes outlive a
// killed active. Across hosts a byte the active wrote into its channel may
// die with its host, so a byte counts as replicated only when the standby
// has confirmed it, and the two rules that keep the peer's stream whole
// follow the confirmations:
// - received (peer to router, the mirror): the active's kernel may
//   acknowledge to the peer only confirmed bytes (the hold, ack_hold.hpp,
//   is told confirmed_end(received));
// - sent (router to peer, the send log): the active may write to the peer
//   only confirmed bytes (its write gate is confirmed_end(sent)), so the
//   standby's log always reaches past anything the peer may have.
// The unconfirmed bytes of each stream are bounded by a window: a full
// window holds that one session back, as a full link does in local mode.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "result.hpp"

namespace frr_ha {

enum class StreamKind : std::uint8_t { received = 0, sent = 1 };
const char *stream_kind_name(StreamKind kind);

// One frame's worth of a stream: bytes[0] is at `offset` in it.
struct StreamChunk {
    std::uint64_t session = 0;  // the hand-over's number
    StreamKind kind = StreamKind::received;
    std::uint64_t offset = 0;
    std::string bytes;
};

// What the standby confirms: it holds each stream up to these offsets.
struct StreamAck {
    std::uint64_t session = 0;
    std::uint64_t received = 0;
    std::uint64_t sent = 0;
};

// A session handed across hosts: what the standby needs to know of it
// before its first chunk (which of its neighbors the streams belong to).
struct StreamSessionInfo {
    static constexpr std::size_t kMaxName = 127;  // a vrf's or neighbor's name
    std::uint64_t session = 0;
    std::uint64_t epoch = 0;  // the sending active's
    std::string vrf;          // "" for the default instance
    std::string neighbor;
    bool receive_only = false;  // the sent stream ends with the history
    // The standby host catches up before the session is protected: no
    // shadow continues it until the active says so (StreamProtection).
    bool protection_follows = false;
};

// A session that catches up before it is protected (docs/dual-rp.md,
// "Catching up, then protected"): the standby host says its shadow has
// caught up; the active says the session is protected once the standby
// confirmed every byte the peer may have of it (up to these offsets).
struct StreamProtection {
    enum class Step { CaughtUp, Protected };
    std::uint64_t session = 0;
    Step step = Step::CaughtUp;
    std::uint64_t received = 0, sent = 0;  // Protected
};

// Either side ends a session's streams (the active's tap dropped them; the
// standby refused a chunk or ended its shadow), saying why.
struct StreamEnd {
    static constexpr std::size_t kMaxWhy = 511;
    std::uint64_t session = 0;
    std::string why;
};

// One stream's bytes between what the standby confirmed and what was
// offered, on the active.
class UnconfirmedBytes {
public:
    explicit UnconfirmedBytes(std::uint64_t start) : confirmed_(start), sent_(start) {}
    std::uint64_t confirmed() const { return confirmed_; }
    std::uint64_t offered() const { return confirmed_ + pending(); }
    std::uint64_t unsent() const { return offered() - sent_; }
    std::size_t pending() const { return bytes_.size() - head_; }
    std::size_t take(const std::uint8_t *data, std::size_t len, std::size_t window);
    std::optional<StreamChunk> next(std::uint64_t session, StreamKind kind, std::size_t max);
    // Refused: a confirmation past what was sent.
    Status can_confirm(std::uint64_t offset, StreamKind kind) const;
    void confirm(std::uint64_t offset);  // one behind is ignored

private:
    std::string bytes_;      // from bytes_[head_], at offset confirmed_
    std::size_t head_ = 0;
    std::uint64_t confirmed_;
    std::uint64_t sent_;     // put into chunks up to here
};

// The active's side of one session.
class StreamSender {
public:
    static constexpr std::size_t kDefaultWindow = 1 << 20;

    // Both streams start at `received_start` and `sent_start` (the offsets
    // of the first bytes the standby will get: after the history).
    StreamSender(std::uint64_t session, std::uint64_t received_start, std::uint64_t sent_start,
                 std::size_t window = kDefaultWindow);

    // Takes as much of `len` bytes as the window has room for; returns how
    // much. The caller holds the rest back (the peer's bytes stay in the
    // socket, ours in bgpd's output queue).
    std::size_t offer(StreamKind kind, const std::uint8_t *data, std::size_t len);
    std::size_t room(StreamKind kind) const;

    // The next chunk to put on the channel, at most `max` bytes; the
    // received stream first (the peer waits for its ACK on it).
    std::optional<StreamChunk> next_chunk(std::size_t max);

    // The standby's confirmation. One behind the last is ignored (acks may
    // cross); one past what was sent, or for another session, is refused:
    // the partner is confused and the session must be handed over again.
    Status confirmed(const StreamAck &ack);

    std::uint64_t session() const { return session_; }
    std::uint64_t confirmed_end(StreamKind kind) const { return stream(kind).confirmed(); }
    std::uint64_t offered_end(StreamKind kind) const { return stream(kind).offered(); }

private:
    const UnconfirmedBytes &stream(StreamKind kind) const;
    UnconfirmedBytes &stream(StreamKind kind);

    std::uint64_t session_;
    std::size_t window_;
    UnconfirmedBytes received_;
    UnconfirmedBytes sent_;
};

// The standby's side of one session: checks each chunk and keeps its new
// bytes until they are delivered (to the shadow's input, to the send log).
class StreamReceiver {
public:
    static constexpr std::size_t kMaxChunk = 1 << 16;
    // Undelivered bytes one stream may hold: far above the sender's window,
    // so only a sender that ignores its window reaches it.
    static constexpr std::size_t kMaxHeld = 16 << 20;

    StreamReceiver(std::uint64_t session, std::uint64_t received_start, std::uint64_t sent_start);
    // A receiver that confirms before it delivers holds more (what it
    // confirmed must stay until delivered).
    void set_max_held(std::size_t max) { max_held_ = max; }

    // Takes a chunk's new bytes; returns how many were new. Bytes it still
    // holds are skipped if they are the same (a chunk sent again) and
    // refused if not. Refused too: another session's chunk, a gap, bytes
    // already delivered (they can no longer be checked), a chunk larger
    // than kMaxChunk, more than kMaxHeld (set_max_held) undelivered, an offset that
    // overflows. A refused chunk changes nothing.
    Result<std::size_t> accept(const StreamChunk &chunk);

    // What to confirm now: every byte held, delivered or not.
    StreamAck ack() const;

    // Bytes held but not delivered, from delivered_end(kind): a view, valid
    // until the next accept() or delivered().
    std::string_view undelivered(StreamKind kind, std::size_t max) const;
    void delivered(StreamKind kind, std::size_t n);
    std::uint64_t delivered_end(StreamKind kind) const;
    std::uint64_t end(StreamKind kind) const;

private:
    // A delivery takes bytes from the front: they are skipped (head), and
    // the buffer is compacted only once they are most of it, so a link that
    // takes a little at a time costs no copy of what stays.
    struct Stream {
        std::uint64_t delivered;  // offset of held()[0]
        std::string buf;
        std::size_t head = 0;     // buf[head..]: received, not yet delivered
        std::string_view held() const { return std::string_view(buf).substr(head); }
        std::uint64_t end() const { return delivered + held().size(); }
    };
    Stream &stream(StreamKind kind) { return kind == StreamKind::received ? received_ : sent_; }
    const Stream &stream(StreamKind kind) const
    {
        return kind == StreamKind::received ? received_ : sent_;
    }

    std::uint64_t session_;
    Stream received_;
    Stream sent_;
    std::size_t max_held_ = kMaxHeld;
};

}  // namespace frr_ha
