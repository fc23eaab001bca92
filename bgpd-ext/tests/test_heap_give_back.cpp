// The heap a load freed goes back to the kernel, once, and only when it is
// worth it: with glibc's real allocator and this process's real RSS.
#include <catch2/catch.hpp>

#include "heap_give_back.hpp"

#include <memory>
#include <vector>

using namespace frr_ha;

namespace {

// `total` bytes in small blocks (below glibc's mmap threshold, so they come
// from an arena), every one written; every 16th is kept, the rest freed, so
// the arena cannot shrink from its top on its own.
std::vector<std::unique_ptr<char[]>> load_and_free(std::size_t total)
{
    constexpr std::size_t kBlock = 1024;
    std::vector<std::unique_ptr<char[]>> blocks;
    blocks.reserve(total / kBlock);
    for (std::size_t i = 0; i < total / kBlock; i++)
        blocks.push_back(std::make_unique<char[]>(kBlock));
    std::vector<std::unique_ptr<char[]>> kept;
    for (std::size_t i = 0; i < blocks.size(); i += 16)
        kept.push_back(std::move(blocks[i]));
    return kept;
}

}  // namespace

TEST_CASE("the heap a load freed is given back to the kernel once the process settled, once")
{
    HeapGiveBack heap;
    (void)heap.give_back();  // what earlier cases left
    CHECK_FALSE(heap.worth_it(HeapGiveBack::read()));

    auto kept = load_and_free(128u << 20);
    const auto loaded = HeapGiveBack::read();
    CHECK(loaded.free_bytes >= (100u << 20));
    // The look that sees the load still sees the process growing.
    CHECK_FALSE(heap.worth_it(loaded));
    // The next one finds it settled.
    REQUIRE(heap.worth_it(HeapGiveBack::read()));

    const auto g = heap.give_back();
    CHECK(g.rss_before >= g.rss_after + (64u << 20));
    CHECK(HeapGiveBack::read().rss_bytes <= g.rss_after + (4u << 20));
    // What was given back still counts as free inside malloc: not again
    // until the process grows.
    CHECK(HeapGiveBack::read().free_bytes >= HeapGiveBack::kWorthIt);
    CHECK_FALSE(heap.worth_it(HeapGiveBack::read()));
    CHECK_FALSE(heap.worth_it(HeapGiveBack::read()));

    // A second load grows the process again: worth it again once settled.
    auto kept_again = load_and_free(128u << 20);
    CHECK_FALSE(heap.worth_it(HeapGiveBack::read()));
    CHECK(heap.worth_it(HeapGiveBack::read()));
    (void)heap.give_back();
}
