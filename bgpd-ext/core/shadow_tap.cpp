#include "shadow_tap.hpp"

#include <fcntl.h>
#include <poll.h>
#include <linux/sockios.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include "handover_messages.hpp"
#include "stand_in.hpp"

namespace frr_ha {

namespace {

// How long a new active waits for the rest of a dead active's links.
constexpr int kDrainTimeoutMs = 1000;
// What one read of a send log takes at most while the active writes it.
// One pthread reads every link in turn, and what a read takes goes into the
// standby's records at once, slowly at a full table: with 1 MiB a read, ten
// links each waited for the nine others past the lag limit (500 ms).
constexpr std::size_t kSendLogReadBudget = 128 << 10;

bool would_block(int err) { return err == EAGAIN || err == EWOULDBLOCK || err == EINTR; }

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
        if (n < 0 && !would_block(errno))
            return false;
        struct pollfd p = {fd, POLLOUT, 0};
        if (::poll(&p, 1, timeout_ms) <= 0)
            return false;
    }
    return true;
}

}  // namespace

ShadowTap::ShadowTap(TapState &state, TapStreams &streams, UniqueFd input_link,
                     UniqueFd sendlog_link, std::optional<TcpCountBias> bias)
    : state_(state), streams_(streams), input_link_(std::move(input_link)),
      sendlog_link_(std::move(sendlog_link)), bias_(bias)
{
}

// How much of the mirror a shadow whose gate is closed may take now: the
// rest of the OPEN and KEEPALIVE that start the stream, nothing after.
std::size_t ShadowTap::gated_length(std::size_t len)
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

ssize_t ShadowTap::read(void *buf, std::size_t len, bool *ended)
{
    if (state_.mode() == TapMode::MirrorEnded) {
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
        streams_.track_input(buf, static_cast<std::size_t>(n));
        return n;
    }
    if (n < 0 && would_block(errno))
        return n;
    // The mirror closed: the active died, handed over, or ended the session.
    if (state_.mode() == TapMode::TakingOver)
        return finish_mirror();
    state_.enter(TapMode::MirrorEnded);  // only from Shadow, which is where this runs
    if (ended)
        *ended = true;
    errno = EAGAIN;
    return -1;
}

ssize_t ShadowTap::fail_takeover(const std::string &why)
{
    state_.enter(TapMode::Unprotected, why);  // from TakingOver: in the table
    errno = EPROTO;
    return -1;
}

ssize_t ShadowTap::finish_mirror()
{
    if (!bias_)
        return fail_takeover("the old active died before the hand-over's history was complete");
    std::string error;
    auto pos = tcp_stream_position(socket_fd(), &error);
    std::optional<std::uint64_t> dup;
    if (pos)
        dup = mirror_.duplicates_in_queue(pos->consumed(*bias_));
    if (!dup)
        return fail_takeover(pos ? "the old active consumed bytes the mirror never got" : error);
    // Bytes the old active mirrored but did not consume are still at the
    // head of the socket's queue: drop them once.
    char scratch[4096];
    for (std::uint64_t left = *dup; left > 0;) {
        ssize_t n = ::recv(socket_fd(), scratch, std::min<std::uint64_t>(left, sizeof(scratch)), MSG_DONTWAIT);
        if (n <= 0)
            return fail_takeover("the socket lost bytes the mirror holds");
        left -= static_cast<std::uint64_t>(n);
    }
    duplicates_dropped_ = *dup;
    streams_.continue_at(mirror_.end(), streams_.written());
    input_link_.reset();
    state_.enter(TapMode::Live);
    errno = EAGAIN;  // bgpd polls the socket itself from now on
    return -1;
}

ssize_t ShadowTap::swallow(const struct iovec *iov, int iovcnt, std::size_t total)
{
    difference_.sent(iov, iovcnt);
    return static_cast<ssize_t>(total);
}

int ShadowTap::input_fd(int parked) const
{
    switch (state_.mode()) {
    case TapMode::Shadow:
        return gate_waiting_ && !gate_open_ ? parked : input_link_.get();
    case TapMode::TakingOver:
        return input_link_.get();
    case TapMode::MirrorEnded:
        return parked;
    case TapMode::GracefulEnd:
        return always_readable_.get();
    default:
        return streams_.fd();
    }
}

