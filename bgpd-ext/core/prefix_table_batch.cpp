// PrefixTable's changes of a whole message at once (set_sorted(),
// erase_sorted()): why they exist and how they stay exact.
//
// Key by key, the second table of an update group to take in a message
// finds in the pool only the message's final chunks (interned at settle()),
// never the states between its keys. So where a message changes several
// keys of one chunk, each table after the first copied the chunk (a
// reference taken to each of its paths, a cache line all the group's
// tables write on two threads) only to drop the copy at settle() for the
// chunk the first table had made. At 1000 sessions this copying was a
// quarter of bgpd's CPU in the records (docs/benchmarks.md).
//
// Here the keys of one chunk are merged with its entries without copying
// anything (a list of pointers), the result is cut where the content says
// (the rules of prefix_table.hpp), and each resulting chunk is looked up
// in the pool. Found, they replace the chunk; any missing, the keys go in
// one by one as before. Exact either way: the pool compares the entries.
// Where the result's last cut is not where the old chunk ended, the next
// chunk joins, with the keys that fall in it, until a cut falls where an
// old one was (recut()'s rule): from there on the old cuts stand.
#include "prefix_table.hpp"

#include <cstring>
#include <iterator>
#include <vector>

namespace frr_ha {

namespace {

// An entry of the merged result: pointers into the old chunk or the keys given.
struct Entry {
    const std::uint8_t *key;
    const PathRef *path;
    bool may_end;  // a new key, or the old chunk's last: the others end no chunk
};

// One chunk of the result as ChunkRef::find() compares it.
struct Piece {
    const Entry *first;
    std::size_t count, key_size;

