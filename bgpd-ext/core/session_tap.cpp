#include "session_tap.hpp"

#include "tcp_repair.hpp"

#include <cerrno>

#include "stand_in.hpp"

namespace frr_ha {

SessionTap::SessionTap(int fd)
    : state_(TapMode::Recording), streams_(fd),
      active_(std::make_unique<ActiveTap>(state_, streams_))
{
}

SessionTap::SessionTap(int fd, UniqueFd input_link, UniqueFd sendlog_link,
                       std::optional<TcpCountBias> bias)
    : state_(TapMode::Shadow), streams_(fd),
      shadow_(std::make_unique<ShadowTap>(state_, streams_, std::move(input_link),
                                          std::move(sendlog_link), bias))
{
}

ssize_t SessionTap::read(void *buf, std::size_t len, bool *ended)
{
    switch (state_.mode()) {
    case TapMode::Released:
        errno = EAGAIN;
        return -1;
    case TapMode::GracefulEnd:
        return 0;
    case TapMode::Shadow:
    case TapMode::MirrorEnded:
    case TapMode::TakingOver:
        return shadow_->read(buf, len, ended);
    case TapMode::Recording:
    case TapMode::HandingOver:
    case TapMode::Mirroring:
        return active_->read(buf, len);
    case TapMode::Unprotected:
    case TapMode::Live:
        break;
    }
    return streams_.read_plain(buf, len);
}

ssize_t SessionTap::writev(const struct iovec *iov, int iovcnt)
{
    std::size_t total = 0;
    for (int i = 0; i < iovcnt; i++)
        total += iov[i].iov_len;

    switch (state_.mode()) {
    case TapMode::Released:
        errno = EAGAIN;
        return -1;
    case TapMode::GracefulEnd:
        return static_cast<ssize_t>(total);
    case TapMode::Shadow:
    case TapMode::MirrorEnded:
        return shadow_->swallow(iov, iovcnt, total);
    case TapMode::Recording:
    case TapMode::HandingOver:
    case TapMode::Mirroring:
        return active_->writev(iov, iovcnt, total);
    case TapMode::Unprotected:
    case TapMode::TakingOver:
    case TapMode::Live:
        break;
    }
    return streams_.writev_plain(iov, iovcnt);
}

int SessionTap::input_fd(int parked) const
{
    return shadow_ ? shadow_->input_fd(parked) : fd();
}

Status SessionTap::attachable(bool receive_only) const
{
    switch (state_.mode()) {
    case TapMode::Recording:
        return Status::ok();  // its own bytes are the history
    case TapMode::Unprotected:
        if (active_)
            if (Status over = active_->backoff_over(); !over)
                return over;
        break;
    case TapMode::Live:
        break;
    default:
        return Status::fail(std::string("session is ") + tap_mode_name(state_.mode()));
    }
    return streams_.followable(state_.why_unprotected(), receive_only);
}

Status SessionTap::attach(UniqueFd input_link, UniqueFd sendlog_link, UniqueFd handover_conn,
                          bool receive_only, std::shared_ptr<WriteGate> gate)
{
    if (Status can = attachable(receive_only); !can)
        return can;
    if (!active_)
        active_ = std::make_unique<ActiveTap>(state_, streams_);  // a new active's first hand-over
    TapStreams::History history = state_.mode() == TapMode::Recording
                                      ? active_->take_recorded()
                                      : streams_.history(receive_only);
    return active_->attach(std::move(history), std::move(input_link), std::move(sendlog_link),
                           std::move(handover_conn), receive_only, std::move(gate));
}

Status SessionTap::history_ended(TcpCountBias bias)
{
    if (!shadow_)
        return Status::fail("not a shadow");
    shadow_->history_ended(bias);
    return Status::ok();
}

Status SessionTap::remote_history_complete()
{
    if (!shadow_)
        return Status::fail("not a shadow");
    shadow_->remote_history_complete();
    return Status::ok();
}

void SessionTap::peer_acked(std::uint64_t offset)
{
    if (shadow_ && state_.mode() == TapMode::Shadow)
        shadow_->peer_acked(offset);
}

void SessionTap::follow_remote(const ConnectionImage &image, const ConnectionProgress &progress,
                               std::chrono::steady_clock::time_point progress_at)
{
    if (shadow_ && state_.mode() == TapMode::Shadow)
        shadow_->follow_remote(image, progress, progress_at);
}

Status SessionTap::unprotect(const std::string &why)
{
    if (active_)
        return active_->unprotect(why);
    return state_.enter(TapMode::Unprotected, why);  // a new active's session
}

bool SessionTap::pump(std::chrono::milliseconds lag_limit, std::size_t make_budget)
{
    return active_ && active_->pump(lag_limit, make_budget);
}

bool SessionTap::take_standby_word(const std::string &if_silent)
{
    return active_ && active_->take_standby_word(if_silent);
}

Status SessionTap::exclude(const std::string &why)
{
    Status done = unprotect(why);
    if (done)
        streams_.stop_following();
    return done;
}

Status SessionTap::release(bool silently)
{
    if (Status entered = state_.enter(TapMode::Released); !entered)
        return entered;
    // In repair mode the kernel sends nothing, nor at the close below.
    if (silently && !isolated())
        if (Status quiet = enter_repair_mode(fd()); !quiet)
            return quiet;
    // From now on this RP holds no reference to the peer's socket: whatever
    // bgpd does with the session until it exits stays here.
    if (active_)
        active_->drop_links();
    Status stood_in = isolated() ? Status::ok() : put_stand_in(fd());
    if (shadow_)
        shadow_->drop_links();
    return stood_in;
}

Status release_silently(int fd)
{
    if (Status quiet = enter_repair_mode(fd); !quiet)
        return quiet;
    return put_stand_in(fd);
}

Status SessionTap::isolate()
{
    if (!shadow_)
        return Status::fail(std::string("not a shadow (") + tap_mode_name(state_.mode()) + ")");
    return shadow_->isolate();
}

void SessionTap::tell_active_shadow_ended(const std::string &why)
{
    if (shadow_)
        shadow_->tell_active_shadow_ended(why);
}

Status SessionTap::drain_sendlog(bool to_eof)
{
    if (!shadow_)
        return Status::fail(std::string("not a shadow (") + tap_mode_name(state_.mode()) + ")");
    return shadow_->drain_sendlog(to_eof);
}

void SessionTap::open_gate()
{
    if (shadow_)
        shadow_->open_gate();
}

Status SessionTap::take_over(bool writers_gone, const std::optional<std::string> &md5_key)
{
    if (!shadow_)
        return Status::fail(std::string("not a shadow (") + tap_mode_name(state_.mode()) + ")");
    return shadow_->take_over(writers_gone, md5_key);
}

Status SessionTap::end_for_graceful_restart()
{
    if (Status entered = state_.enter(TapMode::GracefulEnd); !entered)
        return entered;
    shadow_->end_for_graceful_restart();  // only a shadow enters GracefulEnd
    return Status::ok();
}

Result<std::vector<std::string>> SessionTap::take_takeover_messages()
{
    if (!shadow_)
        return std::vector<std::string>{};
    return shadow_->take_takeover_messages();
}

std::size_t SessionTap::takeover_diff_messages() const
{
    return shadow_ ? shadow_->difference().messages() : 0;
}

const std::string &SessionTap::takeover_diff_problem() const
{
    static const std::string none;
    return shadow_ ? shadow_->difference().problem() : none;
}

std::size_t SessionTap::shadow_sent_prefixes() const
{
    return shadow_ ? shadow_->difference().sent_prefixes() : 0;
}

SessionTap::ReplicationStats SessionTap::replication_stats() const
{
    return active_ ? active_->stats() : ReplicationStats{};
}

}  // namespace frr_ha
