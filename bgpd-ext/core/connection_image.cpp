#include "connection_image.hpp"

#include <fcntl.h>

#include <algorithm>

namespace frr_ha {

namespace {

std::uint32_t seq_of(std::uint32_t base, std::uint64_t offset)
{
    return base + static_cast<std::uint32_t>(offset);
}

// The window captured earlier, moved to the mirror's end. Where the mirror
// has taken the stream further, the left edge follows it and the
// advertised width is kept (the right edge only moves forward, as the
// kernel's own never shrinks). Under the hold the capture may be ahead of
// the mirror instead: the kernel had received bytes and built their ACK,
// which waited for the standby and died with the host. The peer never saw
// that edge, and sends those bytes again, so the left edge (and the
// segment that last moved the window) goes back to the mirror's end.
TcpWindow rebased_window(TcpWindow w, std::uint32_t rcv_nxt)
{
    if (seq_after(rcv_nxt, w.rcv_wup) || seq_after(w.rcv_wup, rcv_nxt))
        w.rcv_wup = rcv_nxt;
    if (seq_after(w.snd_wl1, rcv_nxt))
        w.snd_wl1 = rcv_nxt;
    return w;
}

}  // namespace

ConnectionProgress progress_of(const TcpConnectionState &captured, std::uint64_t written,
                               std::uint64_t read, std::uint64_t held_at)
{
    ConnectionProgress p;
    p.peer_acked = written - captured.send_queue.size();
    p.received_acked = std::min(read + captured.recv_queue.size(), held_at);
    p.window = captured.window;
    p.have_window = captured.have_window;
    p.timestamp = captured.timestamp;
    return p;
}

ConnectionImage image_at_session_up(const TcpConnectionState &captured, std::uint64_t written,
                                    std::uint64_t read)
{
    ConnectionImage image;
    image.local = captured.local;
    image.remote = captured.remote;
    image.options = captured.options;
    image.send_base = captured.send_next() - static_cast<std::uint32_t>(written);
    image.recv_base = captured.recv_seq - static_cast<std::uint32_t>(read);
    image.progress = progress_of(captured, written, read);
    return image;
}

Result<RebuildPlan> assemble_rebuild(const ConnectionImage &image, const StandbyRecords &records,
                                     std::optional<std::string> md5_key,
                                     std::uint32_t transit_margin_ms)
{
    using R = Result<RebuildPlan>;
    if (!records.send_log)
        return R::fail("no send log");
    const ConnectionProgress &p = records.progress ? *records.progress : image.progress;
    const SendLog &log = *records.send_log;

    // The hold rule's check: a byte the active's kernel acknowledged is
    // never sent again by the peer, so the standby must hold it.
    if (records.mirror_end < p.received_acked)
        return R::fail("the active's kernel acknowledged the peer's bytes up to offset " +
                       std::to_string(p.received_acked) + " but the standby holds them up to " +
                       std::to_string(records.mirror_end) + ": " +
                       std::to_string(p.received_acked - records.mirror_end) +
                       " bytes of the peer's stream are lost");
    // The send queue starts at the peer's last known acknowledgement (the
    // true one can only be later: bytes before it are duplicates the peer
    // discards) and goes to the log's end (the peer cannot have acknowledged
    // a byte the active never logged).
    if (log.begin() > p.peer_acked)
        return R::fail("the send log starts at offset " + std::to_string(log.begin()) +
                       ", after the peer's last known acknowledgement (" +
                       std::to_string(p.peer_acked) + "): the bytes between may be missing");
    if (log.end() < p.peer_acked)
        return R::fail("the peer acknowledged up to offset " + std::to_string(p.peer_acked) +
                       ", beyond the send log's end (" + std::to_string(log.end()) + ")");

    RebuildPlan plan;
    TcpConnectionState &s = plan.state;
    s.local = image.local;
    s.remote = image.remote;
    s.options = image.options;
    s.send_seq = seq_of(image.send_base, p.peer_acked);
    s.send_queue = log.bytes_from(p.peer_acked);
    // The standby read the received bytes from the mirror itself.
    s.recv_seq = seq_of(image.recv_base, records.mirror_end);
    s.have_window = p.have_window;
    if (p.have_window)
        s.window = rebased_window(p.window, s.recv_next());
    s.timestamp = p.timestamp;

    plan.options.md5_key = std::move(md5_key);
    plan.options.timestamp_advance_ms = records.progress_age_ms + transit_margin_ms;
    plan.options.freebind = true;

    std::string bad = check_state(s);
    if (!bad.empty())
        return R::fail("state refused: " + bad);
    return plan;
}

Result<UniqueFd> placeholder_of(const ConnectionImage &image)
{
    TcpConnectionState state;
    state.local = image.local;
    state.remote = image.remote;
    state.options = image.options;
    state.send_seq = image.send_base;
    state.recv_seq = image.recv_base;
    RestoreOptions options;
    options.stay_in_repair = true;
    auto fd = restore(state, options);
    if (!fd)
        return Result<UniqueFd>::fail("the placeholder of " + image.local.to_string() + " -> " +
                                      image.remote.to_string() + ": " + fd.why());
    // Non-blocking, as bgpd's session sockets are: the socket rebuilt at
    // takeover takes its flags from this one.
    ::fcntl(fd->get(), F_SETFL, ::fcntl(fd->get(), F_GETFL) | O_NONBLOCK);
    return fd;
}

}  // namespace frr_ha
