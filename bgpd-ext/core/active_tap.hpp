// The active's side of a session tap (docs/transparent-failover.md):
// recording, handing over, mirroring with back-pressure, unprotected.
//
// Every byte read or written is counted from the first one and kept until
// the session is handed to the standby (attach). The hand-over passes the
// descriptors first; the history is then made a part at a time as the links
// take it (history_stream.hpp), while the session goes on (HandingOver:
// what passes meanwhile follows the history), without ever blocking. Once
// the links hold it all, the standby is told where the streams stand (on
// the hand-over connection) and the session is protected (Mirroring): a
// read peeks, mirrors the bytes to the
// standby's input link and consumes only what the link took; a write
// first logs its new bytes on the send-log link and writes to the peer
// only what is logged. Whatever instant the active dies at, the standby
// holds every byte the active consumed and every byte it may have written.
// A link that is full holds back that one session (TCP's own flow control
// pushes back on its peer); past the lag limit the session goes on
// unprotected ("standby lagging") and is handed over again later.
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "back_pressure.hpp"
#include "history_stream.hpp"
#include "result.hpp"
#include "tap_mode.hpp"
#include "tap_streams.hpp"
#include "tcp_stream_position.hpp"
#include "unique_fd.hpp"
#include "write_gate.hpp"

namespace frr_ha {

// What replication costs and how far the standby lags.
struct ReplicationStats {
    std::uint64_t bytes_mirrored = 0, bytes_logged = 0;  // into the links
    std::uint64_t backpressure_events = 0;  // a link was full
    std::uint64_t lag_bytes = 0;  // in the links, not read by the standby yet
    std::uint64_t pending_bytes = 0;  // hand-over: made or passed, not in the links yet
    std::uint64_t pending_capacity = 0;  // heap the hand-over's buffers hold (none once protected)
    std::uint64_t history_bytes = 0;  // hand-over: history made so far
    std::uint64_t held_ms = 0;    // the session is held back now, for so long
    std::uint64_t held_p50_ms = 0, held_p99_ms = 0, held_max_ms = 0;  // past holds
    std::int64_t protected_after_ms = -1;  // from attach to protected
};

class ActiveTap {
public:
    // Bytes of history kept for a later hand-over.
    static constexpr std::size_t kMaxHistory = 4u << 20;
    // What passes while the history streams, at most.
    static constexpr std::size_t kMaxPendingHandover = 512u << 20;
    // History made at a time when a link has room.
    static constexpr std::size_t kHistoryPart = 64u << 10;
    // After the standby ended shadows of this session, the next hand-over
    // waits (1 s, doubling to this).
    static constexpr std::chrono::milliseconds kMaxHandoverBackoff{16000};

    ActiveTap(TapState &state, TapStreams &streams) : state_(state), streams_(streams) {}
    ActiveTap(const ActiveTap &) = delete;
    ActiveTap &operator=(const ActiveTap &) = delete;

    // bgpd's I/O while Recording, HandingOver or Mirroring.
    ssize_t read(void *buf, std::size_t len);
    ssize_t writev(const struct iovec *iov, int iovcnt, std::size_t total);

    // An unprotected session is not handed over again before its back-off.
    Status backoff_over() const;
    // Recording: the bytes seen so far, the history of a new session.
    TapStreams::History take_recorded();
    // Hands the session over with `history` (see SessionTap::attach); the
    // history's end is told on `handover_conn`. With a `gate` (dual-RP),
    // a protected session writes only up to its limit (send-log link
    // offsets: the history's first byte is 0).
    Status attach(TapStreams::History history, UniqueFd input_link, UniqueFd sendlog_link,
                  UniqueFd handover_conn, bool receive_only, std::shared_ptr<WriteGate> gate);
    bool receive_only() const { return receive_only_; }
    // Across hosts, false while the standby host catches up (the session is
    // Mirroring but not protected yet: write_gate.hpp).
    bool standby_caught_up() const { return !gate_ || gate_->is_protected(); }

    Status unprotect(const std::string &why);
    // `make_budget`: bytes of history this call may make.
    bool pump(std::chrono::milliseconds lag_limit, std::size_t make_budget);
    bool take_standby_word(const std::string &if_silent);
    // Released: the links close.
    void drop_links();

    int standby_word_fd() const;
    int output_fd() const;
    std::uint64_t links_unread() const;
    int input_held_on() const;
    ReplicationStats stats() const;

private:
    ssize_t read_mirroring(void *buf, std::size_t len);
    ssize_t writev_mirroring(const struct iovec *iov, int iovcnt, std::size_t total);
    ssize_t writev_counted(const struct iovec *iov, int iovcnt);
    std::uint64_t gate_room(std::uint64_t want);
    void record(std::string &history, const void *data, std::size_t len);
    void flush_pending(std::size_t make_budget);
    bool unprotect_said(const std::string &why);
    void back_off(std::chrono::steady_clock::time_point now);
    void end_history();
    void stop_on_link_error(const char *what);

    // Hand-over: what one link has not taken yet: the history, made as the
    // link takes it, then the bytes that passed since the hand-over.
    struct Pending {
        HistoryStream history;
        std::string ready;  // made or passed, sent from `off`
        std::size_t off = 0;
        std::string passed;  // behind the history
        std::size_t waiting() const { return ready.size() - off + passed.size(); }
        std::size_t capacity() const { return ready.capacity() + passed.capacity(); }
        bool empty() const { return history.done() && waiting() == 0; }
        // Gives the buffers back. Assigning a fresh Pending would not: a
        // std::string assigned from a short one keeps its own buffer, and
        // a hand-over during a table load leaves a whole stream's worth in
        // `ready` (29 MiB a session at 1M prefixes, kept for good).
        void clear()
        {
            Pending gone(std::move(*this));
            *this = Pending();
        }
    };

    TapState &state_;
    TapStreams &streams_;
    UniqueFd input_link_, sendlog_link_;
    UniqueFd handover_conn_;  // HandingOver: the standby hears the history's end here
    std::string read_history_, write_history_;  // Recording
    Pending pending_in_, pending_out_;           // HandingOver
    std::chrono::steady_clock::time_point pending_progress_{};
    // The links' unread bytes at the last pump while held (pump()).
    std::uint64_t unread_seen_ = UINT64_MAX;
    std::uint64_t consumed_at_attach_ = 0, written_at_attach_ = 0;
    std::uint64_t logged_ = 0;  // sent-stream bytes on the send-log link
    // Dual-RP: the standby host's confirmations bound what is written
    // (write_gate.hpp). The send-log link's offset of the byte written at
    // streams_.written() is history_sent_ + written() - written_at_attach_.
    std::shared_ptr<WriteGate> gate_;
    std::uint64_t history_sent_ = 0;
    bool gate_waiting_ = false;  // bgpd waits on the gate's descriptor
    BackPressure pressure_;
    std::uint64_t bytes_mirrored_ = 0, bytes_logged_ = 0;  // run on across hand-overs
    std::int64_t protected_after_ms_ = -1;
    std::chrono::steady_clock::time_point attached_at_{};
    // Shadows of this session the standby ended in a row, and when the
    // session may be handed over again.
    unsigned int standby_ends_ = 0;  // failures of the standby in a row (back_off)
    std::chrono::steady_clock::time_point handover_not_before_{};
    bool receive_only_ = false;  // attached without a send log
    // Left unprotected by the session's own I/O (its reason not said yet):
    // the next pump says it, so that it reaches bgpd's log.
    bool unprotected_unsaid_ = false;
};

}  // namespace frr_ha
