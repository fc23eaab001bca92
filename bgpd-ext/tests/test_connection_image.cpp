// Dual-RP mode's assembly of a connection on the standby host: the image
// captured at session up and the latest progress, both through their wire
// form, with the standby's own send log and mirror, give a state the kernel
// continues; records that cannot give the peer a continuous stream are
// refused with the reason.
#include "tcp_repair_fixtures.hpp"

#include "connection_image.hpp"
#include "connection_image_wire.hpp"
#include "ha_channel.pb.h"

using namespace frr_ha;
using namespace frr_ha::tcp_test;

namespace {

// What the standby keeps arrives as bytes on the channel.
template <typename Wire, typename T, typename Decode>
T through_wire(const T &value, Decode decode)
{
    Wire w;
    to_wire(value, &w);
    Wire back;
    REQUIRE(back.ParseFromString(w.SerializeAsString()));
    Result<T> got = decode(back);
    INFO(got.why());
    REQUIRE(got);
    return *got;
}

ConnectionImage through_wire(const ConnectionImage &image)
{
    return through_wire<wire::TcpImage>(image, image_from_wire);
}

ConnectionProgress through_wire(const ConnectionProgress &progress)
{
    return through_wire<wire::TcpProgress>(progress, progress_from_wire);
}

// The active's writes, logged to the standby.
void write_logged(Flow &flow, int fd, std::uint64_t target, SendLog &log)
{
    std::uint64_t before = flow.written;
    flow.write_to(fd, target);
    if (flow.written > before)
        REQUIRE(log.append(before, flow.bytes(before, flow.written - before)));
}

// The session going on both ways, what the active writes logged.
void exchange_logged(int app, int peer, Flow &to_peer, Flow &to_app, std::uint64_t extra,
                     SendLog &log)
{
    std::uint64_t before = to_peer.written;
    REQUIRE(exchange(app, peer, to_peer, to_app, extra));
    REQUIRE(log.append(before, to_peer.bytes(before, to_peer.written - before)));
}

ConnectionImage sample_image()
{
    ConnectionImage image;
    image.local.family = image.remote.family = AF_INET;
    image.local.address.s6_addr[0] = 192;
    image.local.address.s6_addr[3] = 1;
    image.remote.address.s6_addr[0] = 192;
    image.remote.address.s6_addr[3] = 2;
    image.local.port = 179;
    image.remote.port = 40000;
    image.options = TcpOptions{1448, 7, 7, true, true, true};
    image.send_base = 0xfffffc00u;  // the offsets below cross the wrap
    image.recv_base = 0x7ffff000u;
    image.progress.peer_acked = 1000;
    image.progress.received_acked = 3000;
    image.progress.have_window = true;
    image.progress.window = TcpWindow{image.recv_base + 2900, 65535, 65535, 65535,
                                      image.recv_base + 3000};
    image.progress.timestamp = 123456;
    return image;
}

SendLog log_of(std::uint64_t from, std::size_t messages, std::size_t size)
{
    SendLog log(from);
    for (std::size_t i = 0; i < messages; i++)
        REQUIRE(log.append(log.end(), std::string(size, static_cast<char>('a' + i))));
    return log;
}

}  // namespace

