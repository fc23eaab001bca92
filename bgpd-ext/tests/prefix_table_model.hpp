// A PrefixTable checked against std::map over the same keys (the order
// records replayed in before the table): random IPv4 keys over a small
// space, so chunks fill, split, empty and merge.
#pragma once

#include "prefix_table.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <random>
#include <string>

namespace frr_ha {

inline const std::uint8_t *raw(const std::string &k) { return reinterpret_cast<const std::uint8_t *>(k.data()); }

// A 5-byte key over a small space, so chunks fill, split, empty and merge.
inline std::string random_key(std::mt19937 &rng)
{
    std::string k(5, '\0');
    k[0] = static_cast<char>(rng() % 3 == 0 ? 16 + rng() % 17 : 24);
    const std::size_t bytes = (static_cast<std::uint8_t>(k[0]) + 7) / 8;
    for (std::size_t i = 1; i <= bytes; i++)
        k[i] = static_cast<char>(i == 1 ? rng() % 4 : rng() % 64);
    return k;
}

using Model = std::map<std::string, const PathBlock *>;

// Content and order, then lookups and bounds at random keys.
inline void check_against(const PrefixTable &table, const Model &model, std::mt19937 &rng,
                          int probes = 300)
{
    REQUIRE(table.size() == model.size());
    auto it = model.begin();
    for (auto p = table.begin(); !table.at_end(p); table.next(p), ++it) {
        REQUIRE(it != model.end());
        REQUIRE(std::string(reinterpret_cast<const char *>(table.key(p)), 5) == it->first);
        REQUIRE(table.path(p).get() == it->second);
    }
    REQUIRE(it == model.end());
    for (int probe = 0; probe < probes; probe++) {
        const std::string k = random_key(rng);
        auto m = model.find(k);
        const PathRef *found = table.find(raw(k));
        REQUIRE((found != nullptr) == (m != model.end()));
        if (found)
            REQUIRE(found->get() == m->second);
        auto after = model.upper_bound(k);
        auto p = table.upper_bound(raw(k));
        REQUIRE(table.at_end(p) == (after == model.end()));
        if (after != model.end())
            REQUIRE(std::string(reinterpret_cast<const char *>(table.key(p)), 5) == after->first);
    }
}

}  // namespace frr_ha
