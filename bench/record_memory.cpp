// What the per-session stream records (bgpd-ext/core/stream_rib.*) cost:
// memory per prefix per record, and the time to apply a full table, to
// replay it (whole, and a part at a time as a hand-over does) and to compute
// the difference of two records (a takeover). Not a test: it prints figures.
//
// The table has the shape of bench/frr_ha_bench/table.py (the /24-heavy
// length mix, AS paths of 1 to 16 hops with prepends, communities, large
// communities, MEDs, a few sets carrying thousands of prefixes and most one
// or two), drawn here with a seeded PRNG so no BIRD is needed; it is sent
// as a feed would send it: the prefixes of one attribute set together, in
// UPDATEs of at most 4096 bytes. Each record takes in the same stream, as
// the records of sessions in one update group would.
//
//   build/bench/frr_ha_record_memory [--prefixes 1000000] [--attr-sets 300000]
//                                    [--records 1,10,30] [--seed 1]
//                                    [--old-bytes B]  (old layout's bytes/prefix/record)
//                                    [--sharing off]  (chunks not shared, as before)
//
// With --sessions, what the peers of one update group hold (chunks shared
// between records, prefix_table.hpp): for each count N, N records take in
// the same stream a message at a time, each message to every record in
// turn as bgpd sends it to each peer of the group; then a share of the
// sessions diverge (--diverged 0.1 of them, each re-announcing
// --diverged-prefixes 0.01 of its prefixes with an attribute set of its
// own, scattered over the table, then as one run in prefix order) and come
// back; then the same sessions announce as many prefixes of their own and
// withdraw them. Each N runs with sharing on, then off. Attribute sets default to
// 0.3 x the prefixes. --batch B hands each record B messages in turn instead
// of one, as the standby's send-log pthread takes what each peer acknowledged
// since its last read: the later records of the group then find in the pool
// only the first one's chunks after the whole batch.
//
//   build/bench/frr_ha_record_memory --sessions 1,10,100,1000 --prefixes 10000
//   build/bench/frr_ha_record_memory --sessions 10 --prefixes 100000 --batch 64
#include "chunk_pool.hpp"
#include "stream_rib.hpp"

#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <time.h>
#include <unordered_set>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t)
{
    return std::chrono::duration<double>(Clock::now() - t).count();
}

