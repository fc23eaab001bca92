// PrefixTable's chunks shared between tables (chunk_pool.hpp): tables fed
// the same changes hold the same chunks, a change copies only what it
// touches, and every table keeps exactly its own content whatever the others
// do. The pool is process-wide, so counts are taken relative to the start.
#include "chunk_pool.hpp"
#include "prefix_table.hpp"
#include "prefix_table_model.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace frr_ha;

namespace {

std::vector<PathRef> some_paths(int n)
{
    std::vector<PathRef> paths;
    for (int i = 0; i < n; i++)
        paths.push_back(PathRef::intern("sharing test path " + std::to_string(i), nullptr));
    return paths;
}


// One random change of key `k` to a table and its model (an erase in
// erase_share tenths, else a set); erase's answer checked.
void change(PrefixTable &table, Model &model, const std::vector<PathRef> &paths,
            std::mt19937 &rng, unsigned erase_share, const std::string &k)
{
    if (rng() % 10 < erase_share) {
        REQUIRE(table.erase(raw(k)) == (model.erase(k) == 1));
    } else {
        const PathRef &p = paths[rng() % paths.size()];
        table.set(raw(k), p);
        model[k] = p.get();
    }
}

void random_change(PrefixTable &table, Model &model, const std::vector<PathRef> &paths,
                   std::mt19937 &rng, unsigned erase_share)
{
    change(table, model, paths, rng, erase_share, random_key(rng));
}

// Whether `a` and `b` hold the very same chunks, one for one.
bool same_chunks(const PrefixTable &a, const PrefixTable &b)
{
    if (a.chunks() != b.chunks())
        return false;
    PrefixTable::Position p = a.begin(), q = b.begin();
    while (!a.at_end(p))
        if (!a.skip_shared_chunk(p, b, q))
            return false;
    return b.at_end(q);
}

// `count` random keys, sorted and without repeats, end to end as
// set_sorted() wants them; now and then a dense run, so that many fall in
// one chunk, and cuts move.
std::string sorted_keys(std::mt19937 &rng, std::size_t count)
{
    std::set<std::string> keys;
    const bool dense = rng() % 2 == 0;
    const std::string base = random_key(rng);
    while (keys.size() < count) {
        std::string k = dense ? base : random_key(rng);
        if (dense) {
            k[0] = 24;
            k[3] = static_cast<char>(rng() % 256);  // 256 keys: count stays below
        }
        keys.insert(k);
    }
    std::string packed;
    for (const auto &k : keys)
        packed += k;
    return packed;
}

}  // namespace

TEST_CASE("tables with the same content share every chunk, whatever order it came in")
{
    // The peers of one update group are sent the same routes in differently
    // packed messages: their records must still be one table between them.
    const std::size_t before = interned_chunks();
    const auto paths = some_paths(6);
    for (const std::size_t key_size : {std::size_t{5}, std::size_t{17}}) {
        std::mt19937 rng(static_cast<unsigned>(key_size));
        Model content;
        while (content.size() < 20000) {
            std::string k = random_key(rng);
            k.resize(key_size, '\0');
            content[k] = paths[rng() % paths.size()].get();
        }
        auto path_of = [&](const void *block) -> const PathRef & {
            for (const auto &p : paths)
                if (p.get() == block)
                    return p;
            FAIL("unknown path");
            return paths[0];
        };
        std::vector<std::pair<std::string, const void *>> entries(content.begin(), content.end());
        PrefixTable in_order(key_size), reversed(key_size), shuffled(key_size), detour(key_size);
        for (const auto &[k, path] : entries)
            in_order.set(raw(k), path_of(path));
        for (auto it = entries.rbegin(); it != entries.rend(); ++it)
            reversed.set(raw(it->first), path_of(it->second));
        auto mixed = entries;
        std::shuffle(mixed.begin(), mixed.end(), rng);
        for (std::size_t i = 0; i < mixed.size(); i++) {
            shuffled.set(raw(mixed[i].first), path_of(mixed[i].second));
            if (i % 97 == 0)
                shuffled.settle();  // interned part way, as a session's record is
        }
        // A detour: 30 % more keys and other paths on the way, taken back.
        std::set<std::string> extra;
        for (std::size_t i = 0; i < mixed.size(); i++) {
            detour.set(raw(mixed[i].first), paths[(i + 1) % paths.size()]);
            if (i % 3 == 0) {
                std::string k = random_key(rng);
                k.resize(key_size, '\0');
                if (!content.count(k)) {
                    detour.set(raw(k), paths[0]);
                    extra.insert(k);
                }
            }
            if (i % 211 == 0)
                detour.settle();
        }
        for (const auto &k : extra)
            REQUIRE(detour.erase(raw(k)));
        for (const auto &[k, path] : mixed)
            detour.set(raw(k), path_of(path));

        for (PrefixTable *t : {&in_order, &reversed, &shuffled, &detour}) {
            t->settle();
            CHECK(t->boundaries_follow_content());
            REQUIRE(t->size() == content.size());
            auto it = content.begin();
            for (auto p = t->begin(); !t->at_end(p); t->next(p), ++it) {
                REQUIRE(std::string(reinterpret_cast<const char *>(t->key(p)), key_size) == it->first);
                REQUIRE(t->path(p).get() == it->second);
            }
        }
        const std::size_t chunks = in_order.chunks();
        CHECK(chunks > content.size() / PrefixTable::kChunk);
        CHECK(chunks < 4 * content.size() / PrefixTable::kAverageChunk);
        CHECK(same_chunks(in_order, reversed));
        CHECK(same_chunks(in_order, shuffled));
        CHECK(same_chunks(in_order, detour));
        CHECK(interned_chunks() - before == chunks);  // one copy for the four
    }
    CHECK(interned_chunks() == before);
}