Status ShadowTap::isolate()
{
    if (state_.mode() != TapMode::Shadow || live_)
        return live_ ? Status::ok() : Status::fail(std::string("not a shadow (") + tap_mode_name(state_.mode()) + ")");
    UniqueFd live(::fcntl(streams_.fd(), F_DUPFD_CLOEXEC, 0));
    if (!live)
        return Status::fail(std::string("holding the peer's socket: ") + std::strerror(errno));
    if (Status put = put_stand_in(streams_.fd()); !put)
        return put;
    live_ = std::move(live);
    return Status::ok();
}

void ShadowTap::tell_active_shadow_ended(const std::string &why)
{
    if (input_link_)
        send_standby_word(input_link_.get(), why);
    input_link_.reset();
    sendlog_link_.reset();
    live_.reset();
}

Status ShadowTap::drain_sendlog(bool to_eof)
{
    int link = sendlog_link_.get();
    if (link < 0)
        return Status::ok();  // read to its end already
    char buf[65536];
    // A read as the active writes takes a bounded part: one busy link
    // neither starves the others nor keeps a stop of this one waiting.
    std::size_t budget = to_eof ? SIZE_MAX : kSendLogReadBudget;
    for (;;) {
        if (budget == 0)
            break;
        ssize_t n = ::recv(link, buf, std::min(sizeof(buf), budget), MSG_DONTWAIT);
        if (n > 0) {
            budget -= static_cast<std::size_t>(n);
            out_framer_.feed(buf, static_cast<std::size_t>(n));
            while (auto msg = out_framer_.next()) {
                std::uint64_t at = out_framer_.boundary() - msg->size();
                streams_.note_sent(*msg);
                send_log_.append(at, std::move(*msg));
            }
            continue;
        }
        if (n == 0) {
            sendlog_link_.reset();
            return Status::ok();
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return Status::fail(std::string("send log: ") + std::strerror(errno));
        if (!to_eof)
            break;
        struct pollfd p = {link, POLLIN, 0};
        if (::poll(&p, 1, kDrainTimeoutMs) <= 0)
            return Status::fail("the old active's send log did not close");
    }
    // What the peer acknowledged, it holds; the log forgets it.
    if (auto pos = bias_ ? tcp_stream_position(socket_fd()) : std::nullopt)
        for (const auto &m : send_log_.take_until(pos->acked - bias_->acked))
            streams_.peer_got(m);
    return Status::ok();
}

void ShadowTap::peer_acked(std::uint64_t offset)
{
    for (const auto &m : send_log_.take_until(offset))
        streams_.peer_got(m);
}

void ShadowTap::follow_remote(const ConnectionImage &image, const ConnectionProgress &progress,
                              std::chrono::steady_clock::time_point progress_at)
{
    remote_ = RemoteConnection{image, progress, progress_at};
    peer_acked(progress.peer_acked);
}

// The peer's socket, on this host, from what it holds (docs/dual-rp.md,
// "Assembling the state on the standby"): the image and the last progress,
// the send log, and every byte of the peer's the links brought (what the
// shadow read and what the input link still holds). The placeholder goes
// first (closed in repair mode, silently): it holds the 4-tuple.
Status ShadowTap::rebuild_socket(const std::optional<std::string> &md5_key)
{
    if (!live_)
        return Status::fail("the shadow never set the peer's socket apart");
    int unread = 0;
    if (::ioctl(input_link_.get(), SIOCINQ, &unread) != 0)
        return Status::fail(std::string("the input link's queue: ") + std::strerror(errno));
    const std::uint64_t received_end = mirror_.end() + static_cast<std::uint64_t>(unread);
    const auto age = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - remote_->progress_at);
    StandbyRecords records;
    records.send_log = &send_log_;
    records.mirror_end = received_end;
    records.progress = &remote_->progress;
    records.progress_age_ms = static_cast<std::uint32_t>(std::max<std::int64_t>(0, age.count()));
    auto plan = assemble_rebuild(remote_->image, records, md5_key);
    if (!plan)
        return Status::fail("the connection cannot be rebuilt here: " + plan.why());
    // bgpd's options on its socket (non-blocking, TTL or GTSM, DSCP...):
    // the new socket takes them from the placeholder they were set on.
    SocketOptions bgpd_options = socket_options_of(live_.get());
    live_.reset();
    auto rebuilt = restore(plan->state, plan->options);
    if (!rebuilt)
        return Status::fail("rebuilding the connection: " + rebuilt.why());
    if (Status set = set_socket_options(rebuilt->get(), bgpd_options); !set)
        return Status::fail("bgpd's socket options: " + set.why());
    if (::dup3(rebuilt->get(), streams_.fd(), O_CLOEXEC) < 0)
        return Status::fail(std::string("giving bgpd the rebuilt socket: ") + std::strerror(errno));
    std::string error;
    auto pos = tcp_stream_position(streams_.fd(), &error);
    if (!pos)
        return Status::fail("the rebuilt socket: " + error);
    // The new kernel's counts start at zero: tie them to the streams (its
    // queue is the log from the peer's acknowledgement to the log's end).
    bias_ = calibrate(*pos, send_log_.end(), received_end);
    rebuilt_ = "rebuilt here: sending from offset " + std::to_string(remote_->progress.peer_acked) +
               " (" + std::to_string(plan->state.send_queue.size()) +
               " bytes queued again), receiving from offset " + std::to_string(received_end) +
               ", progress " + std::to_string(records.progress_age_ms) + " ms old";
    return Status::ok();
}

