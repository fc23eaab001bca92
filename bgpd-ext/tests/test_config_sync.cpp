// One configuration for the pair (config_sync.hpp), PairNode against
// PairNode (pair_harness.hpp). The hosts' running configurations are lists
// of lines; the glue's part (run the line on the active once the standby
// accepted it) is played by run_on_active().
#include <catch2/catch.hpp>

#include "pair_harness.hpp"

namespace {

constexpr int kA = 0, kB = 1;

// What the glue does with a line typed on the active: forward it, wait for
// the standby's answer, run it here unless the standby refused it.
// `before_run_ms`: how long the active takes between forwarding the line
// and running it (its wait for the answer, then the command itself), during
// which the RPs' heartbeats keep crossing.
ConfigAnswer type_on_active(Harness &h, std::uint64_t session, const std::string &line,
                            Millis before_run_ms = 0)
{
    std::string why;
    auto seq = h.nodes[kA]->forward_config_line(session, line, &why);
    ConfigAnswer answer{ConfigAnswer::Kind::Lost, why};
    if (seq) {
        h.pump();
        h.run(before_run_ms);
        answer = h.nodes[kA]->config_answer(*seq);
        if (answer.kind == ConfigAnswer::Kind::Pending) {
            h.nodes[kA]->config_answer_timed_out(*seq, 3000);
            answer.output = "timed out";
        }
    }
    if (answer.kind != ConfigAnswer::Kind::Refused)
        h.hosts[kA]->run_config_line(session, line);
    h.nodes[kA]->config_changed();
    return answer;
}

ConfigState state(Harness &h, int id)
{
    return h.nodes[id]->config_view().state;
}

}  // namespace

TEST_CASE("a formed pair with one configuration is in step on both RPs")
{
    auto h = formed_pair();
    CHECK(state(h, kA) == ConfigState::InStep);
    CHECK(state(h, kB) == ConfigState::InStep);
    CHECK(h.nodes[kB]->ready());
    const auto a = h.nodes[kA]->config_view();
    const auto b = h.nodes[kB]->config_view();
    CHECK(a.digest == b.digest);
    CHECK(a.digest.size() == 64);
    CHECK(a.partner_digest == b.digest);
}

TEST_CASE("a configuration line runs on the standby before the active, in the same order")
{
    auto h = formed_pair();
    CHECK(type_on_active(h, 7, "configure terminal").kind == ConfigAnswer::Kind::Accepted);
    CHECK(type_on_active(h, 7, "neighbor 10.0.0.5 remote-as 65005").kind ==
          ConfigAnswer::Kind::Accepted);
    CHECK(type_on_active(h, 7, "no neighbor 10.0.0.5 remote-as 65005").kind ==
          ConfigAnswer::Kind::Accepted);
    CHECK(type_on_active(h, 7, "neighbor 10.0.0.6 remote-as 65006").kind ==
          ConfigAnswer::Kind::Accepted);
    // The standby ran them on the mirror of session 7, in order.
    std::vector<std::string> mirrored;
    for (const auto &[session, line] : h.hosts[kB]->ran) {
        CHECK(session == 7);
        mirrored.push_back(line);
    }
    CHECK(mirrored == std::vector<std::string>{"configure terminal",
                                               "neighbor 10.0.0.5 remote-as 65005",
                                               "no neighbor 10.0.0.5 remote-as 65005",
                                               "neighbor 10.0.0.6 remote-as 65006"});
    CHECK(h.hosts[kB]->config == h.hosts[kA]->config);
    h.nodes[kA]->end_config_session(7);
    h.run(300);
    CHECK(h.hosts[kB]->ended == std::vector<std::uint64_t>{7});
    CHECK(state(h, kA) == ConfigState::InStep);
    CHECK(state(h, kB) == ConfigState::InStep);
    CHECK(h.nodes[kA]->config_view().generation == h.nodes[kB]->config_view().generation);
    CHECK(h.nodes[kA]->config_view().lines_forwarded == 4);
    CHECK(h.nodes[kB]->config_view().lines_mirrored == 4);
}

TEST_CASE("heartbeats that cross lines in flight keep both RPs in step, however long the lines "
          "keep coming")
{
    auto h = formed_pair();
    // A configuration file typed line after line for 6 s: the standby has
    // always run one line more than the active when their STATUSes cross.
    CHECK(type_on_active(h, 5, "configure terminal", 200).kind == ConfigAnswer::Kind::Accepted);
    for (int i = 0; i < 20; i++) {
        const auto line = "neighbor 10.0.1." + std::to_string(i) + " remote-as 6510" +
                          std::to_string(i % 10);
        CHECK(type_on_active(h, 5, line, 200).kind == ConfigAnswer::Kind::Accepted);
        h.run(100);
        CHECK(state(h, kA) == ConfigState::InStep);
        CHECK(state(h, kB) == ConfigState::InStep);
    }
    h.run(2000);
    CHECK(h.hosts[kB]->config == h.hosts[kA]->config);
    CHECK(state(h, kA) == ConfigState::InStep);
    CHECK(state(h, kB) == ConfigState::InStep);
    const auto a = h.nodes[kA]->config_view();
    CHECK(a.lines_forwarded == 21);
    CHECK(a.lines_alone == 0);
    CHECK(a.last_problem.empty());
    CHECK(h.nodes[kB]->config_view().adoptions == 0);
    CHECK(a.generation == h.nodes[kB]->config_view().generation);
    CHECK_FALSE(h.hosts[kA]->logged("no longer follows"));
}