TEST_CASE("chunk boundaries follow the content through random inserts and erases")
{
    // Keys close together (a few /32s and their neighbours) reach the
    // kChunk cut more often than random ones, so both are taken.
    const auto paths = some_paths(3);
    std::mt19937 rng(41);
    PrefixTable table(5);
    Model model;
    for (int round = 0; round < 30; round++) {
        const bool dense = round % 3 == 2;
        const unsigned erase_share = round % 2 ? 6 : 3;
        for (int op = 0; op < 3000; op++) {
            std::string k = random_key(rng);
            if (dense) {
                k = std::string("\x20\x0a\x00", 3) + std::string(1, static_cast<char>(rng() % 8)) +
                    std::string(1, static_cast<char>(rng() % 256));
            }
            change(table, model, paths, rng, erase_share, k);
            if (op % 500 == 0)
                REQUIRE(table.boundaries_follow_content());
        }
        table.settle();
        REQUIRE(table.boundaries_follow_content());
        check_against(table, model, rng);
        // The same content built afresh is cut the same: the same chunks.
        PrefixTable fresh(5);
        for (const auto &[k, path] : model)
            for (const auto &p : paths)
                if (p.get() == path)
                    fresh.set(raw(k), p);
        fresh.settle();
        CHECK(same_chunks(table, fresh));
    }
}

TEST_CASE("tables fed the same changes share every chunk, and a change copies only the chunk it touches")
{
    const std::size_t before = interned_chunks();
    const auto paths = some_paths(4);
    {
        PrefixTable a(5), b(5);
        std::mt19937 rng(3);
        Model model;
        for (int batch = 0; batch < 200; batch++) {
            for (int op = 0; op < 40; op++) {
                const std::string k = random_key(rng);
                const PathRef &p = paths[rng() % paths.size()];
                a.set(raw(k), p);
                b.set(raw(k), p);
                model[k] = p.get();
            }
            a.settle();
            b.settle();
        }
        REQUIRE(a.chunks() > 10);
        CHECK(b.chunks() == a.chunks());
        CHECK(interned_chunks() - before == a.chunks());  // one copy for both

        // A change to `a` alone: one new chunk, `b` keeps its content.
        const std::string k = model.begin()->first;
        const PathRef &other = model.begin()->second == paths[0].get() ? paths[1] : paths[0];
        a.set(raw(k), other);
        a.settle();
        CHECK(interned_chunks() - before == a.chunks() + 1);
        CHECK(b.find(raw(k))->get() == model.begin()->second);
        CHECK(a.find(raw(k))->get() == other.get());
        check_against(b, model, rng);
        Model changed = model;
        changed[k] = other.get();
        check_against(a, changed, rng);

        // The same change to `b`: it takes the chunk `a` made, the old one goes.
        b.set(raw(k), other);
        b.settle();
        CHECK(interned_chunks() - before == a.chunks());
        check_against(b, changed, rng);

        // A copy shares everything, and parts when changed.
        PrefixTable c = b;
        CHECK(interned_chunks() - before == a.chunks());
        CHECK(c.erase(raw(k)));
        c.settle();
        CHECK(interned_chunks() - before == a.chunks() + 1);
        check_against(b, changed, rng);
    }
    CHECK(interned_chunks() == before);  // freed with the last table holding them
}

