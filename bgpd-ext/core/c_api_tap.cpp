// The session taps behind include/frr_ha/tap.h: one SessionTap per socket,
// found by descriptor and checked by the socket's cookie, so a descriptor
// number reused for a new connection never inherits an old one's tap.
#include "frr_ha/tap.h"

#include "chunk_pool.hpp"
#include "path_pool.hpp"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "c_api_taps.hpp"
#include "handover_messages.hpp"
#include "session_tap.hpp"
#include "unique_fd.hpp"

using frr_ha::SessionTap;
using frr_ha::Status;
using frr_ha::UniqueFd;

namespace {

void copy_text(char *out, std::size_t len, const std::string &text)
{
    if (!out || len == 0)
        return;
    std::size_t n = std::min(len - 1, text.size());
    std::memcpy(out, text.data(), n);
    out[n] = '\0';
}

// A call the C API gives no way to refuse (it returns nothing) was refused
// all the same: said in the daemon's log, never silent.
void report_refused(const frr_ha_taps *taps, const Status &done)
{
    if (done)
        return;
    if (taps->log)
        taps->log(done.why().c_str());
    else
        std::fprintf(stderr, "frr-ha: %s\n", done.why().c_str());
}

}  // namespace

extern "C" {

struct frr_ha_taps *frr_ha_taps_new(void)
{
    return new frr_ha_taps();  // owned by the caller, freed by frr_ha_taps_free
}

void frr_ha_taps_set_log(struct frr_ha_taps *taps, frr_ha_taps_log log)
{
    taps->log = log;
}

void frr_ha_taps_free(struct frr_ha_taps *taps)
{
    std::unique_ptr<frr_ha_taps> owned(taps);
}

ssize_t frr_ha_tap_read(struct frr_ha_taps *taps, int fd, void *buf, size_t len,
                        bool *mirror_ended)
{
    return taps->get(fd).read(buf, len, mirror_ended);
}

ssize_t frr_ha_tap_writev(struct frr_ha_taps *taps, int fd, const struct iovec *iov, int iovcnt)
{
    return taps->get(fd).writev(iov, iovcnt);
}

int frr_ha_tap_output_fd(struct frr_ha_taps *taps, int fd)
{
    std::shared_lock<std::shared_mutex> lock(taps->mutex);
    SessionTap *tap = taps->find(fd);
    return tap ? tap->output_fd() : fd;
}

bool frr_ha_tap_swallows_writes(struct frr_ha_taps *taps, int fd)
{
    std::shared_lock<std::shared_mutex> lock(taps->mutex);
    SessionTap *tap = taps->find(fd);
    return tap && tap->swallows_writes();
}

int frr_ha_tap_input_held_on(struct frr_ha_taps *taps, int fd)
{
    std::shared_lock<std::shared_mutex> lock(taps->mutex);
    SessionTap *tap = taps->find(fd);
    return tap ? tap->input_held_on() : -1;
}

bool frr_ha_tap_pump(struct frr_ha_taps *taps, int fd, unsigned int lag_limit_ms,
                     size_t make_budget)
{
    std::shared_lock<std::shared_mutex> lock(taps->mutex);
    SessionTap *tap = taps->find(fd);
    return tap && tap->pump(std::chrono::milliseconds(lag_limit_ms), make_budget);
}

int frr_ha_tap_input_fd(struct frr_ha_taps *taps, int fd)
{
    std::shared_lock<std::shared_mutex> lock(taps->mutex);
    SessionTap *tap = taps->find(fd);
    return tap ? tap->input_fd(taps->parked.get()) : fd;
}

bool frr_ha_tap_hand_over(struct frr_ha_taps *taps, int fd, int conn,
                          const struct frr_ha_handover *handover,
                          const struct frr_ha_handover_links *links, size_t max_message,
                          bool receive_only, char *why, size_t why_len)
{
    UniqueFd in(links->input[0]), out(links->sendlog[0]);
    SessionTap &tap = taps->get(fd);
    tap.set_max_message(max_message);
    // The standby's shadow gets the links first; the history follows.
    Status done = tap.attachable(receive_only);
    if (done) {
        frr_ha::SessionHandoverMessage m;
        m.epoch = handover->epoch;
        m.vrf = handover->vrf;
        m.neighbor = handover->neighbor;
        done = frr_ha::send_session_handover(conn, m, {fd, links->input[1], links->sendlog[1]});
    }
    if (done)
        done = tap.attach(std::move(in), std::move(out), UniqueFd(fcntl(conn, F_DUPFD_CLOEXEC, 0)),
                          receive_only);
    copy_text(why, why_len, done.why());
    return static_cast<bool>(done);
}

bool frr_ha_tap_attachable(struct frr_ha_taps *taps, int fd, bool receive_only, char *why,
                           size_t why_len)
{
    std::shared_lock<std::shared_mutex> lock(taps->mutex);
    SessionTap *tap = taps->find(fd);
    Status can = tap ? tap->attachable(receive_only) : Status::fail("no such session");
    copy_text(why, why_len, can.why());
    return static_cast<bool>(can);
}

void frr_ha_tap_unprotect(struct frr_ha_taps *taps, int fd, const char *why)
{
    std::shared_lock<std::shared_mutex> lock(taps->mutex);
    if (SessionTap *tap = taps->find(fd))
        report_refused(taps, tap->unprotect(why));
}

void frr_ha_tap_exclude(struct frr_ha_taps *taps, int fd, const char *why)
{
    std::shared_lock<std::shared_mutex> lock(taps->mutex);
    if (SessionTap *tap = taps->find(fd))
        report_refused(taps, tap->exclude(why));
}

bool frr_ha_tap_release(struct frr_ha_taps *taps, int fd, bool silently, char *why,
                        size_t why_len)
{
    std::unique_lock<std::shared_mutex> lock(taps->mutex);  // follow() changes the entry
    SessionTap *tap = taps->find(fd);
    // A socket without a tap (its tap swept, or never made) that goes on
    // from another host closes without a word all the same.
    Status released = tap ? tap->release(silently)
                          : silently ? frr_ha::release_silently(fd) : Status::ok();
    taps->follow(fd);
    copy_text(why, why_len, released.why());
    return static_cast<bool>(released);
}

bool frr_ha_tap_isolate(struct frr_ha_taps *taps, int fd, char *why, size_t why_len)
{
    std::unique_lock<std::shared_mutex> lock(taps->mutex);  // follow() changes the entry
    SessionTap *tap = taps->find(fd);
    Status isolated = tap ? tap->isolate() : Status::fail("no such session");
    if (!isolated) {
        copy_text(why, why_len, isolated.why());
        return false;
    }
    taps->follow(fd);
    return true;
}

void frr_ha_tap_shadow_ended(struct frr_ha_taps *taps, int fd, const char *why)
{
    std::unique_lock<std::shared_mutex> lock(taps->mutex);
    auto it = taps->find_maybe_closed(fd);
    if (it == taps->by_fd.end())
        return;
    it->second.tap->tell_active_shadow_ended(why ? why : "");
    taps->by_fd.erase(it);
}

int frr_ha_tap_standby_word_fd(struct frr_ha_taps *taps, int fd)
{
    std::shared_lock<std::shared_mutex> lock(taps->mutex);
    SessionTap *tap = taps->find(fd);
    return tap ? tap->standby_word_fd() : -1;
}

bool frr_ha_tap_take_standby_word(struct frr_ha_taps *taps, int fd, char *why, size_t why_len)
{
    std::shared_lock<std::shared_mutex> lock(taps->mutex);
    SessionTap *tap = taps->find(fd);
    if (!tap || !tap->take_standby_word("the standby closed the session's links"))
        return false;
    copy_text(why, why_len, tap->why_unprotected());
    return true;
}

void frr_ha_tap_end_for_graceful_restart(struct frr_ha_taps *taps, int fd)
{
    std::shared_lock<std::shared_mutex> lock(taps->mutex);
    if (SessionTap *tap = taps->find(fd))
        report_refused(taps, tap->end_for_graceful_restart());
}

void frr_ha_tap_add_shadow(struct frr_ha_taps *taps, int fd, int input_link, int sendlog_link,
                           const struct frr_ha_tap_bias *bias)
{
    UniqueFd in(input_link), out(sendlog_link);
    std::optional<frr_ha::TcpCountBias> b;
    if (bias)
        b = frr_ha::TcpCountBias{bias->acked, bias->received};
    std::unique_lock<std::shared_mutex> lock(taps->mutex);
    taps->put(fd, frr_ha_taps::cookie(fd),
              std::make_unique<SessionTap>(fd, std::move(in), std::move(out), b));
}

bool frr_ha_tap_history_ended(struct frr_ha_taps *taps, int fd, const struct frr_ha_tap_bias *bias)
{
    std::shared_lock<std::shared_mutex> lock(taps->mutex);
    SessionTap *tap = taps->find(fd);
    return tap && tap->history_ended(frr_ha::TcpCountBias{bias->acked, bias->received});
}

void frr_ha_tap_open_gate(struct frr_ha_taps *taps, int fd)
{
    std::shared_lock<std::shared_mutex> lock(taps->mutex);
    if (SessionTap *tap = taps->find(fd))
        tap->open_gate();
}

int frr_ha_tap_sendlog_fd(struct frr_ha_taps *taps, int fd)
{
    std::shared_lock<std::shared_mutex> lock(taps->mutex);
    SessionTap *tap = taps->find(fd);
    return tap ? tap->sendlog_fd() : -1;
}

bool frr_ha_tap_drain_sendlog(struct frr_ha_taps *taps, int fd, char *why, size_t why_len)
{
    std::shared_lock<std::shared_mutex> lock(taps->mutex);
    SessionTap *tap = taps->find(fd);
    Status drained = tap ? tap->drain_sendlog(false) : Status::fail("no such session");
    if (!drained) {
        copy_text(why, why_len, drained.why());
        return false;
    }
    return true;
}

namespace {
void fill_info(const SessionTap &tap, struct frr_ha_tap_info *out);
}

bool frr_ha_tap_take_over(struct frr_ha_taps *taps, int fd, size_t max_message,
                          bool writers_gone, const char *md5_key, struct frr_ha_tap_info *info,
                          char *why, size_t why_len)
{
    // Shared: the session's own lock (held by the caller) guards the tap,
    // and a takeover of many sessions must not stop every other session's
    // I/O on the map's lock, one session at a time.
    std::shared_lock<std::shared_mutex> lock(taps->mutex);
    SessionTap *tap = taps->find(fd);
    if (tap)
        tap->set_max_message(max_message);
    std::optional<std::string> key;
    if (md5_key)
        key = md5_key;
    Status taken = tap ? tap->take_over(writers_gone, key) : Status::fail("no such session");
    taps->follow(fd);
    if (tap && info)
        fill_info(*tap, info);
    if (!taken) {
        copy_text(why, why_len, taken.why());
        return false;
    }
    return true;
}

size_t frr_ha_tap_takeover_messages(struct frr_ha_taps *taps, int fd,
                                    void (*emit)(void *ctx, const void *data, size_t len),
                                    void *ctx)
{
    std::shared_lock<std::shared_mutex> lock(taps->mutex);
    SessionTap *tap = taps->find(fd);
    if (!tap)
        return 0;
    // None when they cannot be made: the reason is shown (takeover_diff_problem).
    auto messages = tap->take_takeover_messages();
    if (!messages)
        return 0;
    for (const auto &m : *messages)
        emit(ctx, m.data(), m.size());
    return messages->size();
}

bool frr_ha_tap_info(struct frr_ha_taps *taps, int fd, struct frr_ha_tap_info *out)
{
    std::shared_lock<std::shared_mutex> lock(taps->mutex);
    SessionTap *tap = taps->find(fd);
    if (!tap)
        return false;
    fill_info(*tap, out);
    return true;
}

namespace {
void fill_info(const SessionTap &t, struct frr_ha_tap_info *out)
{
    const SessionTap *tap = &t;
    static_assert(static_cast<int>(frr_ha::TapMode::GracefulEnd) == FRR_HA_TAP_GRACEFUL_END &&
                      static_cast<int>(frr_ha::TapMode::Mirroring) == FRR_HA_TAP_MIRRORING,
                  "frr_ha_tap_mode follows TapMode");
    out->mode = static_cast<frr_ha_tap_mode>(tap->shown_mode());
    out->mode_name = frr_ha::tap_mode_name(tap->shown_mode());
    copy_text(out->why, sizeof(out->why), tap->why_unprotected());
    out->consumed = tap->consumed();
    out->written = tap->written();
    out->mirrored = tap->mirrored();
    out->sendlog_messages = tap->sendlog_messages();
    out->receive_only = tap->receive_only();
    out->completed_bytes = tap->completed_bytes();
    out->input_moved = tap->input_moved();
    out->duplicates_dropped = tap->duplicates_dropped();
    out->isolated = tap->isolated();
    out->history_complete = tap->history_complete();
    out->unsent_messages = tap->unsent_messages();
    out->takeover_diff_messages = tap->takeover_diff_messages();
    out->received_prefixes = tap->received_prefixes();
    out->peer_holds_prefixes = tap->peer_holds_prefixes();
    out->shadow_sent_prefixes = tap->shadow_sent_prefixes();
    copy_text(out->takeover_diff_problem, sizeof(out->takeover_diff_problem),
              tap->takeover_diff_problem());
    copy_text(out->takeover_rebuilt, sizeof(out->takeover_rebuilt), tap->rebuilt());
    auto r = tap->replication_stats();
    out->bytes_mirrored = r.bytes_mirrored;
    out->bytes_logged = r.bytes_logged;
    out->backpressure_events = r.backpressure_events;
    out->lag_bytes = r.lag_bytes;
    out->pending_bytes = r.pending_bytes;
    out->history_bytes = r.history_bytes;
    out->held_ms = r.held_ms;
    out->held_p50_ms = r.held_p50_ms;
    out->held_p99_ms = r.held_p99_ms;
    out->held_max_ms = r.held_max_ms;
    out->protected_after_ms = r.protected_after_ms;
}
}  // namespace

void frr_ha_taps_sweep(struct frr_ha_taps *taps)
{
    std::unique_lock<std::shared_mutex> lock(taps->mutex);
    for (auto it = taps->by_fd.begin(); it != taps->by_fd.end();) {
        if (frr_ha_taps::cookie(it->first) != it->second.cookie)
            it = taps->by_fd.erase(it);
        else
            ++it;
    }
}

bool frr_ha_handover_receive(int conn, enum frr_ha_handover_message *kind,
                             struct frr_ha_handover *handover, int fds[3], char *why,
                             size_t why_len)
{
    auto got = frr_ha::receive_handover_message(conn);
    if (!got) {
        copy_text(why, why_len, got.why());
        return false;
    }
    *handover = {};
    if (got->history_end) {
        *kind = FRR_HA_HANDOVER_HISTORY_END;
        handover->has_bias = true;
        handover->bias.received = got->history_end->bias.received;
        handover->bias.acked = got->history_end->bias.acked;
        return true;
    }
    const frr_ha::SessionHandoverMessage &m = *got->session;
    *kind = FRR_HA_HANDOVER_SESSION;
    handover->epoch = m.epoch;
    copy_text(handover->vrf, sizeof(handover->vrf), m.vrf);
    copy_text(handover->neighbor, sizeof(handover->neighbor), m.neighbor);
    handover->has_bias = m.bias.has_value();
    if (m.bias) {
        handover->bias.received = m.bias->received;
        handover->bias.acked = m.bias->acked;
    }
    for (int i = 0; i < 3; i++)
        fds[i] = got->fds[i].release();
    return true;
}

void frr_ha_records_shared(size_t *paths, size_t *chunks)
{
    *paths = frr_ha::interned_paths();
    *chunks = frr_ha::interned_chunks();
}

}  // extern "C"
