// One configuration for the pair (docs/ha-pair.md, "One configuration").
//
// The active forwards every configuration line typed on it to the standby
// *before* it runs the line; the standby runs it on its mirror of that vty
// session and answers. The active runs the line only if the standby
// accepted it, so both apply the same lines in the same order, and a line
// the standby refuses is refused on both with the standby's error.
//
// Both RPs publish a generation and a digest of their configuration with
// every STATUS. A standby that is not in step (it joined, restarted with an
// old file, missed a line the active ran alone, or ran a line the active
// then failed) asks for the active's running configuration and adopts it:
// it runs the lines that turn its configuration into the active's (up to
// three rounds), then compares again. What still differs is shown, and the
// standby is not ready until nothing does.
//
// No I/O here: the node sends the messages, the host runs lines on bgpd.
#pragma once

#include "pair_types.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace frr_ha {

namespace wire {
class Message;
class Status;
}  // namespace wire

class PairHost;

// How this RP sees the pair's configuration.
enum class ConfigState {
    Alone,       // no partner to compare with (or this RP is in init)
    Comparing,   // the partner's digest is not known yet for this generation
    InStep,      // equal (the active: the standby follows every line)
    CatchingUp,  // the standby asked for the active's configuration
    Differs,     // adopted, and still different: see differences()
};
std::string_view name_of(ConfigState state);

// The standby's answer to one forwarded line, as the active sees it.
struct ConfigAnswer {
    enum class Kind { Pending, Accepted, Refused, Lost };
    Kind kind = Kind::Pending;
    std::string output;  // Refused: the standby's error; Lost: why no answer
};

struct ConfigView {
    ConfigState state = ConfigState::Alone;
    std::uint64_t generation = 0;
    std::string digest;  // "" until computed
    bool partner_known = false;
    std::uint64_t partner_generation = 0;
    std::string partner_digest;
    std::vector<std::string> differences;  // Differs: "+ ..." / "- ..." lines
    std::string last_problem;              // why the pair last left step
    std::uint64_t lines_forwarded = 0, lines_refused = 0, lines_alone = 0;
    std::uint64_t answers_late = 0;
    std::uint64_t lines_mirrored = 0;  // standby: lines run on its mirrors
    std::uint64_t adoptions = 0, adoption_lines = 0;
    std::uint32_t last_adoption_ms = 0;
};

class ConfigSync {
public:
    using Send = std::function<void(const wire::Message &)>;

    explicit ConfigSync(PairHost &host) : host_(host) {}

    // This RP's configuration changed (a configuration line ran). A line
    // forwarded before it counts from here: the generation and the digest
    // published in STATUS always describe the same configuration.
    void changed();
    void fill_status(wire::Status &status);
    // A STATUS from the partner; `self` and `partner` are the roles now.
    void partner_status(const wire::Status &status, Role self, Role partner, Millis now,
                        const Send &send);
    // ConfigLine, ConfigAnswer, ConfigSessionEnd, ConfigRequest, ConfigChunk.
    void on_message(const wire::Message &msg, Role self, Millis now, const Send &send);
    // The channel to the partner closed: an unanswered line gets no answer.
    void partner_lost();
    void role_changed(Role role);

    // --- the active ---------------------------------------------------------
    // Sends the line to an in-step standby; its sequence number, or nothing
    // (and why in *why_not) when the line is not forwarded.
    std::optional<std::uint64_t> forward(std::uint64_t session, const std::string &line,
                                         const Send &send, std::string *why_not);
    ConfigAnswer answer(std::uint64_t seq) const;
    // No answer came in time: the line runs on the active alone.
    void answer_timed_out(std::uint64_t seq, Millis waited);
    // The active ran a configuration line without the standby.
    void ran_alone(const std::string &why);
    void end_session(std::uint64_t session, const Send &send);

    // --- the standby --------------------------------------------------------
    // "" when the standby's configuration is the active's.
    std::string not_ready_reason() const;

    ConfigView view() const;

private:
    void refresh_digest();
    void leave_step(const std::string &why);
    void adopt(const std::string &text, std::uint64_t generation, Millis now);

    PairHost &host_;
    Role role_ = Role::Init;
    bool dirty_ = true;
    ConfigView v_;
    // The active: a line was forwarded (or runs alone) and has not run here
    // yet; its generation is published once it has.
    bool line_running_ = false;
    // The active: the forwarded line waiting for its answer.
    std::uint64_t next_seq_ = 0;
    std::uint64_t awaiting_ = 0;
    ConfigAnswer awaited_;
    // The standby: since when the active's configuration has differed from
    // its own without the active's generation moving (lines still coming
    // restart the wait), and its request in flight.
    std::optional<Millis> mismatch_since_;
    std::uint64_t mismatch_generation_ = 0;
    bool requested_ = false;
    std::uint64_t request_generation_ = 0;
    std::string incoming_;  // ConfigChunk text so far
};

}  // namespace frr_ha
