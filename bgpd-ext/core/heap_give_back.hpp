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

    // Whether to give back at `now`: enough lies free, and the process grew
    // by kWorthIt since the last give-back (pages given back stay counted
    // free, so without the growth it would repeat for nothing).
    bool worth_it(const Reading &now) const;

    struct GaveBack {
        std::size_t rss_before = 0, rss_after = 0;
        double ms = 0;
    };
    // Gives back whatever lies free, and remembers the RSS after.
    GaveBack give_back();

private:
    std::optional<std::size_t> rss_after_last_;
};

}  // namespace frr_ha
