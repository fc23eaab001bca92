#include "session_tap.hpp"

#include <fcntl.h>
#include <linux/sockios.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace frr_ha {

namespace {

// How long a new active waits for the rest of a dead active's links.
constexpr int kDrainTimeoutMs = 1000;

// Writes all of `data` to a non-blocking socket, waiting up to the timeout.
bool write_all_waiting(int fd, const std::string &data, int timeout_ms)
{
    std::size_t off = 0;
    while (off < data.size()) {
        ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            off += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return false;
        struct pollfd p = {fd, POLLOUT, 0};
        if (::poll(&p, 1, timeout_ms) <= 0)
            return false;
    }
    return true;
}

// Puts a stand-in under descriptor `fd`: a unix socket whose other end is
// closed, so a write to it fails (EPIPE) and a close or a socket option
// touches nothing but itself. The file `fd` named is no longer referenced
// through `fd`.
bool put_stand_in(int fd, std::string *error)
{
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair) < 0) {
        *error = std::string("stand-in socket: ") + std::strerror(errno);
        return false;
    }
    UniqueFd stand_in(pair[0]), other_end(pair[1]);
    if (::dup3(stand_in.get(), fd, O_CLOEXEC) < 0) {
        *error = std::string("stand-in descriptor: ") + std::strerror(errno);
        return false;
    }
    return true;
}

}  // namespace

const char *tap_mode_name(TapMode mode)
{
    switch (mode) {
    case TapMode::Recording: return "recording";
    case TapMode::HandingOver: return "handing-over";
    case TapMode::Mirroring: return "mirroring";
    case TapMode::Unprotected: return "unprotected";
    case TapMode::Released: return "released";
    case TapMode::Shadow: return "shadow";
    case TapMode::MirrorEnded: return "mirror-ended";
    case TapMode::TakingOver: return "taking-over";
    case TapMode::Live: return "live";
    case TapMode::GracefulEnd: return "graceful-end";
    }
    return "unknown";
}

SessionTap::SessionTap(int fd, UniqueFd input_link, UniqueFd sendlog_link, TcpCountBias bias)
    : fd_(fd), mode_(TapMode::Shadow), input_link_(std::move(input_link)),
      sendlog_link_(std::move(sendlog_link)), bias_(bias)
{
}

void SessionTap::record(std::string &history, const void *data, std::size_t len)
{
    if (mode_ != TapMode::Recording)
        return;
    if (read_history_.size() + write_history_.size() + len > kMaxHistory) {
        unprotect("more than 4 MiB exchanged before the standby took the session");
        return;
    }
    history.append(static_cast<const char *>(data), len);
}

ssize_t SessionTap::read(void *buf, std::size_t len, bool *ended)
{
    switch (mode_) {
    case TapMode::Released:
        errno = EAGAIN;
        return -1;
    case TapMode::GracefulEnd:
        return 0;
    case TapMode::Shadow:
    case TapMode::MirrorEnded:
    case TapMode::TakingOver:
        return read_shadow(buf, len, ended);
    default:
        return read_active(buf, len);
    }
}

ssize_t SessionTap::read_active(void *buf, std::size_t len)
{
    if (mode_ == TapMode::Mirroring)
        return read_mirroring(buf, len);
    ssize_t n = ::read(fd_, buf, len);
    if (n > 0) {
        consumed_ += static_cast<std::uint64_t>(n);
        record(read_history_, buf, static_cast<std::size_t>(n));
        track_input(buf, static_cast<std::size_t>(n));
        if (mode_ == TapMode::HandingOver) {
            pending_in_.append(static_cast<const char *>(buf), static_cast<std::size_t>(n));
            flush_pending();
        }
    }
    return n;
}

