#include "prefix_table.hpp"

#include <algorithm>
#include <cstring>
#include <iterator>

namespace frr_ha {

PrefixTable::PrefixTable(const PrefixTable &o)
    : key_size_(o.key_size_), size_(o.size_), chunks_(o.chunks_)
{
    // Copying the references copied the private chunks: list the copies.
    for (const ChunkRef &c : chunks_)
        if (!c->interned())
            unsettled_.push_back(c.get());
}

PrefixTable &PrefixTable::operator=(const PrefixTable &o)
{
    if (this != &o)
        *this = PrefixTable(o);
    return *this;
}

int PrefixTable::compare(const std::uint8_t *a, const std::uint8_t *b) const
{
    return std::memcmp(a, b, key_size_);
}

std::size_t PrefixTable::chunk_for(const std::uint8_t *key) const
{
    std::size_t lo = 0, hi = chunks_.size();  // the first chunk starting above key
    while (lo < hi) {
        const std::size_t mid = lo + (hi - lo) / 2;
        if (compare(chunks_[mid]->keys.data(), key) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo == 0 ? 0 : lo - 1;
}

std::size_t PrefixTable::lower_bound(const Chunk &c, const std::uint8_t *key, std::size_t from) const
{
    std::size_t lo = from, hi = c.size();
    while (lo < hi) {
        const std::size_t mid = lo + (hi - lo) / 2;
        if (compare(c.keys.data() + mid * key_size_, key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

std::uint64_t PrefixTable::hash_of(const Chunk &c, std::size_t from, std::size_t to) const
{
    std::uint64_t h = 0;
    for (std::size_t i = from; i < to; i++)
        h += entry_hash(c.keys.data() + i * key_size_, key_size_, c.paths[i]);
    return h;
}

Chunk &PrefixTable::writable(std::size_t ci)
{
    // Private from here on (thaw() of a private chunk is the chunk itself).
    ChunkRef &ref = chunks_[ci];
    const bool was_interned = ref->interned();
    Chunk &c = ref.thaw();
    if (was_interned)
        unsettled_.push_back(&c);
    return c;
}

Chunk &PrefixTable::add_chunk(std::size_t ci)
{
    auto it = chunks_.insert(chunks_.begin() + static_cast<std::ptrdiff_t>(ci), ChunkRef::fresh());
    Chunk &c = it->thaw();
    unsettled_.push_back(&c);
    return c;
}

void PrefixTable::remove_chunk(std::size_t ci)
{
    // Unlisted when private: a chunk listed for settle(), or any chunk
    // when sharing is off (settle() interned nothing and forgot them).
    auto it = std::find(unsettled_.begin(), unsettled_.end(), chunks_[ci].get());
    if (it != unsettled_.end()) {
        *it = unsettled_.back();
        unsettled_.pop_back();
    }
    chunks_.erase(chunks_.begin() + static_cast<std::ptrdiff_t>(ci));
}

namespace {

// A chunk as reuse() wants it: `from` with one entry replaced, inserted or erased.
struct Edit {
    const Chunk *from;
    std::size_t key_size, at, removed;
    const std::uint8_t *key;  // null: nothing inserted
    const PathRef *path;

    static bool is(const Chunk &c, const void *self)
    {
        const Edit &e = *static_cast<const Edit *>(self);
        const Chunk &f = *e.from;
        const std::size_t added = e.key ? 1 : 0, ks = e.key_size, tail = f.size() - e.at - e.removed;
        if (c.size() != f.size() - e.removed + added)
            return false;
        const std::uint8_t *ck = c.keys.data(), *fk = f.keys.data();
        auto cp = c.paths.begin(), fp = f.paths.begin();
        const auto at = static_cast<std::ptrdiff_t>(e.at), after = static_cast<std::ptrdiff_t>(e.at + added);
        const auto from_after = static_cast<std::ptrdiff_t>(e.at + e.removed);
        return std::memcmp(ck, fk, e.at * ks) == 0 && std::equal(cp, cp + at, fp) &&
               (!e.key || (std::memcmp(ck + e.at * ks, e.key, ks) == 0 && cp[at] == *e.path)) &&
               std::memcmp(ck + (e.at + added) * ks, fk + (e.at + e.removed) * ks, tail * ks) == 0 &&
               std::equal(cp + after, c.paths.end(), fp + from_after);
    }
};

}  // namespace

bool PrefixTable::reuse(std::size_t ci, std::size_t at, std::size_t removed, const std::uint8_t *key,
                        const PathRef *path)
{
    // Only for a chunk others hold: the first of a group to make a change
    // interns its result at the next settle(), the others find it here
    // instead of each copying the chunk, changing it, and finding at their
    // settle() that the pool had it (a chunk's copy takes a reference to
    // each of its paths, and dropping it gives them back). A chunk this
    // table alone holds is changed in place, no copy to save.
    ChunkRef &ref = chunks_[ci];
    if (!ref->interned() || !ref.maybe_shared())
        return false;
    const Chunk &from = *ref;
    std::uint64_t hash = from.hash - hash_of(from, at, at + removed);
    if (key)
        hash += entry_hash(key, key_size_, *path);
    const Edit edit{&from, key_size_, at, removed, key, path};
    return ref.become(hash, &Edit::is, &edit);
}

void PrefixTable::settle()
{
    // Each listed chunk is found again by its first key (chunks keep no
    // index: inserting or removing one would shift the others').
    for (const Chunk *c : unsettled_)
        chunks_[chunk_for(c->keys.data())].intern();
    unsettled_.clear();
    // A big UPDATE touches hundreds of chunks; a table of each of a
    // thousand sessions keeping room for that would cost more than the
    // table the sessions share.
    if (unsettled_.capacity() > 32)
        std::vector<const Chunk *>().swap(unsettled_);
}

const PathRef *PrefixTable::find(const std::uint8_t *key) const
{
    if (chunks_.empty())
        return nullptr;
    const Chunk &c = *chunks_[chunk_for(key)];
    const std::size_t at = lower_bound(c, key);
    if (at == c.size() || compare(c.keys.data() + at * key_size_, key) != 0)
        return nullptr;
    return &c.paths[at];
}

PrefixTable::Position PrefixTable::upper_bound(const std::uint8_t *key) const
{
    if (chunks_.empty())
        return Position{};
    Position p{chunk_for(key), 0};
    const Chunk &c = *chunks_[p.chunk];
    p.at = lower_bound(c, key);
    if (p.at < c.size() && compare(c.keys.data() + p.at * key_size_, key) == 0)
        p.at++;
    if (p.at == c.size()) {
        p.chunk++;
        p.at = 0;
    }
    return p;
}

bool PrefixTable::ends_chunk(const std::uint8_t *key) const
{
    // FNV-1a over the key's bytes, then a multiplicative mix: the top bits
    // decide, one key in kAverageChunk. Fixed, so every process and every
    // table cuts the same content alike.
    std::uint64_t h = 14695981039346656037ull;
    for (std::size_t i = 0; i < key_size_; i++)
        h = (h ^ key[i]) * 1099511628211ull;
    h ^= h >> 29;
    h *= 0x9E3779B97F4A7C15ull;
    static_assert((kAverageChunk & (kAverageChunk - 1)) == 0, "a power of two");
    return (h >> 40) % kAverageChunk == 0;
}

std::size_t PrefixTable::first_end(const Chunk &c) const
{
    const std::size_t n = std::min(c.size(), kChunk);
    for (std::size_t i = 0; i < n; i++)
        if (i + 1 == kChunk || ends_chunk(c.keys.data() + i * key_size_))
            return i;
    return c.size();
}

bool PrefixTable::boundaries_follow_content() const
{
    for (std::size_t ci = 0; ci < chunks_.size(); ci++) {
        const Chunk &c = *chunks_[ci];
        const std::size_t end = first_end(c);
        const bool last = ci + 1 == chunks_.size();
        if (c.size() == 0 || (end != c.size() - 1 && !(last && end == c.size())))
            return false;
    }
    return true;
}

bool PrefixTable::insert_moves_boundary(std::size_t ci, std::size_t at, const std::uint8_t *key) const
{
    const Chunk &c = *chunks_[ci];
    const std::size_t n = c.size();
    if (n + 1 > kChunk)
        return true;  // the chunk ended at kChunk keys (or must now)
    if (at < n)
        return ends_chunk(key);  // a boundary key inside the chunk splits it
    // After the chunk's last key: that key ended the chunk unless the chunk
    // is the table's last and the key ends none.
    return ci + 1 < chunks_.size() || ends_chunk(c.keys.data() + (n - 1) * key_size_);
}

bool PrefixTable::erase_moves_boundary(std::size_t ci, std::size_t at) const
{
    const Chunk &c = *chunks_[ci];
    const std::size_t n = c.size();
    if (n == 1 || ci + 1 == chunks_.size())
        return false;  // the chunk goes, its neighbours' cuts stay; or the table's end
    // The chunk's last key goes, or the chunk ended at kChunk keys: the
    // next chunk's keys now belong to this one, up to a boundary.
    return at == n - 1 || !ends_chunk(c.keys.data() + (n - 1) * key_size_);
}

void PrefixTable::split_at(std::size_t ci, std::size_t at)
{
    Chunk &c = writable(ci);
    Chunk &upper = add_chunk(ci + 1);
    upper.keys.assign(c.keys.begin() + static_cast<std::ptrdiff_t>(at * key_size_), c.keys.end());
    upper.paths.assign(std::make_move_iterator(c.paths.begin() + static_cast<std::ptrdiff_t>(at)),
                       std::make_move_iterator(c.paths.end()));
    c.keys.resize(at * key_size_);
    c.paths.resize(at);
    upper.hash = hash_of(upper, 0, upper.size());
    c.hash -= upper.hash;
    // The lower part keeps no room it will not use: interned as it is.
    c.keys.shrink_to_fit();
    c.paths.shrink_to_fit();
}

void PrefixTable::merge_next(std::size_t ci)
{
    Chunk &a = writable(ci);
    const Chunk &b = *chunks_[ci + 1];  // may be shared: copied from, not moved
    a.keys.insert(a.keys.end(), b.keys.begin(), b.keys.end());
    a.paths.insert(a.paths.end(), b.paths.begin(), b.paths.end());
    a.hash += b.hash;
    remove_chunk(ci + 1);
}

void PrefixTable::recut(std::size_t ci)
{
    while (ci < chunks_.size()) {
        const Chunk &c = *chunks_[ci];
        const std::size_t end = first_end(c);
        if (end + 1 == c.size())
            return;  // ends where an old chunk ended: the rest is cut right
        if (end < c.size()) {
            split_at(ci, end + 1);
            ci++;  // the rest, up to the old end, is cut again
        } else if (ci + 1 < chunks_.size()) {
            merge_next(ci);  // no boundary: takes the next chunk's keys
        } else {
            return;  // the table's last chunk
        }
    }
}

void PrefixTable::set(const std::uint8_t *key, PathRef path)
{
    if (chunks_.empty()) {
        Chunk &c = add_chunk(0);
        c.keys.assign(key, key + key_size_);
        c.hash = entry_hash(key, key_size_, path);
        c.paths.push_back(std::move(path));
        size_ = 1;
        return;
    }
    const std::size_t ci = chunk_for(key);
    const std::size_t at = lower_bound(*chunks_[ci], key);
    if (at < chunks_[ci]->size() && compare(chunks_[ci]->keys.data() + at * key_size_, key) == 0) {
        if (chunks_[ci]->paths[at] == path)
            return;  // no change: a shared chunk stays shared
        if (reuse(ci, at, 1, key, &path))
            return;
        Chunk &c = writable(ci);
        c.hash += entry_hash(key, key_size_, path) - entry_hash(key, key_size_, c.paths[at]);
        c.paths[at] = std::move(path);
        return;
    }
    size_++;
    const bool moves = insert_moves_boundary(ci, at, key);
    if (!moves && reuse(ci, at, 0, key, &path))
        return;
    Chunk &c = writable(ci);
    if (c.size() == c.paths.capacity()) {
        const std::size_t room = with_room(c.size());
        c.keys.reserve(room * key_size_);
        c.paths.reserve(room);
    }
    c.keys.insert(c.keys.begin() + static_cast<std::ptrdiff_t>(at * key_size_), key, key + key_size_);
    c.hash += entry_hash(key, key_size_, path);
    c.paths.insert(c.paths.begin() + static_cast<std::ptrdiff_t>(at), std::move(path));
    if (moves)
        recut(ci);
}

bool PrefixTable::erase(const std::uint8_t *key)
{
    if (chunks_.empty())
        return false;
    const std::size_t ci = chunk_for(key);
    const std::size_t at = lower_bound(*chunks_[ci], key);
    if (at == chunks_[ci]->size() || compare(chunks_[ci]->keys.data() + at * key_size_, key) != 0)
        return false;
    size_--;
    if (chunks_[ci]->size() == 1) {
        remove_chunk(ci);
        return true;
    }
    const bool moves = erase_moves_boundary(ci, at);
    if (!moves && reuse(ci, at, 1, nullptr, nullptr))
        return true;
    Chunk &c = writable(ci);
    c.hash -= entry_hash(key, key_size_, c.paths[at]);
    auto k = c.keys.begin() + static_cast<std::ptrdiff_t>(at * key_size_);
    c.keys.erase(k, k + static_cast<std::ptrdiff_t>(key_size_));
    c.paths.erase(c.paths.begin() + static_cast<std::ptrdiff_t>(at));
    if (moves)
        recut(ci);
    return true;
}

void PrefixTable::clear()
{
    chunks_.clear();
    chunks_.shrink_to_fit();
    unsettled_.clear();
    size_ = 0;
}

}  // namespace frr_ha