    static bool is(const Chunk &c, const void *self)
    {
        const Piece &p = *static_cast<const Piece *>(self);
        if (c.size() != p.count)
            return false;
        for (std::size_t i = 0; i < p.count; i++)
            if (c.paths[i] != *p.first[i].path)
                return false;
        // Keys in runs that lie end to end (most of a piece is one old
        // chunk's): one memcmp a run.
        for (std::size_t i = 0, j; i < p.count; i = j) {
            for (j = i + 1; j < p.count && p.first[j].key == p.first[j - 1].key + p.key_size; j++)
                ;
            if (std::memcmp(c.keys.data() + i * p.key_size, p.first[i].key, (j - i) * p.key_size) != 0)
                return false;
        }
        return true;
    }
};

}  // namespace

void PrefixTable::set_sorted(const std::uint8_t *keys, std::size_t count, const PathRef &path)
{
    change_sorted(keys, count, &path);
}

void PrefixTable::erase_sorted(const std::uint8_t *keys, std::size_t count)
{
    change_sorted(keys, count, nullptr);
}

void PrefixTable::change_sorted(const std::uint8_t *keys, std::size_t count, const PathRef *path)
{
    for (std::size_t done = 0; done < count;) {
        const std::uint8_t *first = keys + done * key_size_;
        const std::size_t ci = chunks_.empty() ? 0 : chunk_for(first);
        const std::size_t in_chunk = chunks_.empty() ? count - done : keys_in(ci, first, count - done);
        // One key in the chunk, its cuts unmoved: set() and erase() take
        // the changed chunk from the pool already (reuse()), without
        // reading it all.
        if (!chunks_.empty() && (in_chunk > 1 || moves_boundary(ci, first, path != nullptr))) {
            const std::size_t taken = take_changed(ci, first, count - done, path);
            if (taken) {
                done += taken;
                continue;
            }
        }
        for (const std::size_t end = done + in_chunk; done < end; done++) {
            const std::uint8_t *key = keys + done * key_size_;
            if (path)
                set(key, *path);
            else
                erase(key);
        }
    }
}

bool PrefixTable::moves_boundary(std::size_t ci, const std::uint8_t *key, bool set) const
{
    const Chunk &c = *chunks_[ci];
    const std::size_t at = lower_bound(c, key);
    const bool present = at < c.size() && compare(c.keys.data() + at * key_size_, key) == 0;
    if (set)
        return !present && insert_moves_boundary(ci, at, key);
    return present && c.size() > 1 && erase_moves_boundary(ci, at);
}

std::size_t PrefixTable::keys_in(std::size_t ci, const std::uint8_t *keys, std::size_t count) const
{
    if (ci + 1 == chunks_.size())
        return count;
    const std::uint8_t *next_chunk = chunks_[ci + 1]->keys.data();
    std::size_t n = 0;
    while (n < count && compare(keys + n * key_size_, next_chunk) < 0)
        n++;
    return n;
}

std::size_t PrefixTable::take_changed(std::size_t ci, const std::uint8_t *keys, std::size_t count,
                                      const PathRef *path)
{
    // A chunk this table alone holds is changed in place: nothing to save.
    if (!chunks_[ci]->interned() || !chunks_[ci].maybe_shared())
        return 0;

    // Chunk `c`'s entries merged with the keys that fall in it.
    std::vector<Entry> merged;
    std::size_t used = 0, old_entries = 0;
    std::uint64_t hash = 0;  // the sum of entry_hash() over `merged`, kept as chunks keep theirs
    bool changed = false;
    const auto merge = [&](std::size_t c) {
        const Chunk &from = *chunks_[c];
        const std::size_t n = from.size(), in = used + keys_in(c, keys + used * key_size_, count - used);
        std::size_t i = 0;
        old_entries += n;
        hash += from.hash;
        merged.reserve(merged.size() + n + (path ? in - used : 0));
        const auto keep = [&](std::size_t to) {  // the old entries up to `to`, as they are
            const std::size_t at = merged.size();
            merged.resize(at + (to - i));
            for (Entry *out = merged.data() + at; i < to; i++)
                *out++ = Entry{from.keys.data() + i * key_size_, &from.paths[i], i + 1 == n};
        };
        for (; used < in; used++) {
            const std::uint8_t *key = keys + used * key_size_;
            keep(lower_bound(from, key, i));
            if (i == n || compare(from.keys.data() + i * key_size_, key) != 0) {
                if (path) {  // new (an absent key erased is nothing)
                    merged.push_back(Entry{key, path, true});
                    hash += entry_hash(key, key_size_, *path);
                    changed = true;
                }
                continue;
            }
            const bool differs = !path || from.paths[i] != *path;  // set again, or erased
            if (differs)
                hash -= entry_hash(key, key_size_, from.paths[i]);
            if (path) {
                merged.push_back(Entry{from.keys.data() + i * key_size_, path, i + 1 == n});
                if (differs)
                    hash += entry_hash(key, key_size_, *path);
            }
            changed |= differs;
            i++;
        }
        keep(n);
    };
    merge(ci);
    if (!changed)
        return used;
    if (merged.empty()) {  // every key erased: the neighbours' cuts stay
        chunks_.erase(chunks_.begin() + static_cast<std::ptrdiff_t>(ci));
        size_ -= old_entries;
        return used;
    }

    // Cut as the content says, the next chunks joining while the last cut
    // is not at the end.
    std::vector<std::size_t> ends;
    std::size_t last = ci;  // the last old chunk the result replaces
    for (std::size_t k = 0, start = 0;;) {
        for (; k < merged.size(); k++)
            if (k + 1 - start == kChunk || (merged[k].may_end && ends_chunk(merged[k].key))) {
                ends.push_back(k + 1);
                start = k + 1;
            }
        if (start == merged.size())
            break;
        if (last + 1 == chunks_.size()) {  // the table's end need not be a cut
            ends.push_back(merged.size());
            break;
        }
        if (!chunks_[last + 1]->interned())
            return 0;  // changed since the last settle(): listed for it, stays
        merge(++last);
    }

    // Each piece's hash: the largest one's is what the others leave of the
    // whole, so one piece (most changes) reads no entry again and a split
    // reads the smaller part only.
    std::vector<std::uint64_t> hashes(ends.size(), 0);
    std::size_t largest = 0;
    for (std::size_t e = 1; e < ends.size(); e++)
        if (ends[e] - ends[e - 1] > ends[largest] - (largest ? ends[largest - 1] : 0))
            largest = e;
    for (std::size_t begin = 0, e = 0; e < ends.size(); begin = ends[e], e++) {
        if (e == largest)
            continue;
        for (std::size_t k = begin; k < ends[e]; k++)
            hashes[e] += entry_hash(merged[k].key, key_size_, *merged[k].path);
        hash -= hashes[e];
    }
    hashes[largest] = hash;

    std::vector<ChunkRef> pieces;
    pieces.reserve(ends.size());
    for (std::size_t begin = 0, e = 0; e < ends.size(); begin = ends[e], e++) {
        const std::uint64_t piece_hash = hashes[e];
        const Piece wanted{merged.data() + begin, ends[e] - begin, key_size_};
        ChunkRef found = ChunkRef::find(piece_hash, &Piece::is, &wanted);
        if (!found)
            return 0;
        pieces.push_back(std::move(found));
    }

    size_ = size_ - old_entries + merged.size();
    // `merged` points into the old chunks: not read after this.
    const auto at = chunks_.begin() + static_cast<std::ptrdiff_t>(ci);
    chunks_.erase(at, at + static_cast<std::ptrdiff_t>(last - ci + 1));
    chunks_.insert(chunks_.begin() + static_cast<std::ptrdiff_t>(ci), std::make_move_iterator(pieces.begin()),
                   std::make_move_iterator(pieces.end()));
    return used;
}

}  // namespace frr_ha