// This thread's CPU time: the host may be shared (other benchmarks), and
// what applying costs is CPU, not the time others took.
double cpu_seconds()
{
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// Bytes malloc has handed out and not taken back (mmapped blocks included).
std::size_t heap_in_use()
{
    struct mallinfo2 m = mallinfo2();
    return m.uordblks + m.hblkhd;
}

std::size_t rss_bytes()
{
    long pages = 0, resident = 0;
    if (FILE *f = std::fopen("/proc/self/statm", "r")) {
        if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        std::fclose(f);
    }
    return static_cast<std::size_t>(resident) * 4096;
}

void put16(std::string &s, std::size_t v)
{
    s.push_back(static_cast<char>(v >> 8));
    s.push_back(static_cast<char>(v));
}

void put32(std::string &s, std::uint32_t v)
{
    put16(s, v >> 16);
    put16(s, v & 0xffff);
}

void attribute(std::string &out, std::uint8_t flags, std::uint8_t code, const std::string &value)
{
    if (value.size() > 255)
        flags |= 0x10;
    out.push_back(static_cast<char>(flags));
    out.push_back(static_cast<char>(code));
    if (flags & 0x10)
        put16(out, value.size());
    else
        out.push_back(static_cast<char>(value.size()));
    out += value;
}

template <class T> T pick(std::mt19937_64 &rng, const std::vector<std::pair<T, double>> &shares)
{
    double total = 0;
    for (const auto &s : shares)
        total += s.second;
    double at = std::uniform_real_distribution<double>(0, total)(rng);
    for (const auto &s : shares) {
        if (at < s.second)
            return s.first;
        at -= s.second;
    }
    return shares.back().first;
}

struct Table {
    std::vector<std::string> nlri;        // length byte, then the prefix's bytes
    std::vector<std::string> attributes;  // one whole path attribute block per set
    std::vector<std::uint32_t> set_of;    // per prefix
};

std::vector<std::string> draw_prefixes(std::mt19937_64 &rng, std::size_t count)
{
    const std::vector<std::pair<int, double>> lengths = {
        {24, 0.600}, {23, 0.100}, {22, 0.125}, {21, 0.050}, {20, 0.050}, {19, 0.030},
        {18, 0.016}, {17, 0.011}, {16, 0.015}, {15, 0.0012}, {14, 0.0006}, {13, 0.0003},
        {12, 0.0002}, {11, 0.0001}, {10, 0.00005}, {9, 0.00003}, {8, 0.00002}};
    std::unordered_set<std::uint64_t> seen;
    std::vector<std::string> out;
    out.reserve(count);
    while (out.size() < count) {
        const int len = pick(rng, lengths);
        std::uint32_t addr = static_cast<std::uint32_t>(rng());
        const std::uint32_t first = addr >> 24;
        if (first == 0 || first == 10 || first == 127 || first >= 224)
            continue;  // special-purpose space, as table.py leaves it out
        addr &= len == 0 ? 0 : ~std::uint32_t{0} << (32 - len);
        if (!seen.insert(std::uint64_t{addr} << 8 | static_cast<std::uint64_t>(len)).second)
            continue;
        std::string n(1, static_cast<char>(len));
        for (int i = 0; i < (len + 7) / 8; i++)
            n.push_back(static_cast<char>(addr >> (24 - 8 * i)));
        out.push_back(std::move(n));
    }
    return out;
}

std::vector<std::string> draw_attribute_sets(std::mt19937_64 &rng, std::size_t count)
{
    const std::vector<std::pair<int, double>> hops = {
        {1, 0.02}, {2, 0.13}, {3, 0.28}, {4, 0.25}, {5, 0.14}, {6, 0.08}, {7, 0.04}, {8, 0.025},
        {9, 0.015}, {10, 0.01}, {11, 0.004}, {12, 0.003}, {13, 0.002}, {14, 0.002}, {15, 0.001},
        {16, 0.001}};
    auto asn = [&](bool four_byte) -> std::uint32_t {
        return four_byte ? 131072 + rng() % 268928 : 1 + rng() % 64495;
    };
    std::vector<std::uint32_t> origins, tier1, transit;
    for (std::size_t i = 0; i < std::max<std::size_t>(50, count / 4); i++)
        origins.push_back(asn(rng() % 5 == 0));
    for (int i = 0; i < 15; i++)
        tier1.push_back(asn(false));
    for (std::size_t i = 0; i < std::max<std::size_t>(50, count / 60); i++)
        transit.push_back(asn(rng() % 10 == 0));
    // Origins carry sets in a skewed way: a few announce hundreds, most one.
    std::vector<double> weight(origins.size());
    for (std::size_t k = 0; k < weight.size(); k++)
        weight[k] = 1.0 / std::pow(static_cast<double>(k + 1), 0.8);
    std::discrete_distribution<std::size_t> origin_of(weight.begin(), weight.end());
    auto chance = [&](double p) { return std::uniform_real_distribution<double>(0, 1)(rng) < p; };

    std::unordered_set<std::string> seen;
    std::vector<std::string> out;
    out.reserve(count);
    while (out.size() < count) {
        const std::uint32_t origin = origins[origin_of(rng)];
        const int n = pick(rng, hops);
        std::vector<std::uint32_t> path{origin};
        const int prepends = chance(0.08) ? 1 + static_cast<int>(rng() % 5) : 0;
        for (int i = 0; i < prepends && static_cast<int>(path.size()) < n; i++)
            path.push_back(origin);
        while (static_cast<int>(path.size()) < n) {
            const bool near_top = static_cast<int>(path.size()) >= n - 2;
            path.push_back(near_top && chance(0.6) ? tier1[rng() % tier1.size()]
                                                   : transit[rng() % transit.size()]);
        }
        std::reverse(path.begin(), path.end());

        std::string a;
        attribute(a, 0x40, 1, std::string(1, '\0'));  // ORIGIN IGP
        std::string as_path;
        as_path.push_back(2);  // AS_SEQUENCE
        as_path.push_back(static_cast<char>(path.size()));
        for (auto x : path)
            put32(as_path, x);
        attribute(a, 0x40, 2, as_path);
        attribute(a, 0x40, 3, std::string("\xac\x10\x00\x01", 4));  // NEXT_HOP
        if (chance(0.4)) {
            std::string med;
            put32(med, chance(0.5) ? static_cast<std::uint32_t>(rng() % 10001) : 10 * (rng() % 10));
            attribute(a, 0x80, 4, med);
        }
        if (chance(0.55)) {
            static const int kCounts[] = {1, 1, 2, 2, 3, 4, 6, 8};
            std::vector<std::uint32_t> c;
            for (int i = kCounts[rng() % 8]; i > 0; i--) {
                std::uint32_t high = path[rng() % std::min<std::size_t>(3, path.size())];
                if (high > 65535)
                    high = tier1[0];
                c.push_back(high << 16 | static_cast<std::uint32_t>(1 + rng() % 65535));
            }
            std::sort(c.begin(), c.end());
            c.erase(std::unique(c.begin(), c.end()), c.end());
            std::string v;
            for (auto x : c)
                put32(v, x);
            attribute(a, 0xc0, 8, v);
        }
        if (chance(0.25)) {
            std::string v;
            for (int i = 1 + static_cast<int>(rng() % 3); i > 0; i--) {
                put32(v, path[0]);
                put32(v, 1 + static_cast<std::uint32_t>(rng() % 10));
                put32(v, static_cast<std::uint32_t>(rng() % 4001));
            }
            attribute(a, 0xc0, 32, v);
        }
        if (seen.insert(a).second)
            out.push_back(std::move(a));
    }
    return out;
}

Table generate(std::size_t prefixes, std::size_t sets, std::uint64_t seed)
{
    std::mt19937_64 rng(seed);
    Table t;
    sets = std::max<std::size_t>(1, std::min(sets, prefixes));
    t.nlri = draw_prefixes(rng, prefixes);
    t.attributes = draw_attribute_sets(rng, sets);
    // Every set carries one prefix; the rest go to the sets in a skewed way.
    std::vector<double> weight(sets);
    for (std::size_t k = 0; k < sets; k++)
        weight[k] = 1.0 / std::pow(static_cast<double>(k + 1), 0.7);
    std::discrete_distribution<std::uint32_t> set_of(weight.begin(), weight.end());
    t.set_of.resize(prefixes);
    for (std::size_t i = 0; i < prefixes; i++)
        t.set_of[i] = i < sets ? static_cast<std::uint32_t>(i) : set_of(rng);
    std::shuffle(t.set_of.begin(), t.set_of.end(), rng);
    return t;
}

// The table as a feed sends it: per attribute set (in the order of its
// first prefix), its prefixes in UPDATEs of at most 4096 bytes.
std::vector<std::string> updates(const Table &t)
{
    std::vector<std::vector<std::uint32_t>> by_set(t.attributes.size());
    std::vector<std::uint32_t> order;
    for (std::uint32_t i = 0; i < t.nlri.size(); i++) {
        auto &members = by_set[t.set_of[i]];
        if (members.empty())
            order.push_back(t.set_of[i]);
        members.push_back(i);
    }
    std::vector<std::string> out;
    for (auto s : order) {
        const auto &members = by_set[s];
        for (std::size_t i = 0; i < members.size();) {
            std::string m(16, '\xff');
            put16(m, 0);
            m.push_back(2);
            put16(m, 0);
            put16(m, t.attributes[s].size());
            m += t.attributes[s];
            while (i < members.size() && m.size() + t.nlri[members[i]].size() <= 4096)
                m += t.nlri[members[i++]];
            m[16] = static_cast<char>(m.size() >> 8);
            m[17] = static_cast<char>(m.size());
            out.push_back(std::move(m));
        }
    }
    std::string eor(16, '\xff');
    put16(eor, 23);
    eor.push_back(2);
    put16(eor, 0);
    put16(eor, 0);
    out.push_back(eor);
    return out;
}

std::vector<std::size_t> parse_list(const std::string &s)
{
    std::vector<std::size_t> out;
    std::size_t at = 0;
    while (at < s.size()) {
        std::size_t comma = s.find(',', at);
        if (comma == std::string::npos)
            comma = s.size();
        out.push_back(std::strtoull(s.substr(at, comma - at).c_str(), nullptr, 10));
        at = comma + 1;
    }
    std::sort(out.begin(), out.end());
    return out;
}


// UPDATEs of at most 4096 bytes carrying `nlris`: announced with
// `attributes`, or (withdrawn) as IPv4 withdrawn routes without attributes.
std::vector<std::string> updates(const std::vector<std::string> &nlris, const std::string &attributes,
                                 bool withdrawn)
{
    std::vector<std::string> out;
    for (std::size_t i = 0; i < nlris.size();) {
        std::string m(16, '\xff');
        put16(m, 0);
        m.push_back(2);
        put16(m, 0);  // withdrawn routes' length, set below
        if (!withdrawn) {
            put16(m, attributes.size());
            m += attributes;
        }
        const std::size_t first = m.size();
        const std::size_t tail = withdrawn ? 2 : 0;  // the attributes' length after them
        while (i < nlris.size() && m.size() + nlris[i].size() + tail <= 4096)
            m += nlris[i++];
        if (withdrawn) {
            const std::size_t len = m.size() - first;
            m[first - 2] = static_cast<char>(len >> 8);
            m[first - 1] = static_cast<char>(len);
            put16(m, 0);  // no attributes
        }
        m[16] = static_cast<char>(m.size() >> 8);
        m[17] = static_cast<char>(m.size());
        out.push_back(std::move(m));
    }
    return out;
}

std::vector<std::string> announce(const std::string &attributes, const std::vector<std::string> &nlris)
{
    return updates(nlris, attributes, false);
}

std::vector<std::string> withdraw(const std::vector<std::string> &nlris)
{
    return updates(nlris, {}, true);
}

// An attribute set no other session is sent: this session's stream diverges.
std::string own_attributes(std::size_t session)
{
    std::string a;
    attribute(a, 0x40, 1, std::string(1, '\0'));
    std::string as_path;
    as_path.push_back(2);
    as_path.push_back(1);
    put32(as_path, 64512);
    attribute(a, 0x40, 2, as_path);
    attribute(a, 0x40, 3, std::string("\xac\x10\x00\x02", 4));
    std::string med;
    put32(med, static_cast<std::uint32_t>(session));
    attribute(a, 0x80, 4, med);
    return a;
}

// The messages that give `picked` prefixes their attributes of the table again.
std::vector<std::string> restore(const Table &t, const std::vector<std::uint32_t> &picked)
{
    std::vector<std::pair<std::uint32_t, std::uint32_t>> by_set;  // (set, prefix)
    for (auto i : picked)
        by_set.emplace_back(t.set_of[i], i);
    std::sort(by_set.begin(), by_set.end());
    std::vector<std::string> out;
    for (std::size_t i = 0; i < by_set.size();) {
        std::vector<std::string> nlris;
        const std::uint32_t set = by_set[i].first;
        for (; i < by_set.size() && by_set[i].first == set; i++)
            nlris.push_back(t.nlri[by_set[i].second]);
        for (auto &m : announce(t.attributes[set], nlris))
            out.push_back(std::move(m));
    }
    return out;
}

struct GroupFigures {
    // Bytes / prefix / record: all in step; diverged, scattered and in one
    // run; back in step; diverged by prefixes of their own (then withdrawn).
    double same = 0, scattered = 0, run = 0, back = 0, added = 0, withdrawn = 0;
    double us_per_update = 0;
    std::size_t chunks = 0;  // in the pool with every record equal
    std::size_t diverged = 0;
    bool exact = true;
};

// N records of one group's stream, then some diverging and coming back.
GroupFigures run_group(const Table &t, const std::vector<std::string> &stream, std::size_t n,
                       bool sharing, double diverged_sessions, double diverged_prefixes,
                       std::uint64_t seed, std::size_t batch)
{
    frr_ha::set_chunk_sharing(sharing);
    const std::size_t prefixes = t.nlri.size();
    std::mt19937_64 rng(seed + n);
    // Before the heap is measured: the records are measured, not this.
    std::vector<std::uint32_t> in_order(prefixes);  // prefix indices in key order
    for (std::uint32_t i = 0; i < prefixes; i++)
        in_order[i] = i;
    auto padded = [&](std::uint32_t i) {
        std::string key = t.nlri[i];
        key.resize(5, '\0');
        return key;
    };
    std::sort(in_order.begin(), in_order.end(),
              [&](std::uint32_t a, std::uint32_t b) { return padded(a) < padded(b); });
    // The diverged sessions are the first ones; the last one never diverges.
    const std::size_t diverged =
        std::min(n - 1, static_cast<std::size_t>(std::lround(static_cast<double>(n) * diverged_sessions)));
    const std::size_t k =
        std::max<std::size_t>(1, static_cast<std::size_t>(static_cast<double>(prefixes) * diverged_prefixes));
    // Prefixes the table has not, for the sessions to add (made here: the
    // heap is measured from below).
    std::unordered_set<std::string> taken(t.nlri.begin(), t.nlri.end());
    std::vector<std::vector<std::string>> extra(diverged);
    for (std::size_t s = 0; s < diverged; s++) {
        while (extra[s].size() < k) {
            std::string n(1, 24);
            const auto addr = static_cast<std::uint32_t>(rng());
            if ((addr >> 24) == 0 || (addr >> 24) >= 224)
                continue;
            for (int i = 0; i < 3; i++)
                n.push_back(static_cast<char>(addr >> (24 - 8 * i)));
            if (taken.insert(n).second)
                extra[s].push_back(n);
        }
    }
    taken = {};
    GroupFigures f;
    f.diverged = diverged;
    malloc_trim(0);
    const std::size_t heap0 = heap_in_use();
    auto per = [&] {
        return static_cast<double>(heap_in_use() - heap0) / static_cast<double>(n * prefixes);
    };
    std::vector<std::unique_ptr<frr_ha::StreamRib>> ribs;
    for (std::size_t i = 0; i < n; i++)
        ribs.push_back(std::make_unique<frr_ha::StreamRib>());
    const double cpu0 = cpu_seconds();
    for (std::size_t from = 0; from < stream.size(); from += batch) {
        const std::size_t to = std::min(stream.size(), from + batch);
        for (auto &rib : ribs)
            for (std::size_t i = from; i < to; i++)
                rib->apply(stream[i]);
    }
    f.us_per_update = (cpu_seconds() - cpu0) * 1e6 / static_cast<double>(n * stream.size());
    for (auto &rib : ribs)
        f.exact = f.exact && rib->prefixes() == prefixes;
    f.same = per();
    f.chunks = frr_ha::interned_chunks();

    // Diverge, check a takeover's difference is exact, come back.
    auto diverge = [&](bool as_run, double *bytes) {
        std::vector<std::vector<std::uint32_t>> picked(f.diverged);
        for (std::size_t s = 0; s < f.diverged; s++) {
            if (as_run) {
                const std::size_t from = rng() % (prefixes - k + 1);
                picked[s].assign(in_order.begin() + static_cast<std::ptrdiff_t>(from),
                                 in_order.begin() + static_cast<std::ptrdiff_t>(from + k));
            } else {
                std::vector<std::uint32_t> all = in_order;
                std::shuffle(all.begin(), all.end(), rng);
                picked[s].assign(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(k));
            }
            std::vector<std::string> nlris;
            for (auto i : picked[s])
                nlris.push_back(t.nlri[i]);
            for (const auto &m : announce(own_attributes(s), nlris))
                ribs[s]->apply(m);
        }
        *bytes = per();
        if (f.diverged > 0) {
            // The difference turns a diverged record into an in-step one.
            frr_ha::StreamRib copy = *ribs[0];
            auto diff = copy.diff_to(*ribs[n - 1], 4096);
            f.exact = f.exact && !diff.empty();
            for (const auto &m : diff)
                copy.apply(m);
            f.exact = f.exact && copy.diff_to(*ribs[n - 1], 4096).empty();
        }
        for (std::size_t s = 0; s < f.diverged; s++) {
            for (const auto &m : restore(t, picked[s]))
                ribs[s]->apply(m);
            f.exact = f.exact && ribs[s]->diff_to(*ribs[n - 1], 4096).empty();
        }
    };
    diverge(false, &f.scattered);
    diverge(true, &f.run);
    f.back = per();

    // Prefixes the others are not sent, scattered, then withdrawn: the
    // content comes back, but chunks that split or lent meanwhile keep
    // other boundaries than the group's (prefix_table.hpp).
    for (std::size_t s = 0; s < f.diverged; s++)
        for (const auto &m : announce(own_attributes(s), extra[s]))
            ribs[s]->apply(m);
    f.added = per();
    for (std::size_t s = 0; s < f.diverged; s++) {
        for (const auto &m : withdraw(extra[s]))
            ribs[s]->apply(m);
        f.exact = f.exact && ribs[s]->diff_to(*ribs[n - 1], 4096).empty();
    }
    f.withdrawn = per();
    return f;
}

void group_report(const Table &t, const std::vector<std::string> &stream,
                  const std::vector<std::size_t> &sessions, double diverged_sessions,
                  double diverged_prefixes, std::uint64_t seed, std::size_t batch)
{
    std::printf("one update group: %zu prefixes, %zu message(s) to each record in turn; diverged: "
                "%.0f%% of the sessions, %.1f%% of their prefixes each (B = heap bytes / prefix / "
                "record)\n",
                t.nlri.size(), batch, diverged_sessions * 100, diverged_prefixes * 100);
    std::printf("%8s %7s %9s %9s %9s %9s %9s %9s %9s %8s %11s %6s\n", "sessions", "sharing",
                "same B", "scatter B", "run B", "back B", "added B", "w/drawn B", "chunks", "diverged",
                "cpu us/UPD", "exact");
    // Once unreported: the pools' indices (never shrunk) are then paid
    // before any figure, not by whichever runs first.
    run_group(t, stream, 1, true, diverged_sessions, diverged_prefixes, seed, batch);
    for (std::size_t n : sessions) {
        GroupFigures on = run_group(t, stream, n, true, diverged_sessions, diverged_prefixes, seed, batch);
        GroupFigures off = run_group(t, stream, n, false, diverged_sessions, diverged_prefixes, seed, batch);
        for (const auto *g : {&on, &off})
            std::printf("%8zu %7s %9.2f %9.2f %9.2f %9.2f %9.2f %9.2f %9zu %8zu %11.2f %6s\n", n,
                        g == &on ? "on" : "off", g->same, g->scattered, g->run, g->back, g->added,
                        g->withdrawn, g->chunks, g->diverged, g->us_per_update,
                        g->exact ? "yes" : "NO");
        std::printf("%8s on/off: memory %.3f x (same), %.3f x (scattered), %.3f x (run), "
                    "%.3f x (withdrawn); time per UPDATE %.2f x\n",
                    "", on.same / off.same, on.scattered / off.scattered, on.run / off.run,
                    on.withdrawn / off.withdrawn, on.us_per_update / off.us_per_update);
        std::fflush(stdout);
    }
    frr_ha::set_chunk_sharing(true);
}

}  // namespace