// Peek, mirror, consume: a byte leaves the kernel's queue only once the
// standby's link holds it. A full link holds this session's input back.
ssize_t SessionTap::read_mirroring(void *buf, std::size_t len)
{
    ssize_t n = ::recv(fd_, buf, len, MSG_PEEK | MSG_DONTWAIT);
    if (n <= 0)
        return n;
    ssize_t k = ::send(input_link_.get(), buf, static_cast<std::size_t>(n), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        k = 0;
    } else if (k < 0) {
        std::string why = std::string("the standby stopped taking the mirror: ") + std::strerror(errno);
        if (!take_standby_word(why))
            unprotect(why);
        return read_active(buf, len);  // unprotected: a plain read
    }
    stats_.bytes_mirrored += static_cast<std::uint64_t>(k);
    if (k < n)
        hold(&input_held_);
    else
        unhold(&input_held_);
    if (k == 0) {
        errno = EAGAIN;  // bgpd waits for the link (input_held_on)
        return -1;
    }
    ssize_t m = ::recv(fd_, buf, static_cast<std::size_t>(k), MSG_DONTWAIT);
    if (m > 0) {
        consumed_ += static_cast<std::uint64_t>(m);
        track_input(buf, static_cast<std::size_t>(m));
    }
    return m;
}

void SessionTap::hold(bool *direction)
{
    if (!input_held_ && !output_held_) {
        held_since_ = std::chrono::steady_clock::now();
        stats_.backpressure_events++;
    }
    *direction = true;
}

void SessionTap::unhold(bool *direction)
{
    if (!*direction)
        return;
    *direction = false;
    if (input_held_ || output_held_)
        return;
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::now() - held_since_)
                  .count();
    constexpr std::size_t kKept = 1024;
    if (held_history_ms_.size() < kKept)
        held_history_ms_.push_back(static_cast<std::uint32_t>(ms));
    else
        held_history_ms_[held_history_next_++ % kKept] = static_cast<std::uint32_t>(ms);
    stats_.held_max_ms = std::max<std::uint64_t>(stats_.held_max_ms, static_cast<std::uint64_t>(ms));
}

// How much of the mirror a shadow whose gate is closed may take now: the
// rest of the OPEN and KEEPALIVE that start the stream, nothing after.
std::size_t SessionTap::gated_length(std::size_t len)
{
    if (gate_open_)
        return len;
    char head[2 * kBgpMaxMessage + kBgpHeaderSize];
    ssize_t n = ::recv(input_link_.get(), head, sizeof(head), MSG_PEEK | MSG_DONTWAIT);
    if (n <= 0)
        return len;  // nothing (or the end): read() says which
    // Walk the first two messages from the start of the stream.
    const std::size_t taken = pregate_start_.size();
    std::string start = pregate_start_ + std::string(head, static_cast<std::size_t>(n));
    std::size_t end = 0;
    for (int i = 0; i < 2; i++) {
        if (start.size() < end + kBgpHeaderSize)
            return std::min(len, static_cast<std::size_t>(n));
        end += static_cast<std::uint8_t>(start[end + 16]) << 8 | static_cast<std::uint8_t>(start[end + 17]);
    }
    return std::min(len, end > taken ? end - taken : 0);
}