TEST_CASE("a line the standby refuses is refused with its error and changes neither RP")
{
    auto h = formed_pair();
    const auto before = h.hosts[kA]->config;
    auto answer = type_on_active(h, 3, "bad line");
    CHECK(answer.kind == ConfigAnswer::Kind::Refused);
    CHECK(answer.output == "% Unknown command: bad line\n");
    CHECK(h.hosts[kA]->config == before);
    CHECK(h.hosts[kB]->config == before);
    h.run(300);
    CHECK(state(h, kA) == ConfigState::InStep);
    CHECK(h.nodes[kA]->config_view().lines_refused == 1);
    CHECK(h.nodes[kB]->ready());
}

TEST_CASE("a stopped standby costs one line a bounded wait, loses step, then catches up")
{
    auto h = formed_pair();
    h.stop(kB);
    auto first = type_on_active(h, 1, "neighbor 10.0.0.7 remote-as 65007");
    CHECK(first.output == "timed out");
    CHECK(state(h, kA) == ConfigState::CatchingUp);
    CHECK(h.nodes[kA]->config_view().last_problem.find("did not answer") != std::string::npos);
    // The next line is not forwarded: it runs on the active alone.
    auto second = type_on_active(h, 1, "neighbor 10.0.0.8 remote-as 65008");
    CHECK(second.kind == ConfigAnswer::Kind::Lost);
    CHECK(second.output == "the standby is catching up");
    // Silent past the hang-detection time (the active waits that long for a
    // busy standby): the active drops the channel; the pair reconnects once
    // the standby runs again.
    h.run(3200);
    CHECK(state(h, kA) == ConfigState::Alone);
    h.resume(kB);
    h.connect(kA, kB);
    h.run(3000);
    CHECK(h.hosts[kB]->config == h.hosts[kA]->config);
    CHECK(state(h, kA) == ConfigState::InStep);
    CHECK(state(h, kB) == ConfigState::InStep);
    CHECK(h.nodes[kB]->ready());
    CHECK(h.nodes[kA]->config_view().lines_alone == 2);
}

TEST_CASE("a standby that joins with another configuration adopts the active's before it is "
          "ready")
{
    Harness h;
    h.start("a");
    h.start("b");
    h.hosts[kB]->config = {"router bgp 65001", "neighbor 10.0.0.9 remote-as 65009"};
    h.hosts[kA]->config.push_back("neighbor 10.0.0.5 remote-as 65005");
    h.connect(kA, kB);
    h.run(500);
    CHECK_FALSE(h.nodes[kB]->ready());
    CHECK(h.nodes[kB]->not_ready_reason().find("configuration") != std::string::npos);
    CHECK_FALSE(h.nodes[kA]->request_switchover(h.now).empty());
    h.run(2000);
    CHECK(h.hosts[kB]->config == h.hosts[kA]->config);
    CHECK(h.nodes[kB]->ready());
    const auto b = h.nodes[kB]->config_view();
    CHECK(b.adoptions == 1);
    CHECK(b.adoption_lines >= 3);  // the removal, the additions
    CHECK(b.differences.empty());
    CHECK(state(h, kA) == ConfigState::InStep);
}

TEST_CASE("what a standby cannot adopt is shown, it stays not ready, and no planned switchover "
          "goes to it")
{
    Harness h;
    h.start("a");
    h.start("b");
    h.hosts[kA]->config.push_back("bad option only the active has");
    h.connect(kA, kB);
    h.run(3000);
    const auto b = h.nodes[kB]->config_view();
    CHECK(b.state == ConfigState::Differs);
    REQUIRE(b.differences.size() == 1);
    CHECK(b.differences[0] == "+ bad option only the active has");
    CHECK_FALSE(h.nodes[kB]->ready());
    CHECK(h.nodes[kB]->not_ready_reason() ==
          "configuration differs from the active's: + bad option only the active has");
    auto why = h.nodes[kA]->request_switchover(h.now);
    CHECK(why.find("+ bad option only the active has") != std::string::npos);
    CHECK(h.nodes[kA]->role() == Role::Active);
    // It does not ask again for the same generation...
    h.run(3000);
    CHECK(h.nodes[kB]->config_view().adoptions == 1);
    // ...but does once the active's configuration changed.
    h.hosts[kA]->config.pop_back();
    h.nodes[kA]->config_changed();
    type_on_active(h, 0, "neighbor 10.0.0.5 remote-as 65005");
    h.run(3000);
    CHECK(h.hosts[kB]->config == h.hosts[kA]->config);
    CHECK(h.nodes[kB]->ready());
}

TEST_CASE("an RP alone, or whose pair is not configured, is not ready to take over and says why")
{
    Harness h;
    h.start("a");
    h.run(500);
    REQUIRE(h.nodes[kA]->role() == Role::Active);
    CHECK(h.nodes[kA]->config_view().state == ConfigState::Alone);
    PairConfig lonely;
    lonely.self = "a";
    TestHost host(9, h.locks[2], h.wire);
    PairNode unpaired(host, lonely, h.now);
    CHECK_FALSE(unpaired.ready());
    CHECK(unpaired.not_ready_reason().find("configuration: ") == 0);
}
