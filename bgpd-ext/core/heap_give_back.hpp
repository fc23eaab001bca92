// Freed heap given back to the kernel (docs/benchmarks.md, "What a session
// costs above stock bgpd").
//
// glibc returns only the top of its heap on its own; what a table load or a
// hand-over freed in the middle stays resident. A standby that had caught
// up with 300 sessions x 10k prefixes kept about 15 MiB so, 6 % of its RSS
// and most of what it cost above stock bgpd. From time to time (the glue's
// timer) the module asks whether enough lies free and the process grew
// since it last gave some back; if so, malloc_trim(0) hands the free pages
// of every arena back.
#pragma once

#include <cstddef>
#include <optional>

namespace frr_ha {

class HeapGiveBack {
public:
    // Free bytes inside malloc's arenas, and the process's resident set.
    struct Reading {
        std::size_t free_bytes = 0;
        std::size_t rss_bytes = 0;
    };
    static Reading read();

    // Below this much free heap a give-back is not worth its page faults.
    static constexpr std::size_t kWorthIt = 4u << 20;

    // Between two looks a process that grew less than this has settled.
    static constexpr std::size_t kSettled = 1u << 20;

    // One look: whether to give back now. Enough lies free; the process
    // grew by kWorthIt since the last give-back (pages given back stay
    // counted free, so without the growth it would repeat for nothing);
    // and it has settled since the previous look (during a load, a
    // give-back returns little and takes the main thread up to 0.2 s at
    // 1M prefixes: 10 x 1M realistic, every 10 s through the load).
    bool worth_it(const Reading &now);

    struct GaveBack {
        std::size_t rss_before = 0, rss_after = 0;
        double ms = 0;
    };
    // Gives back whatever lies free, and remembers the RSS after.
    GaveBack give_back();

private:
    std::optional<std::size_t> rss_after_last_, rss_at_last_look_;
};

}  // namespace frr_ha
