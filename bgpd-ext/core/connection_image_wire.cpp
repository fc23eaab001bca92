#include "connection_image_wire.hpp"

#include <algorithm>
#include <cstring>

#include "ha_channel.pb.h"

namespace frr_ha {

namespace {

void endpoint_to_wire(const TcpEndpoint &e, wire::TcpEndpoint *out)
{
    std::size_t len = e.family == AF_INET ? 4 : 16;
    out->set_address(reinterpret_cast<const char *>(&e.address), len);
    out->set_port(e.port);
    out->set_scope_id(e.scope_id);
}

Result<TcpEndpoint> endpoint_from_wire(const wire::TcpEndpoint &in, const char *which)
{
    using R = Result<TcpEndpoint>;
    TcpEndpoint e;
    const std::string &a = in.address();
    if (a.size() == 4)
        e.family = AF_INET;
    else if (a.size() == 16)
        e.family = AF_INET6;
    else
        return R::fail(std::string(which) + " address of " + std::to_string(a.size()) +
                       " bytes (4 or 16)");
    std::memcpy(&e.address, a.data(), a.size());
    if (in.port() == 0 || in.port() > 65535)
        return R::fail(std::string(which) + " port " + std::to_string(in.port()));
    e.port = static_cast<std::uint16_t>(in.port());
    e.scope_id = in.scope_id();
    return e;
}

}  // namespace

void to_wire(const ConnectionProgress &p, wire::TcpProgress *out)
{
    out->set_peer_acked(p.peer_acked);
    out->set_received_acked(p.received_acked);
    out->set_have_window(p.have_window);
    out->set_snd_wl1(p.window.snd_wl1);
    out->set_snd_wnd(p.window.snd_wnd);
    out->set_max_window(p.window.max_window);
    out->set_rcv_wnd(p.window.rcv_wnd);
    out->set_rcv_wup(p.window.rcv_wup);
    out->set_timestamp(p.timestamp);
}

void to_wire(const ConnectionImage &image, wire::TcpImage *out)
{
    endpoint_to_wire(image.local, out->mutable_local());
    endpoint_to_wire(image.remote, out->mutable_remote());
    out->set_mss(image.options.mss);
    out->set_snd_wscale(image.options.snd_wscale);
    out->set_rcv_wscale(image.options.rcv_wscale);
    out->set_window_scaling(image.options.window_scaling);
    out->set_sack(image.options.sack);
    out->set_timestamps(image.options.timestamps);
    out->set_send_base(image.send_base);
    out->set_recv_base(image.recv_base);
    to_wire(image.progress, out->mutable_progress());
}

Result<ConnectionProgress> progress_from_wire(const wire::TcpProgress &in)
{
    using R = Result<ConnectionProgress>;
    ConnectionProgress p;
    p.peer_acked = in.peer_acked();
    p.received_acked = in.received_acked();
    p.have_window = in.have_window();
    p.window = TcpWindow{in.snd_wl1(), in.snd_wnd(), in.max_window(), in.rcv_wnd(), in.rcv_wup()};
    if (p.have_window && p.window.max_window < p.window.snd_wnd)
        return R::fail("send window " + std::to_string(p.window.snd_wnd) + " above its maximum " +
                       std::to_string(p.window.max_window));
    p.timestamp = in.timestamp();
    return p;
}

Result<ConnectionImage> image_from_wire(const wire::TcpImage &in)
{
    using R = Result<ConnectionImage>;
    ConnectionImage image;
    if (!in.has_local() || !in.has_remote())
        return R::fail("image without its addresses");
    Result<TcpEndpoint> local = endpoint_from_wire(in.local(), "local");
    if (!local)
        return R::fail(local.why());
    Result<TcpEndpoint> remote = endpoint_from_wire(in.remote(), "remote");
    if (!remote)
        return R::fail(remote.why());
    if (local->family != remote->family)
        return R::fail("local and remote addresses of different families");
    image.local = *local;
    image.remote = *remote;
    // A shift that does not fit its byte is out of range as it is.
    auto shift = [](std::uint32_t v) { return static_cast<std::uint8_t>(std::min(v, 255u)); };
    image.options = TcpOptions{in.mss(),           shift(in.snd_wscale()), shift(in.rcv_wscale()),
                               in.window_scaling(), in.sack(),              in.timestamps()};
    std::string bad = check_options(image.options);
    if (!bad.empty())
        return R::fail(bad);
    image.send_base = in.send_base();
    image.recv_base = in.recv_base();
    if (!in.has_progress())
        return R::fail("image without its first progress");
    Result<ConnectionProgress> progress = progress_from_wire(in.progress());
    if (!progress)
        return R::fail(progress.why());
    image.progress = *progress;
    return image;
}

}  // namespace frr_ha
