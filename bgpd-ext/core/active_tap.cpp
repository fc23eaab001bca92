#include "active_tap.hpp"

#include "handover_messages.hpp"

#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

namespace frr_ha {

namespace {

bool would_block(int err) { return err == EAGAIN || err == EWOULDBLOCK || err == EINTR; }

// How many lag limits a standby that takes part (slower than the session,
// or taking a hand-over's history) may pace a session before it lags.
constexpr int kPacedLimits = 10;

}  // namespace

void ActiveTap::record(std::string &history, const void *data, std::size_t len)
{
    if (state_.mode() != TapMode::Recording)
        return;
    if (read_history_.size() + write_history_.size() + len > kMaxHistory) {
        unprotect("more than 4 MiB exchanged before the standby took the session");
        return;
    }
    history.append(static_cast<const char *>(data), len);
}

ssize_t ActiveTap::read(void *buf, std::size_t len)
{
    if (state_.mode() == TapMode::Mirroring)
        return read_mirroring(buf, len);
    ssize_t n = streams_.read_plain(buf, len);
    if (n > 0) {
        record(read_history_, buf, static_cast<std::size_t>(n));
        if (state_.mode() == TapMode::HandingOver) {
            pending_in_.passed.append(static_cast<const char *>(buf), static_cast<std::size_t>(n));
            flush_pending(kHistoryPart);
        }
    }
    return n;
}

// The standby's end of a link failed: it may have said why first.
void ActiveTap::stop_on_link_error(const char *what)
{
    std::string why = std::string("the standby stopped taking the ") + what + ": " + std::strerror(errno);
    if (!take_standby_word(why))
        unprotect(why);
    // Found on bgpd's I/O path, whose caller (the lag check) says it and
    // moves the session's other wait, which may be on a link or the gate
    // now gone, back to the socket: left unsaid for it.
    unprotected_unsaid_ = true;
}

// Peek, mirror, consume: a byte leaves the kernel's queue only once the
// standby's link holds it. A full link holds this session's input back.
ssize_t ActiveTap::read_mirroring(void *buf, std::size_t len)
{
    ssize_t n = ::recv(streams_.fd(), buf, len, MSG_PEEK | MSG_DONTWAIT);
    if (n <= 0)
        return n;
    ssize_t k = ::send(input_link_.get(), buf, static_cast<std::size_t>(n), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (k < 0 && would_block(errno)) {
        k = 0;
    } else if (k < 0) {
        stop_on_link_error("mirror");
        return streams_.read_plain(buf, len);  // unprotected: a plain read
    }
    bytes_mirrored_ += static_cast<std::uint64_t>(k);
    if (k < n)
        pressure_.hold(BackPressure::Side::Input);
    else
        pressure_.release(BackPressure::Side::Input);
    if (k > 0)
        pressure_.progressed();
    if (k == 0) {
        errno = EAGAIN;  // bgpd waits for the link (input_held_on)
        return -1;
    }
    ssize_t m = ::recv(streams_.fd(), buf, static_cast<std::size_t>(k), MSG_DONTWAIT);
    if (m > 0)
        streams_.took(buf, static_cast<std::size_t>(m));
    return m;
}

ssize_t ActiveTap::writev(const struct iovec *iov, int iovcnt, std::size_t total)
{
    if (state_.mode() == TapMode::Mirroring && !receive_only_)
        return writev_mirroring(iov, iovcnt, total);
    return writev_counted(iov, iovcnt);
}

// Log, then write: the standby learns each byte before the peer can. The
// peer gets only what the send-log link took; a full link holds this
// session's output back (bgpd waits on output_fd()).
ssize_t ActiveTap::writev_mirroring(const struct iovec *iov, int iovcnt, std::size_t total)
{
    std::uint64_t skip = logged_ - streams_.written();  // already logged, not yet written
    for (int i = 0; i < iovcnt; i++) {
        std::size_t take = iov[i].iov_len;
        const char *base = static_cast<const char *>(iov[i].iov_base);
        if (skip >= take) {
            skip -= take;
            continue;
        }
        ssize_t k = ::send(sendlog_link_.get(), base + skip, take - skip, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (k < 0 && would_block(errno)) {
            k = 0;
        } else if (k < 0) {
            stop_on_link_error("send log");
            return writev_counted(iov, iovcnt);
        }
        logged_ += static_cast<std::uint64_t>(k);
        bytes_logged_ += static_cast<std::uint64_t>(k);
        if (static_cast<std::size_t>(k) < take - skip) {
            pressure_.hold(BackPressure::Side::Output);
            break;
        }
        skip = 0;
    }
    std::uint64_t allowed = std::min<std::uint64_t>(total, logged_ - streams_.written());
    gate_waiting_ = false;
    if (gate_ && allowed > 0) {
        std::uint64_t room = gate_room(allowed);
        if (room < allowed) {
            allowed = room;
            pressure_.hold(BackPressure::Side::Output);
            gate_waiting_ = room == 0;
        }
    }
    if (allowed == total)
        pressure_.release(BackPressure::Side::Output);
    if (allowed > 0)
        pressure_.progressed();
    if (allowed == 0) {
        // A NOTIFICATION ends the session: it goes out even if the standby
        // cannot log it (which would otherwise cost the peer its reason).
        if (iovcnt > 0 && iov[0].iov_len >= kBgpHeaderSize &&
            static_cast<const std::uint8_t *>(iov[0].iov_base)[18] ==
                static_cast<std::uint8_t>(BgpType::Notification)) {
            unprotect("the session ends (NOTIFICATION) while the standby lags");
            return writev_counted(iov, iovcnt);
        }
        errno = EAGAIN;
        return -1;
    }
    // The first `allowed` bytes of iov.
    struct iovec part[64];
    int parts = 0;
    for (int i = 0; i < iovcnt && allowed > 0 && parts < 64; i++) {
        std::size_t take = std::min<std::uint64_t>(allowed, iov[i].iov_len);
        part[parts++] = {iov[i].iov_base, take};
        allowed -= take;
    }
    return writev_counted(part, parts);
}

// Bytes the gate lets through from streams_.written(), at most `want`; 0
// when the session must wait for the standby's next confirmation (bgpd then
// waits on the gate's descriptor, which an advance makes writable). While
// the standby host catches up, all of them.
std::uint64_t ActiveTap::gate_room(std::uint64_t want)
{
    std::uint64_t at = history_sent_ + (streams_.written() - written_at_attach_);
    if (gate_->pass_ungated(at + want))
        return want;
    std::uint64_t limit = gate_->limit();
    if (limit > at)
        return limit - at;
    if (!gate_->wait_past(at))
        return gate_->limit() - at;
    return 0;
}

// A plain write, kept in the history while there is one to keep.
ssize_t ActiveTap::writev_counted(const struct iovec *iov, int iovcnt)
{
    ssize_t n = streams_.writev_plain(iov, iovcnt);
    if (n <= 0)
        return n;
    TapMode mode = state_.mode();
    if (mode != TapMode::Recording && mode != TapMode::HandingOver)
        return n;
    std::size_t left = static_cast<std::size_t>(n);
    for (int i = 0; i < iovcnt && left > 0; i++) {
        std::size_t take = std::min(left, iov[i].iov_len);
        record(write_history_, iov[i].iov_base, take);
        if (mode == TapMode::HandingOver && !receive_only_)
            pending_out_.passed.append(static_cast<const char *>(iov[i].iov_base), take);
        left -= take;
    }
    if (mode == TapMode::HandingOver)
        flush_pending(kHistoryPart);
    return n;
}

Status ActiveTap::backoff_over() const
{
    auto now = std::chrono::steady_clock::now();
    if (now >= handover_not_before_)
        return Status::ok();
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(handover_not_before_ - now);
    return Status::fail(state_.why_unprotected() + " (handed over again in " +
                        std::to_string(ms.count()) + " ms)");
}

TapStreams::History ActiveTap::take_recorded()
{
    TapStreams::History h;
    h.in = HistoryStream::of_bytes(std::move(read_history_));
    h.out = HistoryStream::of_bytes(std::move(write_history_));
    std::string().swap(read_history_);
    std::string().swap(write_history_);
    return h;
}

Status ActiveTap::attach(TapStreams::History history, UniqueFd input_link, UniqueFd sendlog_link,
                         UniqueFd handover_conn, bool receive_only, std::shared_ptr<WriteGate> gate)
{
    if (Status entered = state_.enter(TapMode::HandingOver); !entered)
        return entered;
    // The history streams into the links from now on, without blocking:
    // the caller passed the descriptors first (any size of history).
    input_link_ = std::move(input_link);
    sendlog_link_ = std::move(sendlog_link);
    handover_conn_ = std::move(handover_conn);
    pending_in_.clear();
    pending_in_.history = std::move(history.in);
    pending_out_.clear();
    pending_out_.history = std::move(history.out);
    consumed_at_attach_ = streams_.consumed();
    written_at_attach_ = streams_.written();
    receive_only_ = receive_only;
    gate_ = std::move(gate);
    gate_waiting_ = false;
    pressure_.forget();
    protected_after_ms_ = -1;  // the counters run on across hand-overs
    attached_at_ = pending_progress_ = std::chrono::steady_clock::now();
    std::string().swap(read_history_);
    std::string().swap(write_history_);
    flush_pending(kHistoryPart);
    return Status::ok();
}

Status ActiveTap::unprotect(const std::string &why)
{
    Status entered = state_.enter(TapMode::Unprotected, why);
    if (!entered)
        return entered;
    unprotected_unsaid_ = true;
    input_link_.reset();
    sendlog_link_.reset();
    handover_conn_.reset();
    gate_.reset();
    gate_waiting_ = false;
    std::string().swap(read_history_);
    std::string().swap(write_history_);
    pending_in_.clear();
    pending_out_.clear();
    pressure_.forget();
    return entered;
}

// Hand-over: moves the history (made as the link takes it), then what
// passed since, into the links as far as they take it now, making at most
// `make_budget` bytes of history; protected once both hold it all.
void ActiveTap::flush_pending(std::size_t make_budget)
{
    struct Stream {
        UniqueFd &link;
        Pending &pending;
        std::uint64_t &counted;
    } streams[] = {{input_link_, pending_in_, bytes_mirrored_},
                   {sendlog_link_, pending_out_, bytes_logged_}};
    auto now = std::chrono::steady_clock::now();
    std::size_t made = 0;
    for (auto &st : streams) {
        Pending &p = st.pending;
        while (st.link) {
            if (p.off == p.ready.size()) {
                p.ready.clear();
                p.off = 0;
                if (!p.history.done()) {
                    if (made >= make_budget)
                        break;
                    std::uint64_t before = p.history.made();
                    if (Status next = p.history.next(p.ready, kHistoryPart); !next) {
                        unprotect("the hand-over's history cannot be made: " + next.why());
                        return;
                    }
                    made += p.history.made() - before;
                    continue;
                }
                if (p.passed.empty())
                    break;
                p.ready.swap(p.passed);
            }
            ssize_t k = ::send(st.link.get(), p.ready.data() + p.off, p.ready.size() - p.off,
                               MSG_DONTWAIT | MSG_NOSIGNAL);
            if (k < 0 && would_block(errno))
                break;
            if (k < 0) {
                stop_on_link_error("hand-over");
                return;
            }
            p.off += static_cast<std::size_t>(k);
            st.counted += static_cast<std::uint64_t>(k);
            pending_progress_ = now;
        }
    }
    if (receive_only_ && sendlog_link_ && pending_out_.history.done() && pending_out_.waiting() == 0)
        sendlog_link_.reset();  // history sent: the standby reads its end
    if (pending_in_.waiting() + pending_out_.waiting() > kMaxPendingHandover) {
        unprotect("the standby did not take the hand-over's history (more than 512 MiB waiting)");
        return;
    }
    if (!pending_in_.empty() || !pending_out_.empty())
        return;
    end_history();
}

// The links hold the whole history and what passed since: the standby
// learns how the kernel's counters relate to the streams it counts from
// the history's first byte, measured now (this is the session's only
// reader and writer), and the session is protected.
void ActiveTap::end_history()
{
    std::string error;
    auto pos = tcp_stream_position(streams_.fd(), &error);
    if (!pos) {
        unprotect("the hand-over's end: " + error);
        return;
    }
    HistoryEnd end;
    end.history_received_bytes = pending_in_.history.made();
    end.history_sent_bytes = pending_out_.history.made();
    end.bias = calibrate(*pos, end.history_sent_bytes + (streams_.written() - written_at_attach_),
                         end.history_received_bytes + (streams_.consumed() - consumed_at_attach_));
    // What passed during the hand-over went to the peer unconfirmed: a gate
    // that engages later must count it, so before the history's end is told
    // (the relay engages the gate only after that).
    if (gate_ && !receive_only_)
        (void)gate_->pass_ungated(end.history_sent_bytes +
                                  (streams_.written() - written_at_attach_));
    if (Status told = send_history_end(handover_conn_.get(), end); !told) {
        unprotect("the standby's hand-over connection: " + told.why());
        return;
    }
    handover_conn_.reset();
    pending_in_.clear();
    pending_out_.clear();
    logged_ = streams_.written();
    history_sent_ = end.history_sent_bytes;
    protected_after_ms_ =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - attached_at_)
            .count();
    state_.enter(TapMode::Mirroring);  // only from HandingOver, which is where this runs
}

// What the links hold that the standby has not read (the kernel's count,
// buffers included).
std::uint64_t ActiveTap::links_unread() const
{
    std::uint64_t unread = 0;
    int queued = 0;
    for (const UniqueFd *link : {&input_link_, &sendlog_link_})
        if (*link && ::ioctl(link->get(), SIOCOUTQ, &queued) == 0 && queued > 0)
            unread += static_cast<std::uint64_t>(queued);
    return unread;
}

bool ActiveTap::pump(std::chrono::milliseconds lag_limit, std::size_t make_budget)
{
    auto now = std::chrono::steady_clock::now();
    if (state_.mode() == TapMode::HandingOver) {
        flush_pending(make_budget);
        // A standby that takes nothing of the history for that long is not
        // going to protect the session soon.
        if (state_.mode() == TapMode::HandingOver && now - pending_progress_ > kPacedLimits * lag_limit) {
            back_off(now);
            return unprotect_said("standby lagging: it took nothing of the hand-over for " +
                                  std::to_string((kPacedLimits * lag_limit).count()) + " ms");
        }
    }
    if (state_.mode() == TapMode::Unprotected)
        return std::exchange(unprotected_unsaid_, false);
    if (state_.mode() != TapMode::Mirroring || !pressure_.any())
        return false;
    // Cut from a standby host that may be taking over: no lag limit.
    if (gate_ && gate_->sealed())
        return false;
    // What the standby takes, seen on the links themselves: this session's
    // own I/O is woken only once a full link has drained to a quarter (the
    // kernel's writability of a unix socket), so a standby that reads it
    // part by part, slower than the session, looked like one that takes
    // nothing (at 10 x 1M: ten sessions unprotected at once, 1.8 of 4 MB
    // unread).
    const std::uint64_t unread = links_unread();
    if (unread < unread_seen_)
        pressure_.progressed();
    unread_seen_ = unread;
    // A standby that takes nothing (stopped, its reader stuck) holds the
    // session still: the lag limit. One that takes part, slower than the
    // session, only paces it (its peer keeps getting bytes, so no hold timer
    // runs out): ten times that, as for a hand-over's history, before the
    // session goes on unprotected and at full speed. A standby busy with a
    // full table is the second kind; handing it every session again, the
    // whole history each time, only made it slower.
    auto ms = [](auto d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d); };
    auto stalled = ms(pressure_.stalled_for()), held = ms(pressure_.held_for());
    std::string why;
    if (stalled > lag_limit)
        why = "standby lagging: its links took nothing for " + std::to_string(stalled.count()) +
              " ms (" + std::to_string(unread) + " bytes unread)";
    else if (held > kPacedLimits * lag_limit)
        why = "standby lagging: its links were full for " + std::to_string(held.count()) +
              " ms, the standby slower than the session";
    else
        return false;
    back_off(now);
    return unprotect_said(why);
}

// The standby failed this session again: the next hand-over waits 1 s,
// doubling with each failure up to kMaxHandoverBackoff, so a standby that
// cannot keep up (a big table on a busy host) is not handed the whole
// history again every second, which would keep it from ever catching up.
void ActiveTap::back_off(std::chrono::steady_clock::time_point now)
{
    if (now - attached_at_ > std::chrono::minutes(1))
        standby_ends_ = 0;  // a long protection since: start the back-off anew
    standby_ends_++;
    handover_not_before_ =
        now + std::min<std::chrono::milliseconds>(
                  kMaxHandoverBackoff, std::chrono::milliseconds(1000L << std::min(standby_ends_ - 1, 5u)));
}

// Unprotected, with the caller saying why (so the pump does not again).
bool ActiveTap::unprotect_said(const std::string &why)
{
    unprotect(why);
    unprotected_unsaid_ = false;
    return true;
}

bool ActiveTap::take_standby_word(const std::string &if_silent)
{
    if (state_.mode() != TapMode::Mirroring && state_.mode() != TapMode::HandingOver)
        return false;
    char text[kStandbyWordMax];
    ssize_t n = ::recv(input_link_.get(), text, sizeof(text), MSG_DONTWAIT);
    if (n < 0 && would_block(errno))
        return false;
    if (n <= 0)  // gone without a word: a standby that died or restarted
        return unprotect_said(if_silent);
    std::string why = "the standby ended its shadow: " + std::string(text, static_cast<std::size_t>(n));
    back_off(std::chrono::steady_clock::now());
    return unprotect_said(why);
}

void ActiveTap::drop_links()
{
    input_link_.reset();
    sendlog_link_.reset();
}

int ActiveTap::standby_word_fd() const
{
    TapMode mode = state_.mode();
    return mode == TapMode::Mirroring || mode == TapMode::HandingOver ? input_link_.get() : -1;
}

int ActiveTap::output_fd() const
{
    if (gate_waiting_ && state_.mode() == TapMode::Mirroring)
        return gate_->wait_fd();
    return pressure_.held(BackPressure::Side::Output) && state_.mode() == TapMode::Mirroring
               ? sendlog_link_.get()
               : streams_.fd();
}

int ActiveTap::input_held_on() const
{
    return pressure_.held(BackPressure::Side::Input) && state_.mode() == TapMode::Mirroring
               ? input_link_.get()
               : -1;
}

ReplicationStats ActiveTap::stats() const
{
    ReplicationStats out;
    out.bytes_mirrored = bytes_mirrored_;
    out.bytes_logged = bytes_logged_;
    out.backpressure_events = pressure_.events();
    out.protected_after_ms = protected_after_ms_;
    // Across hosts a session that caught up first is protected only later.
    if (gate_ && !gate_->is_protected())
        out.protected_after_ms = -1;
    else if (auto at = gate_ ? gate_->protected_at() : std::nullopt)
        out.protected_after_ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(*at - attached_at_).count();
    out.lag_bytes = links_unread();
    out.pending_bytes = pending_in_.waiting() + pending_out_.waiting();
    out.pending_capacity = pending_in_.capacity() + pending_out_.capacity();
    out.history_bytes = pending_in_.history.made() + pending_out_.history.made();
    out.held_ms = pressure_.held_ms();
    out.held_p50_ms = pressure_.percentile_ms(50);
    out.held_p99_ms = pressure_.percentile_ms(99);
    out.held_max_ms = pressure_.max_ms();
    return out;
}

}  // namespace frr_ha