ssize_t SessionTap::read_shadow(void *buf, std::size_t len, bool *ended)
{
    if (mode_ == TapMode::MirrorEnded) {
        errno = EAGAIN;
        return -1;
    }
    len = gated_length(len);
    if (len == 0) {  // the gate: parked until the FSM is Established
        gate_waiting_ = true;
        errno = EAGAIN;
        return -1;
    }
    ssize_t n = ::read(input_link_.get(), buf, len);
    if (n > 0 && !gate_open_)
        pregate_start_.append(static_cast<const char *>(buf), static_cast<std::size_t>(n));
    if (n > 0) {
        mirror_.append(mirror_.end(), static_cast<std::uint64_t>(n));
        track_input(buf, static_cast<std::size_t>(n));
        return n;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return n;
    // The mirror closed: the active died, handed over, or ended the session.
    if (mode_ == TapMode::TakingOver)
        return finish_mirror();
    mode_ = TapMode::MirrorEnded;
    if (ended)
        *ended = true;
    errno = EAGAIN;
    return -1;
}

ssize_t SessionTap::finish_mirror()
{
    std::string error;
    auto pos = tcp_stream_position(socket_fd(), &error);
    std::optional<std::uint64_t> dup;
    if (pos)
        dup = mirror_.duplicates_in_queue(pos->consumed(bias_));
    if (!dup) {
        why_ = pos ? "the old active consumed bytes the mirror never got" : error;
        mode_ = TapMode::Unprotected;
        errno = EPROTO;
        return -1;
    }
    // Bytes the old active mirrored but did not consume are still at the
    // head of the socket's queue: drop them once.
    char scratch[4096];
    for (std::uint64_t left = *dup; left > 0;) {
        ssize_t n = ::recv(socket_fd(), scratch, std::min<std::uint64_t>(left, sizeof(scratch)), MSG_DONTWAIT);
        if (n <= 0) {
            why_ = "the socket lost bytes the mirror holds";
            mode_ = TapMode::Unprotected;
            errno = EPROTO;
            return -1;
        }
        left -= static_cast<std::uint64_t>(n);
    }
    duplicates_dropped_ = *dup;
    consumed_ = mirror_.end();
    input_link_.reset();
    mode_ = TapMode::Live;
    errno = EAGAIN;  // bgpd polls the socket itself from now on
    return -1;
}

ssize_t SessionTap::writev(const struct iovec *iov, int iovcnt)
{
    std::size_t total = 0;
    for (int i = 0; i < iovcnt; i++)
        total += iov[i].iov_len;

    switch (mode_) {
    case TapMode::Released:
        errno = EAGAIN;
        return -1;
    case TapMode::GracefulEnd:
        return static_cast<ssize_t>(total);
    case TapMode::Shadow:
    case TapMode::MirrorEnded:
        // A standby writes nothing to a peer; it notes what it would have.
        for (int i = 0; i < iovcnt; i++)
            shadow_track_.feed(iov[i].iov_base, iov[i].iov_len);
        while (auto msg = shadow_track_.next())
            shadow_sent_.apply(*msg);
        return static_cast<ssize_t>(total);
    case TapMode::Mirroring:
        if (!receive_only_)
            return writev_mirroring(iov, iovcnt, total);
        break;
    default:
        break;
    }
    return writev_plain(iov, iovcnt);
}

// Log, then write: the standby learns each byte before the peer can. The
// peer gets only what the send-log link took; a full link holds this
// session's output back (bgpd waits on output_fd()).
ssize_t SessionTap::writev_mirroring(const struct iovec *iov, int iovcnt, std::size_t total)
{
    std::uint64_t skip = logged_ - written_;  // already logged, not yet written
    for (int i = 0; i < iovcnt; i++) {
        std::size_t take = iov[i].iov_len;
        const char *base = static_cast<const char *>(iov[i].iov_base);
        if (skip >= take) {
            skip -= take;
            continue;
        }
        ssize_t k = ::send(sendlog_link_.get(), base + skip, take - skip, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            k = 0;
        } else if (k < 0) {
            std::string why = std::string("the standby stopped taking the send log: ") + std::strerror(errno);
            if (!take_standby_word(why))
                unprotect(why);
            return writev_plain(iov, iovcnt);
        }
        logged_ += static_cast<std::uint64_t>(k);
        stats_.bytes_logged += static_cast<std::uint64_t>(k);
        if (static_cast<std::size_t>(k) < take - skip) {
            hold(&output_held_);
            break;
        }
        skip = 0;
    }
    std::uint64_t allowed = std::min<std::uint64_t>(total, logged_ - written_);
    if (allowed == total)
        unhold(&output_held_);
    if (allowed == 0) {
        // A NOTIFICATION ends the session: it goes out even if the standby
        // cannot log it (which would otherwise cost the peer its reason).
        if (iovcnt > 0 && iov[0].iov_len >= kBgpHeaderSize &&
            static_cast<const std::uint8_t *>(iov[0].iov_base)[18] ==
                static_cast<std::uint8_t>(BgpType::Notification)) {
            unprotect("the session ends (NOTIFICATION) while the standby lags");
            return writev_plain(iov, iovcnt);
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
    return writev_plain(part, parts);
}

ssize_t SessionTap::writev_plain(const struct iovec *iov, int iovcnt)
{
    ssize_t n = ::writev(fd_, iov, iovcnt);
    if (n <= 0)
        return n;
    written_ += static_cast<std::uint64_t>(n);
    track_output(iov, iovcnt, static_cast<std::size_t>(n));
    if (mode_ == TapMode::Recording || mode_ == TapMode::HandingOver) {
        std::size_t left = static_cast<std::size_t>(n);
        for (int i = 0; i < iovcnt && left > 0; i++) {
            std::size_t take = std::min(left, iov[i].iov_len);
            record(write_history_, iov[i].iov_base, take);
            if (mode_ == TapMode::HandingOver && !receive_only_)
                pending_out_.append(static_cast<const char *>(iov[i].iov_base), take);
            left -= take;
        }
        if (mode_ == TapMode::HandingOver)
            flush_pending();
    }
    return n;
}

int SessionTap::input_fd(int parked) const
{
    switch (mode_) {
    case TapMode::Shadow:
        return gate_waiting_ && !gate_open_ ? parked : input_link_.get();
    case TapMode::TakingOver:
        return input_link_.get();
    case TapMode::MirrorEnded:
        return parked;
    case TapMode::GracefulEnd:
        return always_readable_.get();
    default:
        return fd_;
    }
}

void SessionTap::track_input(const void *data, std::size_t len)
{
    if (!following_ || !in_rib_.usable())
        return;
    in_track_.feed(data, len);
    while (auto msg = in_track_.next())
        in_rib_.apply(*msg);
}

void SessionTap::track_output(const struct iovec *iov, int iovcnt, std::size_t len)
{
    if (!following_)
        return;
    for (int i = 0; i < iovcnt && len > 0; i++) {
        std::size_t take = std::min(len, iov[i].iov_len);
        out_track_.feed(iov[i].iov_base, take);
        len -= take;
    }
    while (auto msg = out_track_.next()) {
        track_sendlog(*msg);
        out_rib_.apply(*msg);
        if (difference_pending_)  // this RP's FSM sent it, after the takeover
            shadow_sent_.apply(*msg);
    }
}

std::vector<std::string> SessionTap::take_takeover_messages()
{
    if (!difference_pending_)
        return {};
    difference_pending_ = false;
    std::vector<std::string> messages;
    if (!out_rib_.usable() || !shadow_sent_.usable()) {
        takeover_diff_problem_ = out_rib_.usable() ? shadow_sent_.why() : out_rib_.why();
    } else {
        messages = out_rib_.diff_to(shadow_sent_, max_message_);
        takeover_diff_messages_ = messages.size();
    }
    shadow_sent_ = StreamRib();
    return messages;
}

void SessionTap::track_sendlog(const std::string &message)
{
    if (out_open_.empty() && message.size() > kBgpHeaderSize &&
        static_cast<BgpType>(message[18]) == BgpType::Open)
        out_open_ = message;
}

std::string SessionTap::why_not_attachable() const
{
    switch (mode_) {
    case TapMode::Recording:
        return {};
    case TapMode::Unprotected:
        if (auto now = std::chrono::steady_clock::now(); now < handover_not_before_) {
            auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(handover_not_before_ - now);
            return why_ + " (handed over again in " + std::to_string(ms.count()) + " ms)";
        }
        break;
    case TapMode::Live:
        break;
    default:
        return std::string("session is ") + tap_mode_name(mode_);
    }
    if (!following_)
        return "the session's streams were not followed: " + why_;
    if (!in_rib_.usable())
        return in_rib_.why();
    if (in_rib_.open().empty() || out_open_.empty())
        return "the session's OPEN messages were not seen";
    if (in_track_.broken() || out_track_.broken())
        return "the session's streams could not be followed";
    return {};
}

bool SessionTap::history_from_streams(std::string *in, std::string *out, std::string *error) const
{
    auto updates = in_rib_.replay(max_message_);
    if (updates.empty() && in_rib_.prefixes() > 0) {
        *error = "a route's attributes do not fit in a message";
        return false;
    }
    std::size_t size = 0;
    for (const auto &u : updates)
        size += u.size();
    in->reserve(size + 4096 + in_track_.partial_bytes().size());
    in->assign(in_rib_.open());
    *in += bgp_keepalive();
    for (const auto &u : updates)
        *in += u;
    *in += in_track_.partial_bytes();
    auto held = out_rib_.replay(max_message_);
    if (held.empty() && out_rib_.prefixes() > 0) {
        *error = "a route's attributes do not fit in a message";
        return false;
    }
    size = 0;
    for (const auto &m : held)
        size += m.size();
    out->reserve(size + 4096 + out_track_.partial_bytes().size());
    out->assign(out_open_);
    *out += bgp_keepalive();
    for (const auto &m : held)
        *out += m;
    *out += out_track_.partial_bytes();
    return true;
}

bool SessionTap::attach(UniqueFd input_link, UniqueFd sendlog_link, TcpCountBias *bias,
                        std::string *error, bool receive_only)
{
    *error = why_not_attachable();
    if (!error->empty())
        return false;
    std::string in_history, out_history;
    if (mode_ == TapMode::Recording) {
        in_history.swap(read_history_);
        out_history.swap(write_history_);
    } else if (!history_from_streams(&in_history, &out_history, error)) {
        return false;
    }
    auto pos = tcp_stream_position(fd_, error);
    if (!pos)
        return false;
    // The standby counts the streams from the start of the history.
    *bias = calibrate(*pos, out_history.size(), in_history.size());
    // The history streams into the links from now on, without blocking:
    // the caller passes the descriptors first (any size of history).
    input_link_ = std::move(input_link);
    sendlog_link_ = std::move(sendlog_link);
    pending_in_ = std::move(in_history);
    pending_out_ = std::move(out_history);
    pending_in_off_ = pending_out_off_ = 0;
    receive_only_ = receive_only;
    input_held_ = output_held_ = false;
    stats_.protected_after_ms = -1;  // the counters run on across hand-overs
    attached_at_ = pending_progress_ = std::chrono::steady_clock::now();
    std::string().swap(read_history_);
    std::string().swap(write_history_);
    why_.clear();
    mode_ = TapMode::HandingOver;
    flush_pending();
    return true;
}

void SessionTap::unprotect(const std::string &why)
{
    why_ = why;  // the latest reason, also for a session already unprotected
    if (mode_ == TapMode::Unprotected)
        return;
    mode_ = TapMode::Unprotected;
    input_link_.reset();
    sendlog_link_.reset();
    std::string().swap(read_history_);
    std::string().swap(write_history_);
    std::string().swap(pending_in_);
    std::string().swap(pending_out_);
    pending_in_off_ = pending_out_off_ = 0;
    input_held_ = output_held_ = false;
}

// Hand-over: moves the history (and what passed since) into the links as
// far as they take it now; protected once both hold it all.
void SessionTap::flush_pending()
{
    struct Stream {
        UniqueFd &link;
        std::string &pending;
        std::size_t &off;
        std::uint64_t &counted;
    } streams[] = {{input_link_, pending_in_, pending_in_off_, stats_.bytes_mirrored},
                   {sendlog_link_, pending_out_, pending_out_off_, stats_.bytes_logged}};
    auto now = std::chrono::steady_clock::now();
    for (auto &st : streams) {
        while (st.link && st.off < st.pending.size()) {
            ssize_t k = ::send(st.link.get(), st.pending.data() + st.off, st.pending.size() - st.off,
                               MSG_DONTWAIT | MSG_NOSIGNAL);
            if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
                break;
            if (k < 0) {
                std::string why = std::string("the standby stopped taking the hand-over: ") +
                                  std::strerror(errno);
                if (!take_standby_word(why))
                    unprotect(why);
                return;
            }
            st.off += static_cast<std::size_t>(k);
            st.counted += static_cast<std::uint64_t>(k);
            pending_progress_ = now;
        }
        if (st.off == st.pending.size()) {
            std::string().swap(st.pending);
            st.off = 0;
        }
    }
    if (receive_only_ && sendlog_link_ && pending_out_.empty())
        sendlog_link_.reset();  // history sent: the standby reads its end
    if (pending_in_.size() + pending_out_.size() > kMaxPendingHandover) {
        unprotect("the standby did not take the hand-over's history (more than 512 MiB waiting)");
        return;
    }
    if (!pending_in_.empty() || !pending_out_.empty())
        return;
    logged_ = written_;
    stats_.protected_after_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(now - attached_at_).count();
    mode_ = TapMode::Mirroring;
}

bool SessionTap::pump(std::chrono::milliseconds lag_limit)
{
    auto now = std::chrono::steady_clock::now();
    if (mode_ == TapMode::HandingOver) {
        flush_pending();
        // A standby that takes nothing of the history for that long is not
        // going to protect the session soon.
        if (mode_ == TapMode::HandingOver && now - pending_progress_ > 10 * lag_limit) {
            unprotect("standby lagging: it took nothing of the hand-over for " +
                      std::to_string((10 * lag_limit).count()) + " ms");
            return true;
        }
        return false;
    }
    if (mode_ != TapMode::Mirroring || (!input_held_ && !output_held_))
        return false;
    auto held = std::chrono::duration_cast<std::chrono::milliseconds>(now - held_since_);
    if (held <= lag_limit)
        return false;
    unprotect("standby lagging: its links took nothing for " + std::to_string(held.count()) + " ms");
    handover_not_before_ = now + std::chrono::seconds(1);
    return true;
}

SessionTap::ReplicationStats SessionTap::replication_stats() const
{
    ReplicationStats out = stats_;
    int queued = 0;
    for (const UniqueFd *link : {&input_link_, &sendlog_link_})
        if (*link && ::ioctl(link->get(), SIOCOUTQ, &queued) == 0 && queued > 0)
            out.lag_bytes += static_cast<std::uint64_t>(queued);
    out.pending_bytes = (pending_in_.size() - pending_in_off_) + (pending_out_.size() - pending_out_off_);
    if (input_held_ || output_held_)
        out.held_ms = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                     std::chrono::steady_clock::now() - held_since_)
                                                     .count());
    if (!held_history_ms_.empty()) {
        std::vector<std::uint32_t> sorted = held_history_ms_;
        std::sort(sorted.begin(), sorted.end());
        out.held_p50_ms = sorted[sorted.size() / 2];
        out.held_p99_ms = sorted[std::min(sorted.size() - 1, sorted.size() * 99 / 100)];
    }
    return out;
}

bool SessionTap::take_standby_word(const std::string &if_silent)
{
    if (mode_ != TapMode::Mirroring && mode_ != TapMode::HandingOver)
        return false;
    char text[512];
    ssize_t n = ::recv(input_link_.get(), text, sizeof(text), MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return false;
    if (n <= 0) {  // gone without a word: a standby that died or restarted
        unprotect(if_silent);
        return true;
    }
    std::string why = "the standby ended its shadow: " + std::string(text, static_cast<std::size_t>(n));
    auto now = std::chrono::steady_clock::now();
    if (now - attached_at_ > std::chrono::minutes(1))
        standby_ends_ = 0;  // a long protection since: start the back-off anew
    standby_ends_++;
    auto backoff = std::min<std::chrono::milliseconds>(
        kMaxHandoverBackoff, std::chrono::milliseconds(1000L << std::min(standby_ends_ - 1, 5u)));
    handover_not_before_ = now + backoff;
    unprotect(why);
    return true;
}

void SessionTap::exclude(const std::string &why)
{
    unprotect(why);
    following_ = false;
    in_rib_ = StreamRib();
    out_rib_ = StreamRib();
    in_track_ = BgpStreamFramer(kBgpMaxExtendedMessage);
    out_track_ = BgpStreamFramer(kBgpMaxExtendedMessage);
}

void SessionTap::end_for_graceful_restart()
{
    mode_ = TapMode::GracefulEnd;
    input_link_.reset();
    sendlog_link_.reset();
    live_.reset();  // the peer sees the close once no RP holds its socket
    always_readable_ = UniqueFd(::eventfd(1, EFD_NONBLOCK | EFD_CLOEXEC));
}

void SessionTap::release()
{
    mode_ = TapMode::Released;
    input_link_.reset();
    sendlog_link_.reset();
    // From now on this RP holds no reference to the peer's socket: whatever
    // bgpd does with the session until it exits stays here.
    std::string error;
    if (!live_)
        put_stand_in(fd_, &error);
    live_.reset();
}

bool SessionTap::isolate(std::string *error)
{
    if (mode_ != TapMode::Shadow || live_)
        return static_cast<bool>(live_);
    UniqueFd live(::fcntl(fd_, F_DUPFD_CLOEXEC, 0));
    if (!live) {
        *error = std::string("holding the peer's socket: ") + std::strerror(errno);
        return false;
    }
    if (!put_stand_in(fd_, error))
        return false;
    live_ = std::move(live);
    return true;
}

void SessionTap::tell_active_shadow_ended(const std::string &why)
{
    if (input_link_)
        ::send(input_link_.get(), why.data(), std::min<std::size_t>(why.size(), 500),
               MSG_DONTWAIT | MSG_NOSIGNAL);
    input_link_.reset();
    sendlog_link_.reset();
    live_.reset();
}

bool SessionTap::drain_sendlog(bool to_eof, std::string *error)
{
    int link = sendlog_link_.get();
    if (link < 0)
        return true;  // read to its end already
    char buf[65536];
    for (;;) {
        ssize_t n = ::recv(link, buf, sizeof(buf), MSG_DONTWAIT);
        if (n > 0) {
            out_framer_.feed(buf, static_cast<std::size_t>(n));
            while (auto msg = out_framer_.next()) {
                std::uint64_t at = out_framer_.boundary() - msg->size();
                track_sendlog(*msg);
                send_log_.append(at, std::move(*msg));
            }
            continue;
        }
        if (n == 0) {
            sendlog_link_.reset();
            return true;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            *error = std::string("send log: ") + std::strerror(errno);
            return false;
        }
        if (!to_eof)
            break;
        struct pollfd p = {link, POLLIN, 0};
        if (::poll(&p, 1, kDrainTimeoutMs) <= 0) {
            *error = "the old active's send log did not close";
            return false;
        }
    }
    // What the peer acknowledged, it holds; the log forgets it.
    if (auto pos = tcp_stream_position(socket_fd()))
        for (const auto &m : send_log_.take_until(pos->acked - bias_.acked))
            out_rib_.apply(m);
    return true;
}

bool SessionTap::take_over(std::string *error)
{
    if (mode_ != TapMode::Shadow && mode_ != TapMode::MirrorEnded) {
        *error = std::string("not a shadow (") + tap_mode_name(mode_) + ")";
        return false;
    }
    if (!drain_sendlog(true, error))
        return false;
    // Without both records the peer could keep routes this RP no longer
    // has: such a session is not continued (docs/transparent-failover.md).
    if (!out_rib_.usable() || !shadow_sent_.usable()) {
        *error = "the difference cannot be computed: " +
                 (out_rib_.usable() ? shadow_sent_.why() : out_rib_.why());
        return false;
    }
    auto pos = tcp_stream_position(socket_fd(), error);
    if (!pos)
        return false;
    auto resume = send_log_.resume(pos->written(bias_));
    if (!resume) {
        *error = "the send log does not cover what the old active wrote";
        return false;
    }
    // A message the old active wrote in part is finished byte for byte.
    if (!write_all_waiting(socket_fd(), resume->complete, kDrainTimeoutMs)) {
        *error = std::string("completing a half-written message: ") + std::strerror(errno);
        return false;
    }
    completed_bytes_ = resume->complete.size();
    unsent_messages_ = resume->unwritten;
    written_ = resume->boundary;
    // The peer holds what was written; bring it to what this RP's FSM
    // believes it sent, and not one prefix more.
    for (const auto &m : send_log_.take_until(resume->boundary))
        out_rib_.apply(m);
    // bgpd's descriptor names the peer's socket again.
    if (live_) {
        if (::dup3(live_.get(), fd_, O_CLOEXEC) < 0) {
            *error = std::string("taking the peer's socket back: ") + std::strerror(errno);
            return false;
        }
        live_.reset();
    }
    difference_pending_ = true;
    send_log_ = SendLog(written_);
    open_gate();
    mode_ = TapMode::TakingOver;
    return true;
}

}  // namespace frr_ha