int main(int argc, char **argv)
{
    std::size_t prefixes = 1000000, sets = 300000;
    std::uint64_t seed = 1;
    std::vector<std::size_t> records{1, 10, 30};
    double old_bytes = 0;  // the old layout's bytes/prefix/record, for the ratio
    std::vector<std::size_t> sessions;  // the update-group figures instead
    double diverged_sessions = 0.1, diverged_prefixes = 0.01;
    std::size_t batch = 1;  // messages to each record in turn (--sessions)
    bool sets_given = false;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string opt = argv[i];
        if (opt == "--prefixes")
            prefixes = std::strtoull(argv[i + 1], nullptr, 10);
        else if (opt == "--attr-sets") {
            sets = std::strtoull(argv[i + 1], nullptr, 10);
            sets_given = true;
        }
        else if (opt == "--records")
            records = parse_list(argv[i + 1]);
        else if (opt == "--seed")
            seed = std::strtoull(argv[i + 1], nullptr, 10);
        else if (opt == "--old-bytes")
            old_bytes = std::strtod(argv[i + 1], nullptr);
        else if (opt == "--sharing")
            frr_ha::set_chunk_sharing(std::string(argv[i + 1]) != "off");
        else if (opt == "--sessions")
            sessions = parse_list(argv[i + 1]);
        else if (opt == "--diverged")
            diverged_sessions = std::strtod(argv[i + 1], nullptr);
        else if (opt == "--diverged-prefixes")
            diverged_prefixes = std::strtod(argv[i + 1], nullptr);
        else if (opt == "--batch")
            batch = std::strtoull(argv[i + 1], nullptr, 10);
        else {
            std::fprintf(stderr, "unknown option %s\n", opt.c_str());
            return 2;
        }
    }
    if (records.empty() || records.front() == 0 || (!sessions.empty() && sessions.front() == 0) ||
        batch == 0) {
        std::fprintf(stderr, "--records, --sessions and --batch want counts >= 1\n");
        return 2;
    }
    if (!sessions.empty() && !sets_given)
        sets = std::max<std::size_t>(1, prefixes * 3 / 10);

    auto t0 = Clock::now();
    std::vector<std::string> stream;
    double attr_bytes = 0;
    Table table = generate(prefixes, sets, seed);
    for (const auto &a : table.attributes)
        attr_bytes += static_cast<double>(a.size());
    attr_bytes /= static_cast<double>(table.attributes.size());
    stream = updates(table);
    std::size_t stream_bytes = 0;
    for (const auto &m : stream)
        stream_bytes += m.size();
    std::printf("table: %zu IPv4 prefixes, %zu attribute sets (mean %.1f bytes), "
                "%zu UPDATEs, %.1f MB; generated in %.2f s\n",
                prefixes, sets, attr_bytes, stream.size(), stream_bytes / 1e6, seconds_since(t0));
    if (!sessions.empty()) {
        group_report(table, stream, sessions, diverged_sessions, diverged_prefixes, seed, batch);
        return 0;
    }
    table = Table();

    malloc_trim(0);
    const std::size_t heap0 = heap_in_use(), rss0 = rss_bytes();
    std::vector<std::unique_ptr<frr_ha::StreamRib>> ribs;
    double apply_s = 0;
    std::printf("%8s %14s %14s %12s %10s %10s %10s %10s\n", "records", "B/prefix/rec",
                "next rec B/pfx", "vs old", "apply s", "replay s", "parts s", "diff s");
    std::size_t heap_prev = heap0, count_prev = 0;
    for (std::size_t n : records) {
        while (ribs.size() < n) {
            auto rib = std::make_unique<frr_ha::StreamRib>();
            auto t = Clock::now();
            for (const auto &m : stream)
                if (!rib->apply(m)) {
                    std::fprintf(stderr, "record refused the stream: %s\n", rib->why().c_str());
                    return 1;
                }
            apply_s = seconds_since(t);
            if (rib->prefixes() != prefixes) {
                std::fprintf(stderr, "record holds %zu prefixes\n", rib->prefixes());
                return 1;
            }
            ribs.push_back(std::move(rib));
        }
        const std::size_t heap = heap_in_use();
        const double per = static_cast<double>(heap - heap0) / static_cast<double>(n * prefixes);
        const double marginal = n > count_prev && count_prev > 0
                                    ? static_cast<double>(heap - heap_prev) /
                                          static_cast<double>((n - count_prev) * prefixes)
                                    : per;
        heap_prev = heap;
        count_prev = n;

        auto t = Clock::now();
        std::size_t replayed = ribs[0]->replay(4096).size();
        const double replay_s = seconds_since(t);
        t = Clock::now();
        frr_ha::StreamRib::Cursor cursor;
        std::vector<std::string> part;
        std::string why;
        std::size_t in_parts = 0;
        while (!cursor.done()) {
            part.clear();
            if (!ribs[0]->replay_part(cursor, 4096, 4096, &part, &why)) {
                std::fprintf(stderr, "replay_part: %s\n", why.c_str());
                return 1;
            }
            in_parts += part.size();
        }
        const double parts_s = seconds_since(t);
        double diff_s = 0;
        if (ribs.size() > 1) {
            t = Clock::now();
            if (!ribs[0]->diff_to(*ribs[1], 4096).empty()) {
                std::fprintf(stderr, "two records of one stream differ\n");
                return 1;
            }
            diff_s = seconds_since(t);
        }
        char ratio[32] = "-";
        if (old_bytes > 0)
            std::snprintf(ratio, sizeof ratio, "%.3f", per / old_bytes);
        std::printf("%8zu %14.1f %14.1f %12s %10.3f %10.3f %10.3f %10.3f\n", n, per, marginal, ratio,
                    apply_s, replay_s, parts_s, diff_s);
        std::printf("         (RSS +%.0f MB; replay: %zu messages, in parts: %zu)\n",
                    static_cast<double>(rss_bytes() - rss0) / 1e6, replayed, in_parts);
        std::fflush(stdout);
    }
    return 0;
}
