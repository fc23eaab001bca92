#include "heap_give_back.hpp"

#include <malloc.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

namespace frr_ha {

namespace {

std::size_t resident_bytes()
{
    unsigned long size = 0, resident = 0;
    std::FILE *f = std::fopen("/proc/self/statm", "r");
    if (!f)
        return 0;
    if (std::fscanf(f, "%lu %lu", &size, &resident) != 2)
        resident = 0;
    std::fclose(f);
    return resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

}  // namespace

HeapGiveBack::Reading HeapGiveBack::read()
{
    const struct mallinfo2 m = ::mallinfo2();
    return Reading{m.fordblks + m.fsmblks, resident_bytes()};
}

bool HeapGiveBack::worth_it(const Reading &now)
{
    const bool settled = rss_at_last_look_ && now.rss_bytes <= *rss_at_last_look_ + kSettled;
    rss_at_last_look_ = now.rss_bytes;
    if (!settled || now.free_bytes < kWorthIt)
        return false;
    return !rss_after_last_ || now.rss_bytes >= *rss_after_last_ + kWorthIt;
}

HeapGiveBack::GaveBack HeapGiveBack::give_back()
{
    GaveBack g;
    g.rss_before = resident_bytes();
    const auto start = std::chrono::steady_clock::now();
    ::malloc_trim(0);
    g.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
               .count();
    g.rss_after = resident_bytes();
    rss_after_last_ = g.rss_after;
    rss_at_last_look_ = g.rss_after;
    return g;
}

}  // namespace frr_ha
