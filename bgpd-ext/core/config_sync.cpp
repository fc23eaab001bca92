#include "config_sync.hpp"

#include "config_text.hpp"
#include "ha_channel.pb.h"
#include "pair_node.hpp"

#include <chrono>

namespace frr_ha {

namespace {

// A standby whose digest differs from the active's waits this long before it
// asks for the active's configuration: a line in flight, or a digest not
// refreshed yet, settles well within it.
constexpr Millis kMismatchGraceMs = 1000;
// The running configuration travels in chunks that fit a frame.
constexpr std::size_t kChunkBytes = 512 * 1024;
// Adoption rounds: removing a line can take others with it ("no neighbor X
// remote-as" removes the neighbor); the next round puts them back.
constexpr int kAdoptionRounds = 3;
// The mirror session adoption runs its lines on (never an active's vty).
constexpr std::uint64_t kAdoptionSession = ~std::uint64_t{0};
constexpr std::size_t kDifferencesKept = 50;

std::string first_lines(const std::vector<std::string> &lines, std::size_t n)
{
    std::string out;
    for (std::size_t i = 0; i < lines.size() && i < n; i++)
        out += (i ? "; " : "") + lines[i];
    if (lines.size() > n)
        out += " (and " + std::to_string(lines.size() - n) + " more)";
    return out;
}

}  // namespace

std::string_view name_of(ConfigState state)
{
    switch (state) {
    case ConfigState::Alone:
        return "alone";
    case ConfigState::Comparing:
        return "comparing";
    case ConfigState::InStep:
        return "in-step";
    case ConfigState::CatchingUp:
        return "catching-up";
    case ConfigState::Differs:
        return "differs";
    }
    return "alone";
}

void ConfigSync::refresh_digest()
{
    if (!dirty_)
        return;
    dirty_ = false;
    v_.digest = config::digest(config::comparable(host_.running_config()));
}

void ConfigSync::changed()
{
    if (line_running_) {
        line_running_ = false;
        v_.generation++;
    }
    dirty_ = true;
}

void ConfigSync::fill_status(wire::Status &status)
{
    refresh_digest();
    status.set_config_generation(v_.generation);
    status.set_config_digest(v_.digest);
}

void ConfigSync::leave_step(const std::string &why)
{
    if (v_.state == ConfigState::InStep)
        host_.log(LogLevel::Warning, "configuration: the standby no longer follows: " + why);
    v_.last_problem = why;
    if (role_ == Role::Active && v_.partner_known)
        v_.state = ConfigState::CatchingUp;
}

void ConfigSync::partner_status(const wire::Status &status, Role self, Role partner, Millis now,
                                const Send &send)
{
    role_ = self;
    v_.partner_known = true;
    v_.partner_generation = status.config_generation();
    v_.partner_digest = status.config_digest();
    refresh_digest();
    const bool equal = !v_.partner_digest.empty() && v_.partner_digest == v_.digest;

    if (self == Role::Active && partner == Role::Standby) {
        if (equal && v_.partner_generation == v_.generation) {
            if (v_.state != ConfigState::InStep)
                host_.log(LogLevel::Info, "configuration: the standby follows (generation " +
                                              std::to_string(v_.generation) + ")");
            v_.state = ConfigState::InStep;
        } else if (v_.state == ConfigState::InStep && !equal &&
                   v_.partner_generation == v_.generation) {
            leave_step("the standby's configuration differs at generation " +
                       std::to_string(v_.generation));
        } else if (v_.state != ConfigState::InStep) {
            v_.state = ConfigState::CatchingUp;
        }
        return;
    }
    if (self != Role::Standby || partner != Role::Active) {
        v_.state = ConfigState::Alone;
        return;
    }
    if (equal) {
        // The same configuration: follow the active's count from here.
        v_.generation = v_.partner_generation;
        v_.state = ConfigState::InStep;
        v_.differences.clear();
        mismatch_since_.reset();
        requested_ = false;
        return;
    }
    if (requested_)
        return;
    if (v_.state == ConfigState::Differs && v_.partner_generation == request_generation_)
        return;  // adopted that generation and could not match it: wait for a change
    // While lines keep coming the two differ by the line in flight: the
    // standby ran it, the active has not yet. Only a difference that stays
    // while the active's generation does not move is real.
    if (!mismatch_since_ || mismatch_generation_ != v_.partner_generation) {
        mismatch_since_ = now;
        mismatch_generation_ = v_.partner_generation;
    }
    if (now - *mismatch_since_ < kMismatchGraceMs) {
        const bool line_in_flight = v_.partner_generation < v_.generation;
        if ((v_.state == ConfigState::InStep && !line_in_flight) || v_.state == ConfigState::Alone)
            v_.state = ConfigState::Comparing;
        return;
    }
    wire::Message req;
    req.mutable_config_request()->set_digest(v_.digest);
    requested_ = true;
    v_.state = ConfigState::CatchingUp;
    host_.log(LogLevel::Info, "configuration: differs from the active's (generation " +
                                  std::to_string(v_.generation) + " here, " +
                                  std::to_string(v_.partner_generation) +
                                  " there): asking for it");
    send(req);
}

void ConfigSync::on_message(const wire::Message &msg, Role self, Millis now, const Send &send)
{
    role_ = self;
    switch (msg.body_case()) {
    case wire::Message::kConfigLine: {
        const auto &l = msg.config_line();
        wire::Message out;
        auto *a = out.mutable_config_answer();
        a->set_seq(l.seq());
        if (self != Role::Standby) {
            a->set_accepted(false);
            a->set_output("% rp " + std::string(name_of(self)) + " is not a standby\n");
            send(out);
            return;
        }
        auto run = host_.run_config_line(l.session(), l.line());
        v_.lines_mirrored++;
        v_.generation = l.generation();
        dirty_ = true;
        a->set_accepted(run.accepted);
        a->set_output(run.output);
        send(out);
        return;
    }
    case wire::Message::kConfigAnswer: {
        const auto &a = msg.config_answer();
        if (a.seq() != awaiting_ || awaiting_ == 0) {
            v_.answers_late++;
            return;
        }
        awaited_.kind = a.accepted() ? ConfigAnswer::Kind::Accepted : ConfigAnswer::Kind::Refused;
        awaited_.output = a.output();
        if (!a.accepted())
            v_.lines_refused++;
        return;
    }
    case wire::Message::kConfigSessionEnd:
        if (self == Role::Standby)
            host_.end_config_session(msg.config_session_end().session());
        return;
    case wire::Message::kConfigRequest: {
        if (self != Role::Active)
            return;
        // The standby replaces its configuration with this one: a line
        // forwarded meanwhile could run on the old one. Lines run here alone
        // until it reports this configuration back.
        if (v_.state == ConfigState::InStep)
            leave_step("the standby asked for the active's configuration");
        const std::string text = host_.running_config();
        for (std::size_t off = 0; off == 0 || off < text.size(); off += kChunkBytes) {
            wire::Message chunk;
            auto *c = chunk.mutable_config_chunk();
            c->set_generation(v_.generation);
            c->set_text(text.substr(off, kChunkBytes));
            c->set_last(off + kChunkBytes >= text.size());
            send(chunk);
        }
        return;
    }
    case wire::Message::kConfigChunk: {
        if (self != Role::Standby || !requested_)
            return;
        const auto &c = msg.config_chunk();
        incoming_ += c.text();
        if (!c.last())
            return;
        std::string text;
        text.swap(incoming_);
        adopt(text, c.generation(), now);
        return;
    }
    default:
        return;
    }
}

void ConfigSync::adopt(const std::string &wanted, std::uint64_t generation, Millis now)
{
    (void)now;
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::string> refused;
    std::uint64_t lines = 0;
    std::string here = host_.running_config();
    for (int round = 0; round < kAdoptionRounds; round++) {
        const auto script = config::adoption_script(here, wanted);
        if (script.empty())
            break;
        host_.run_config_line(kAdoptionSession, "configure terminal");
        for (const auto &line : script) {
            auto run = host_.run_config_line(kAdoptionSession, line);
            lines++;
            if (!run.accepted && refused.size() < 5)
                refused.push_back(line + ": " + run.output);
        }
        host_.end_config_session(kAdoptionSession);
        here = host_.running_config();
    }
    dirty_ = true;
    refresh_digest();
    requested_ = false;
    mismatch_since_.reset();
    request_generation_ = generation;
    v_.adoptions++;
    v_.adoption_lines += lines;
    v_.last_adoption_ms = static_cast<std::uint32_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                              start)
            .count());
    v_.differences = config::differing_lines(here, wanted);
    if (v_.differences.size() > kDifferencesKept)
        v_.differences.resize(kDifferencesKept);
    v_.generation = generation;
    if (v_.differences.empty()) {
        v_.state = ConfigState::InStep;
        host_.log(LogLevel::Info, "configuration: adopted the active's (generation " +
                                      std::to_string(generation) + ", " +
                                      std::to_string(lines) + " lines run, " +
                                      std::to_string(v_.last_adoption_ms) + " ms)");
        return;
    }
    v_.state = ConfigState::Differs;
    v_.last_problem = "adoption left differences";
    host_.log(LogLevel::Warning,
              "configuration: still differs from the active's after adopting it: " +
                  first_lines(v_.differences, 5) +
                  (refused.empty() ? std::string() : "; lines refused: " + first_lines(refused, 5)));
}

