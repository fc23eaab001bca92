#include "remote_stream_relay.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

namespace frr_ha {

RemoteStreamRelay::RemoteStreamRelay(std::uint64_t session, UniqueFd input_link, UniqueFd sendlog_link,
                                     UniqueFd handover_conn, std::shared_ptr<WriteGate> gate,
                                     std::size_t window)
    : input_link_(std::move(input_link)),
      sendlog_link_(std::move(sendlog_link)),
      handover_conn_(std::move(handover_conn)),
      gate_(std::move(gate)),
      sender_(session, 0, 0, window)
{
}

// Reads one link into the sender while the window has room. `ended`: the
// tap closed its end.
Status RemoteStreamRelay::take_link(UniqueFd &link, StreamKind kind, bool *ended)
{
    *ended = false;
    std::uint8_t buf[65536];
    while (link) {
        std::size_t room = std::min(sender_.room(kind), sizeof(buf));
        if (room == 0)
            return Status::ok();  // the rest waits in the link
        ssize_t n = ::recv(link.get(), buf, room, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return Status::ok();
        if (n < 0)
            return Status::fail(std::string("the ") + stream_kind_name(kind) +
                                " stream's link: " + std::strerror(errno));
        if (n == 0) {
            link.reset();
            *ended = true;
            return Status::ok();
        }
        sender_.offer(kind, buf, static_cast<std::size_t>(n));
    }
    return Status::ok();
}

Status RemoteStreamRelay::pump()
{
    if (handover_conn_) {
        struct pollfd p = {handover_conn_.get(), POLLIN, 0};
        if (::poll(&p, 1, 0) == 1) {
            auto got = receive_handover_message(handover_conn_.get());
            if (got && got->history_end)
                history_end_ = got->history_end;
            // Told once; a close (the tap gave up) is seen on the input link.
            handover_conn_.reset();
        }
    }
    bool ended = false;
    if (Status took = take_link(sendlog_link_, StreamKind::sent, &ended); !took)
        return took;
    sendlog_ended_ = sendlog_ended_ || ended;
    if (Status took = take_link(input_link_, StreamKind::received, &ended); !took)
        return took;
    if (ended || !input_link_)
        return Status::fail("the active's tap dropped the session's links");
    return Status::ok();
}

std::optional<HistoryEnd> RemoteStreamRelay::take_history_end() { return std::exchange(history_end_, std::nullopt); }

Status RemoteStreamRelay::confirmed(const StreamAck &ack)
{
    if (Status ok = sender_.confirmed(ack); !ok)
        return ok;
    gate_->allow(sender_.confirmed_end(StreamKind::sent));
    return Status::ok();
}

void RemoteStreamRelay::standby_ended(const std::string &why)
{
    if (input_link_)
        send_standby_word(input_link_.get(), why);
}

}  // namespace frr_ha