TEST_CASE("tables sharing chunks keep their own content through divergence and reconvergence")
{
    // Four tables: mostly the same changes (a group's stream), some changes
    // to one table alone, now and then one table brought back to the
    // first's content; batches settled at random sizes, some tables copied
    // in the middle of a batch (private chunks then copied, not shared).
    // Each table is checked against its own std::map.
    const std::size_t before = interned_chunks();
    const auto paths = some_paths(5);
    {
        constexpr std::size_t kTables = 4;
        std::vector<PrefixTable> tables(kTables, PrefixTable(5));
        std::vector<Model> models(kTables);
        std::mt19937 rng(29);
        for (int round = 0; round < 8; round++) {
            const unsigned erase_share = round % 4 < 2 ? 3 : 7;  // grow, then shrink, twice
            for (int batch = 0; batch < 300; batch++) {
                const int ops = 1 + static_cast<int>(rng() % 40);
                for (int op = 0; op < ops; op++) {
                    if (rng() % 8 == 0) {  // one table alone
                        const std::size_t t = rng() % kTables;
                        random_change(tables[t], models[t], paths, rng, erase_share);
                        continue;
                    }
                    const std::string k = random_key(rng);
                    const bool erase = rng() % 10 < erase_share;
                    const PathRef &p = paths[rng() % paths.size()];
                    for (std::size_t t = 0; t < kTables; t++) {
                        if (erase) {
                            REQUIRE(tables[t].erase(raw(k)) == (models[t].erase(k) == 1));
                        } else {
                            tables[t].set(raw(k), p);
                            models[t][k] = p.get();
                        }
                    }
                }
                if (rng() % 50 == 0) {  // a copy taken mid-batch replaces a table
                    const std::size_t from = rng() % kTables, to = rng() % kTables;
                    tables[to] = tables[from];
                    models[to] = models[from];
                }
                if (rng() % 40 == 0) {  // table t reconverges to table 0
                    const std::size_t t = 1 + rng() % (kTables - 1);
                    for (auto it = models[t].begin(); it != models[t].end();) {
                        if (!models[0].count(it->first)) {
                            REQUIRE(tables[t].erase(raw(it->first)));
                            it = models[t].erase(it);
                        } else {
                            ++it;
                        }
                    }
                    for (const auto &[k, path] : models[0]) {
                        const PathRef *mine = tables[t].find(raw(k));
                        if (!mine || mine->get() != path) {
                            for (const auto &p : paths)
                                if (p.get() == path)
                                    tables[t].set(raw(k), p);
                            models[t][k] = path;
                        }
                    }
                }
                for (auto &t : tables)
                    t.settle();
                for (std::size_t t = 1; t < kTables; t++)
                    if (models[t] == models[0])  // reconverged: the same chunks again
                        CHECK(same_chunks(tables[t], tables[0]));
            }
            for (std::size_t t = 0; t < kTables; t++) {
                check_against(tables[t], models[t], rng);
                CHECK(tables[t].boundaries_follow_content());
            }
            std::size_t held = 0;
            for (const auto &t : tables)
                held += t.chunks();
            CHECK(interned_chunks() - before <= held);
        }
    }
    CHECK(interned_chunks() == before);
}

