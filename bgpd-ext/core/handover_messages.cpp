#include "handover_messages.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "fd_passing.hpp"
#include "ha_channel.pb.h"

namespace frr_ha {

Status send_session_handover(int conn, const SessionHandoverMessage &m,
                             const HandoverDescriptors &fds)
{
    wire::SessionHandover w;
    w.set_epoch(m.epoch);
    w.set_vrf(m.vrf);
    w.set_neighbor(m.neighbor);
    if (m.bias) {
        w.set_bias_received(m.bias->received);
        w.set_bias_acked(m.bias->acked);
    } else {
        w.set_history_end_follows(true);
    }
    std::string error;
    if (!send_descriptors(conn, {fds[0], fds[1], fds[2]}, w.SerializeAsString(), &error))
        return Status::fail(error);
    return Status::ok();
}

Status send_history_end(int conn, const HistoryEnd &m)
{
    wire::HandoverHistoryEnd w;
    w.set_bias_received(m.bias.received);
    w.set_bias_acked(m.bias.acked);
    w.set_history_received_bytes(m.history_received_bytes);
    w.set_history_sent_bytes(m.history_sent_bytes);
    const std::string bytes = w.SerializeAsString();
    // A few bytes on a connection that carried one message: it never
    // blocks, and a standby that is gone fails it at once.
    ssize_t n = ::send(conn, bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n != static_cast<ssize_t>(bytes.size()))
        return Status::fail(n < 0 ? std::strerror(errno) : "short send");
    return Status::ok();
}

Result<HandoverReceived> receive_handover_message(int conn)
{
    std::vector<UniqueFd> fds;
    std::string label, error;
    if (!receive_message(conn, &fds, &label, &error))
        return Status::fail(error);
    HandoverReceived r;
    if (fds.empty()) {
        wire::HandoverHistoryEnd w;
        if (!w.ParseFromString(label))
            return Status::fail("malformed hand-over message");
        r.history_end = HistoryEnd{TcpCountBias{w.bias_acked(), w.bias_received()},
                                   w.history_received_bytes(), w.history_sent_bytes()};
        return r;
    }
    wire::SessionHandover w;
    if (fds.size() != 3 || !w.ParseFromString(label))
        return Status::fail("malformed session hand-over");
    SessionHandoverMessage m;
    m.epoch = w.epoch();
    m.vrf = w.vrf();
    m.neighbor = w.neighbor();
    if (!w.history_end_follows())
        m.bias = TcpCountBias{w.bias_acked(), w.bias_received()};
    r.session = std::move(m);
    for (std::size_t i = 0; i < 3; i++)
        r.fds[i] = std::move(fds[i]);
    return r;
}

void send_standby_word(int input_link, const std::string &why)
{
    ::send(input_link, why.data(), std::min(why.size(), kStandbyWordMax), MSG_DONTWAIT | MSG_NOSIGNAL);
}

}  // namespace frr_ha