void ConfigSync::partner_lost()
{
    if (awaiting_ && awaited_.kind == ConfigAnswer::Kind::Pending) {
        awaited_.kind = ConfigAnswer::Kind::Lost;
        awaited_.output = "the channel to the standby closed";
    }
    v_.partner_known = false;
    v_.partner_digest.clear();
    v_.state = ConfigState::Alone;
    mismatch_since_.reset();
    requested_ = false;
    incoming_.clear();
}

void ConfigSync::role_changed(Role role)
{
    role_ = role;
    awaiting_ = 0;
    line_running_ = false;
    mismatch_since_.reset();
    requested_ = false;
    incoming_.clear();
    if (v_.state == ConfigState::Differs || v_.state == ConfigState::CatchingUp ||
        v_.state == ConfigState::InStep)
        v_.state = ConfigState::Comparing;
}

std::optional<std::uint64_t> ConfigSync::forward(std::uint64_t session, const std::string &line,
                                                 const Send &send, std::string *why_not)
{
    // The line runs here after this (forwarded or alone): changed() counts it.
    line_running_ = true;
    auto refuse = [&](const std::string &why) -> std::optional<std::uint64_t> {
        if (why_not)
            *why_not = why;
        return std::nullopt;
    };
    if (role_ != Role::Active)
        return refuse("this RP is not the active");
    if (!v_.partner_known)
        return refuse("no standby");
    if (v_.state != ConfigState::InStep) {
        v_.lines_alone++;
        return refuse("the standby is catching up");
    }
    if (session == 0) {
        v_.lines_alone++;
        leave_step("a line ran on a vty session that entered configuration before the standby "
                   "followed");
        return refuse("not a mirrored vty session");
    }
    wire::Message msg;
    auto *l = msg.mutable_config_line();
    l->set_session(session);
    l->set_seq(++next_seq_);
    l->set_line(line);
    l->set_generation(v_.generation + 1);
    awaiting_ = next_seq_;
    awaited_ = ConfigAnswer{};
    v_.lines_forwarded++;
    send(msg);
    return awaiting_;
}