TEST_CASE("The standby host rebuilds a connection from the image and progress it got over the "
          "wire, its send log and its mirror: the peer's streams continue",
          "[connection_image][tcp_repair]")
{
    REQUIRE_REPAIR();
    UniqueFd listener;
    Connection c = connect_pair({AF_INET, "", 16384}, &listener);
    int peer = c.client.get();
    UniqueFd app = std::move(c.server);  // the active's socket
    Flow to_peer{51}, to_app{52};
    SendLog log;  // the standby's, from the session's first byte

    // Before the session is handed over: the OPENs and some routes.
    exchange_logged(app.get(), peer, to_peer, to_app, 30000, log);
    Result<TcpConnectionState> at_up = capture(app.get());
    INFO(at_up.why());
    REQUIRE(at_up);
    ConnectionImage image = through_wire(image_at_session_up(*at_up, to_peer.written, to_app.read));

    // The session goes on; a progress is captured and sent, and the
    // session goes on further, so that it is stale at takeover.
    exchange_logged(app.get(), peer, to_peer, to_app, 200000, log);
    Result<TcpConnectionState> later = capture(app.get());
    REQUIRE(later);
    ConnectionProgress progress = through_wire(progress_of(*later, to_peer.written, to_app.read));
    auto progress_arrived = Clock::now();
    exchange_logged(app.get(), peer, to_peer, to_app, 200000, log);

    // At the instant of death: bytes the peer sent that the active's kernel
    // acknowledged and the mirror holds, unread by the active; bytes the
    // active wrote that the peer has not acknowledged (its window is full);
    // and the log's end beyond what reached the kernel.
    to_app.write_to(peer, to_app.written + 8000);
    REQUIRE(eventually([&] { return outq(peer) == 0; }));
    write_logged(to_peer, app.get(), to_peer.written + (8u << 20), log);
    REQUIRE(outq(app.get()) > 0);
    const std::uint64_t not_written = 20000;
    REQUIRE(log.append(to_peer.written, to_peer.bytes(to_peer.written, not_written)));
    to_peer.written += not_written;
    const std::uint64_t mirror_end = to_app.written;
    to_app.read = mirror_end;  // the standby read them from the mirror

    // The host dies: its socket goes without FIN or RST. One kernel plays
    // both hosts here, so the rebuild follows at once: this kernel would
    // answer the peer's next segment (a delayed ACK) with a RST, where a
    // dead host answers nothing.
    REQUIRE(silence(app));

    StandbyRecords records;
    records.send_log = &log;
    records.mirror_end = mirror_end;
    records.progress = &progress;
    records.progress_age_ms = static_cast<std::uint32_t>(
        std::chrono::duration_cast<milliseconds>(Clock::now() - progress_arrived).count());
    Result<RebuildPlan> plan = assemble_rebuild(image, records, std::nullopt);
    INFO(plan.why());
    REQUIRE(plan);
    CHECK(plan->state.send_queue.size() == to_peer.written - progress.peer_acked);
    CHECK(plan->state.recv_queue.empty());

    UniqueFd again = restored(plan->state, plan->options);
    REQUIRE(exchange(again.get(), peer, to_peer, to_app, 200000));
    CHECK(to_peer.first_bad == UINT64_MAX);
    CHECK(to_app.first_bad == UINT64_MAX);
    require_peer_silent(peer);
}

TEST_CASE("Records that cannot give the peer a continuous stream are refused with the reason",
          "[connection_image]")
{
    ConnectionImage image = sample_image();
    SendLog log = log_of(0, 4, 1000);  // offsets 0..4000
    StandbyRecords records{&log, 3000, nullptr, 0};

    SECTION("the mirror lacks received bytes the active's kernel acknowledged")
    {
        records.mirror_end = 2500;
        Result<RebuildPlan> plan = assemble_rebuild(image, records, std::nullopt);
        REQUIRE_FALSE(plan);
        CHECK(plan.why().find("500 bytes of the peer's stream are lost") != std::string::npos);
    }
    SECTION("the send log starts after the peer's last known acknowledgement")
    {
        SendLog late = log_of(1500, 2, 1000);
        records.send_log = &late;
        Result<RebuildPlan> plan = assemble_rebuild(image, records, std::nullopt);
        REQUIRE_FALSE(plan);
        CHECK(plan.why().find("after the peer's last known acknowledgement (1000)") !=
              std::string::npos);
    }
    SECTION("the peer acknowledged beyond the send log's end")
    {
        ConnectionProgress ahead = image.progress;
        ahead.peer_acked = 4500;
        records.progress = &ahead;
        Result<RebuildPlan> plan = assemble_rebuild(image, records, std::nullopt);
        REQUIRE_FALSE(plan);
        CHECK(plan.why().find("beyond the send log's end (4000)") != std::string::npos);
    }
    SECTION("no send log")
    {
        records.send_log = nullptr;
        CHECK_FALSE(assemble_rebuild(image, records, std::nullopt));
    }
}