TEST_CASE("a message's keys applied at once equal them one by one, and take the chunks another table made")
{
    // `one` takes each message key by key (the reference), `group` and
    // `late` at once; `late` is sent the same keys in two messages where
    // the others had one (bgpd packs a group's messages as its timers
    // fire), so it often finds no chunk made and goes key by key.
    const std::size_t before = interned_chunks();
    const auto paths = some_paths(4);
    {
        PrefixTable one(5), group(5), late(5);
        Model model;
        std::mt19937 rng(41);
        std::size_t taken = 0, messages = 0;
        for (int round = 0; round < 6; round++) {
            const unsigned erase_share = round % 2 == 0 ? 2 : 6;
            for (int message = 0; message < 150; message++, messages++) {
                const std::string keys = sorted_keys(rng, 1 + rng() % 200);
                const std::size_t count = keys.size() / 5;
                const bool erase = rng() % 10 < erase_share;
                const PathRef &p = paths[rng() % paths.size()];
                for (std::size_t k = 0; k < count; k++) {
                    const std::string key = keys.substr(k * 5, 5);
                    if (erase) {
                        CHECK(one.erase(raw(key)) == (model.erase(key) == 1));
                    } else {
                        one.set(raw(key), p);
                        model[key] = p.get();
                    }
                }
                one.settle();
                const std::size_t copies = chunk_copies();
                const std::size_t half = count / 2;
                if (erase) {
                    group.erase_sorted(raw(keys), count);
                    late.erase_sorted(raw(keys), half);
                    late.erase_sorted(raw(keys) + half * 5, count - half);
                } else {
                    group.set_sorted(raw(keys), count, p);
                    late.set_sorted(raw(keys), half, p);
                    late.set_sorted(raw(keys) + half * 5, count - half, p);
                }
                // `group` was given what `one` was: every chunk it changed
                // was made already, none is copied, all are the same.
                if (same_chunks(group, one) && chunk_copies() == copies)
                    taken++;
                group.settle();
                late.settle();
                REQUIRE(same_chunks(group, one));
                REQUIRE(same_chunks(late, one));
            }
            check_against(one, model, rng);
            check_against(group, model, rng);
            check_against(late, model, rng);
            CHECK(group.boundaries_follow_content());
            CHECK(late.boundaries_follow_content());
        }
        // Not every message: a change that removes a chunk goes key by key.
        CHECK(taken >= messages * 95 / 100);
    }
    CHECK(interned_chunks() == before);
}

TEST_CASE("with sharing off (benchmarks), tables keep private chunks and their content")
{
    const std::size_t before = interned_chunks();
    const auto paths = some_paths(3);
    set_chunk_sharing(false);
    {
        PrefixTable a(5), b(5);
        Model ma, mb;
        std::mt19937 rng(7);
        for (int batch = 0; batch < 2000; batch++) {
            const unsigned erase_share = batch < 1000 ? 3 : 8;
            for (int op = 0; op < 20; op++)
                random_change(a, ma, paths, rng, erase_share);
            b = a;
            mb = ma;
            a.settle();
            if (batch % 500 == 0) {
                check_against(a, ma, rng);
                check_against(b, mb, rng);
            }
        }
        check_against(a, ma, rng);
        CHECK(interned_chunks() == before);
    }
    set_chunk_sharing(true);
}

TEST_CASE("tables on two threads share chunks safely")
{
    // Each thread changes its own tables (as a session's lock allows), the
    // same changes on both threads, so chunks are interned, shared, taken,
    // copied and freed across the threads all the time; a third thread
    // reads the pool's count. Checked after the threads end.
    const std::size_t before = interned_chunks();
    const auto paths = some_paths(3);
    {
        constexpr int kThreads = 2, kTablesEach = 2;
        std::vector<std::vector<PrefixTable>> tables(kThreads,
                                                     std::vector<PrefixTable>(kTablesEach, PrefixTable(5)));
        std::vector<Model> models(kThreads);
        std::vector<std::thread> threads;
        std::atomic<int> running{kThreads};
        for (int t = 0; t < kThreads; t++)
            threads.emplace_back([&, t] {
                std::mt19937 rng(41);  // the same changes on every thread
                std::mt19937 own(100 + static_cast<unsigned>(t));
                for (int batch = 0; batch < 3000; batch++) {
                    for (int op = 0; op < 10; op++) {
                        const std::string k = random_key(rng);
                        const bool erase = rng() % 10 < (batch < 1500 ? 3u : 6u);
                        const PathRef &p = paths[rng() % paths.size()];
                        for (auto &table : tables[t]) {
                            if (erase)
                                table.erase(raw(k));
                            else
                                table.set(raw(k), p);
                        }
                        if (erase)
                            models[t].erase(k);
                        else
                            models[t][k] = p.get();
                    }
                    if (own() % 100 == 0)  // one table dropped and remade from the other
                        tables[t][0] = tables[t][1];
                    for (auto &table : tables[t])
                        table.settle();
                }
                running--;
            });
        while (running.load() > 0)
            (void)interned_chunks();
        for (auto &th : threads)
            th.join();
        std::mt19937 rng(5);
        for (int t = 0; t < kThreads; t++)
            for (const auto &table : tables[t])
                check_against(table, models[t], rng);
        CHECK(models[0] == models[1]);
        // Same changes in the same order: the same chunks, one copy for all.
        CHECK(interned_chunks() - before == tables[0][0].chunks());
    }
    CHECK(interned_chunks() == before);
}