ConfigAnswer ConfigSync::answer(std::uint64_t seq) const
{
    if (seq != awaiting_)
        return ConfigAnswer{ConfigAnswer::Kind::Lost, "superseded"};
    return awaited_;
}

void ConfigSync::answer_timed_out(std::uint64_t seq, Millis waited)
{
    if (seq != awaiting_)
        return;
    awaiting_ = 0;
    v_.lines_alone++;
    leave_step("the standby did not answer a configuration line within " +
               std::to_string(waited) + " ms");
}

void ConfigSync::ran_alone(const std::string &why)
{
    v_.lines_alone++;
    if (v_.state == ConfigState::InStep)
        leave_step(why);
}

void ConfigSync::end_session(std::uint64_t session, const Send &send)
{
    if (role_ != Role::Active || !v_.partner_known || session == 0)
        return;
    wire::Message msg;
    msg.mutable_config_session_end()->set_session(session);
    send(msg);
}

std::string ConfigSync::not_ready_reason() const
{
    switch (v_.state) {
    case ConfigState::InStep:
        return {};
    case ConfigState::Alone:
    case ConfigState::Comparing:
        return "configuration not compared with the active's yet";
    case ConfigState::CatchingUp:
        return "adopting the active's configuration";
    case ConfigState::Differs:
        return "configuration differs from the active's: " + first_lines(v_.differences, 2);
    }
    return {};
}

ConfigView ConfigSync::view() const
{
    return v_;
}

}  // namespace frr_ha
