// The messages of one hand-over connection (local mode): the session with
// its socket and links, then, once the links hold the history, where the
// streams stand (docs/transparent-failover.md).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "result.hpp"
#include "tcp_stream_position.hpp"
#include "unique_fd.hpp"

namespace frr_ha {

struct SessionHandoverMessage {
    std::uint64_t epoch = 0;
    std::string vrf, neighbor;
    // Set by an active that sent the whole history first; otherwise a
    // HistoryEnd follows on the connection.
    std::optional<TcpCountBias> bias;
};

struct HistoryEnd {
    TcpCountBias bias;
    std::uint64_t history_received_bytes = 0, history_sent_bytes = 0;
};

// The socket, the input link and the send-log link, in that order.
using HandoverDescriptors = std::array<int, 3>;

Status send_session_handover(int conn, const SessionHandoverMessage &m,
                             const HandoverDescriptors &fds);
Status send_history_end(int conn, const HistoryEnd &m);

// The standby's word back to the active on a session's input link (the
// link's other direction): why it ended its shadow. One send the active reads
// whole, so at most kStandbyWordMax bytes; never blocks.
constexpr std::size_t kStandbyWordMax = 512;
void send_standby_word(int input_link, const std::string &why);

// One message of a hand-over connection: the session (with its three
// descriptors, owned) or the history's end.
struct HandoverReceived {
    std::optional<SessionHandoverMessage> session;
    std::array<UniqueFd, 3> fds;
    std::optional<HistoryEnd> history_end;
};
// Fails with "channel closed" at the connection's end.
Result<HandoverReceived> receive_handover_message(int conn);

}  // namespace frr_ha