TEST_CASE("The assembled state: sequence numbers across the wrap, the queue from the peer's "
          "acknowledgement, the window moved to the mirror's end, the clock moved forward",
          "[connection_image]")
{
    ConnectionImage image = sample_image();
    SendLog log = log_of(0, 4, 1000);
    ConnectionProgress latest = image.progress;
    latest.peer_acked = 1500;  // inside the second message
    StandbyRecords records{&log, 9000, &latest, 250};

    Result<RebuildPlan> plan = assemble_rebuild(image, records, std::string("secret"), 700);
    INFO(plan.why());
    REQUIRE(plan);
    const TcpConnectionState &s = plan->state;
    CHECK(s.send_seq == 0xfffffc00u + 1500u);
    CHECK(s.send_next() == 0xfffffc00u + 4000u);  // wrapped past 2^32
    CHECK(s.send_next() < 4000u);
    CHECK(s.send_queue == std::string(500, 'b') + std::string(1000, 'c') + std::string(1000, 'd'));
    CHECK(s.recv_seq == 0x7ffff000u + 9000u);
    CHECK(s.window.rcv_wup == s.recv_seq);
    CHECK(s.window.rcv_wnd == 65535u);
    CHECK(s.window.snd_wl1 == image.recv_base + 2900);
    CHECK(check_state(s).empty());
    CHECK(s.timestamp == 123456u);
    CHECK(plan->options.timestamp_advance_ms == 950u);
    CHECK(plan->options.md5_key == std::optional<std::string>("secret"));
    CHECK(plan->options.freebind);
}

TEST_CASE("Under the hold, the capture may be ahead of the mirror: what the kernel received "
          "past the standby's confirmation was never acknowledged, and the window goes back",
          "[connection_image]")
{
    TcpConnectionState captured;
    captured.recv_queue = std::string(500, 'q');  // received, not read
    captured.send_queue = std::string(300, 's');
    CHECK(progress_of(captured, 5000, 1000).received_acked == 1500);
    const ConnectionProgress held = progress_of(captured, 5000, 1000, 1200);
    CHECK(held.received_acked == 1200);  // its ACK waited for the standby
    CHECK(held.peer_acked == 4700);

    ConnectionImage image = sample_image();  // rcv_wup at 3000, snd_wl1 at 2900
    SendLog log = log_of(0, 4, 1000);
    ConnectionProgress latest = image.progress;
    latest.received_acked = 2000;  // the hold let no ACK past 2000 out
    StandbyRecords records{&log, 2200, &latest, 0};
    Result<RebuildPlan> plan = assemble_rebuild(image, records, std::nullopt);
    INFO(plan.why());
    REQUIRE(plan);
    const TcpConnectionState &s = plan->state;
    CHECK(s.recv_seq == image.recv_base + 2200);
    CHECK(s.window.rcv_wup == s.recv_seq);
    CHECK(s.window.snd_wl1 == s.recv_seq);
    CHECK(s.window.rcv_wnd == 65535u);
    CHECK(check_state(s).empty());
}

TEST_CASE("An image crosses the wire unchanged, and a malformed one is refused with the field",
          "[connection_image]")
{
    ConnectionImage image = sample_image();
    image.remote.family = image.local.family = AF_INET6;
    image.remote.scope_id = 3;
    ConnectionImage back = through_wire(image);
    CHECK(std::memcmp(&back.local.address, &image.local.address, 16) == 0);
    CHECK(back.remote.scope_id == 3);
    CHECK(back.local.port == 179);
    CHECK(back.options.mss == 1448);
    CHECK(back.options.sack);
    CHECK(back.send_base == image.send_base);
    CHECK(back.recv_base == image.recv_base);
    CHECK(back.progress.peer_acked == 1000);
    CHECK(back.progress.window.rcv_wup == image.progress.window.rcv_wup);
    CHECK(back.progress.timestamp == 123456u);

    wire::TcpImage w;
    to_wire(sample_image(), &w);
    auto refused = [&](const std::string &why) {
        Result<ConnectionImage> got = image_from_wire(w);
        REQUIRE_FALSE(got);
        CHECK(got.why() == why);
    };
    SECTION("address length") { w.mutable_local()->set_address("12345"); refused("local address of 5 bytes (4 or 16)"); }
    SECTION("port 0") { w.mutable_remote()->set_port(0); refused("remote port 0"); }
    SECTION("port above 65535") { w.mutable_local()->set_port(70000); refused("local port 70000"); }
    SECTION("families") { w.mutable_remote()->set_address(std::string(16, '\1')); refused("local and remote addresses of different families"); }
    SECTION("MSS") { w.set_mss(0); refused("MSS 0"); }
    SECTION("window scale") { w.set_rcv_wscale(15); refused("window scale above 14"); }
    SECTION("no progress") { w.clear_progress(); refused("image without its first progress"); }
    SECTION("no addresses") { w.clear_remote(); refused("image without its addresses"); }
    SECTION("window") { w.mutable_progress()->set_snd_wnd(70000); refused("send window 70000 above its maximum 65535"); }
}