Status ShadowTap::take_over(bool writers_gone, const std::optional<std::string> &md5_key)
{
    if (!TapState::allowed(state_.mode(), TapMode::TakingOver))
        return Status::fail(std::string("not a shadow (") + tap_mode_name(state_.mode()) + ")");
    // Where bgpd waits for input now: parked at the gate, or after the
    // mirror's end (MirrorEnded), it must be moved to the mirror.
    input_moved_ = input_fd(-1) != input_link_.get();
    if (remote_)
        writers_gone = true;  // the active host's bytes ended with its receivers
    if (writers_gone) {
        // Nothing more can come: what the links hold now is all, followed
        // by their end, and a wait already armed on the mirror wakes (a
        // unix socket shut for reading reads as its queue, then EOF).
        for (const UniqueFd *link : {&input_link_, &sendlog_link_})
            if (*link)
                ::shutdown(link->get(), SHUT_RD);
    }
    if (Status drained = drain_sendlog(true); !drained)
        return drained;
    // Without both records the peer could keep routes this RP no longer
    // has: such a session is not continued (docs/transparent-failover.md).
    if (remote_ ? !remote_history_complete_ : !bias_)
        return Status::fail("the old active died before the hand-over's history was complete");
    const StreamRib &holds = streams_.peer_holds();
    if (!holds.usable())
        return Status::fail("the difference cannot be computed: " + holds.why());
    if (Status usable = difference_.usable(); !usable)
        return Status::fail("the difference cannot be computed: " + usable.why());
    if (remote_)
        if (Status rebuilt = rebuild_socket(md5_key); !rebuilt)
            return rebuilt;
    std::string error;
    auto pos = tcp_stream_position(socket_fd(), &error);
    if (!pos)
        return Status::fail(error);
    auto resume = send_log_.resume(pos->written(*bias_));
    if (!resume)
        return Status::fail("the send log does not cover what the old active wrote");
    // A message the old active wrote in part is finished byte for byte.
    if (!write_all_waiting(socket_fd(), resume->complete, kDrainTimeoutMs))
        return Status::fail(std::string("completing a half-written message: ") + std::strerror(errno));
    completed_bytes_ = resume->complete.size();
    unsent_messages_ = resume->unwritten;
    streams_.continue_at(streams_.consumed(), resume->boundary);
    // The peer holds what was written; bring it to what this RP's FSM
    // believes it sent, and not one prefix more.
    for (const auto &m : send_log_.take_until(resume->boundary))
        streams_.peer_got(m);
    // bgpd's descriptor names the peer's socket again.
    if (live_) {
        if (::dup3(live_.get(), streams_.fd(), O_CLOEXEC) < 0)
            return Status::fail(std::string("taking the peer's socket back: ") + std::strerror(errno));
        live_.reset();
    }
    difference_.start();
    streams_.also_record_sent(difference_.record());
    send_log_ = SendLog(streams_.written());
    open_gate();
    return state_.enter(TapMode::TakingOver);
}

Result<std::vector<std::string>> ShadowTap::take_takeover_messages()
{
    bool was_pending = difference_.pending();
    auto messages = difference_.take(streams_.peer_holds(), streams_.max_message());
    if (was_pending)
        streams_.also_record_sent(nullptr);
    return messages;
}

void ShadowTap::end_for_graceful_restart()
{
    input_link_.reset();
    sendlog_link_.reset();
    live_.reset();  // the peer sees the close once no RP holds its socket
    always_readable_ = UniqueFd(::eventfd(1, EFD_NONBLOCK | EFD_CLOEXEC));
}

void ShadowTap::drop_links()
{
    input_link_.reset();
    sendlog_link_.reset();
    live_.reset();
}

}  // namespace frr_ha
