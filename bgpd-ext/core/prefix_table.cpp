#include "prefix_table.hpp"

#include <cstring>
#include <iterator>

namespace frr_ha {

int PrefixTable::compare(const std::uint8_t *a, const std::uint8_t *b) const
{
    return std::memcmp(a, b, key_size_);
}

std::size_t PrefixTable::chunk_for(const std::uint8_t *key) const
{
    std::size_t lo = 0, hi = chunks_.size();  // the first chunk starting above key
    while (lo < hi) {
        const std::size_t mid = lo + (hi - lo) / 2;
        if (compare(chunks_[mid].keys.data(), key) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo == 0 ? 0 : lo - 1;
}

std::size_t PrefixTable::lower_bound(const Chunk &c, const std::uint8_t *key) const
{
    std::size_t lo = 0, hi = c.paths.size();
    while (lo < hi) {
        const std::size_t mid = lo + (hi - lo) / 2;
        if (compare(c.keys.data() + mid * key_size_, key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

const PathRef *PrefixTable::find(const std::uint8_t *key) const
{
    if (chunks_.empty())
        return nullptr;
    const Chunk &c = chunks_[chunk_for(key)];
    const std::size_t at = lower_bound(c, key);
    if (at == c.paths.size() || compare(c.keys.data() + at * key_size_, key) != 0)
        return nullptr;
    return &c.paths[at];
}

PrefixTable::Position PrefixTable::upper_bound(const std::uint8_t *key) const
{
    if (chunks_.empty())
        return Position{};
    Position p{chunk_for(key), 0};
    const Chunk &c = chunks_[p.chunk];
    p.at = lower_bound(c, key);
    if (p.at < c.paths.size() && compare(c.keys.data() + p.at * key_size_, key) == 0)
        p.at++;
    if (p.at == c.paths.size()) {
        p.chunk++;
        p.at = 0;
    }
    return p;
}

void PrefixTable::split(std::size_t ci)
{
    Chunk upper;
    {
        Chunk &c = chunks_[ci];
        const std::size_t half = c.paths.size() / 2;
        upper.keys.assign(c.keys.begin() + static_cast<std::ptrdiff_t>(half * key_size_), c.keys.end());
        upper.paths.assign(std::make_move_iterator(c.paths.begin() + static_cast<std::ptrdiff_t>(half)),
                           std::make_move_iterator(c.paths.end()));
        c.keys.resize(half * key_size_);
        c.paths.resize(half);
    }
    chunks_.insert(chunks_.begin() + static_cast<std::ptrdiff_t>(ci + 1), std::move(upper));
}

bool PrefixTable::lend(std::size_t ci)
{
    // A full chunk gives some entries to a neighbour with room rather than
    // splitting: chunks stay fuller (fewer half-empty ones after random
    // inserts), which is most of a record's memory.
    const std::size_t min_room = kChunk / 8;
    auto room = [&](std::size_t i) { return kChunk - chunks_[i].paths.size(); };
    Chunk &c = chunks_[ci];
    if (ci + 1 < chunks_.size() && room(ci + 1) >= min_room) {
        Chunk &right = chunks_[ci + 1];
        const std::size_t n = room(ci + 1) / 2;
        const auto from = static_cast<std::ptrdiff_t>(c.paths.size() - n);
        right.keys.insert(right.keys.begin(), c.keys.begin() + from * static_cast<std::ptrdiff_t>(key_size_),
                          c.keys.end());
        right.paths.insert(right.paths.begin(), std::make_move_iterator(c.paths.begin() + from),
                           std::make_move_iterator(c.paths.end()));
        c.keys.resize(static_cast<std::size_t>(from) * key_size_);
        c.paths.resize(static_cast<std::size_t>(from));
        return true;
    }
    if (ci > 0 && room(ci - 1) >= min_room) {
        Chunk &left = chunks_[ci - 1];
        const std::size_t n = room(ci - 1) / 2;
        const auto upto = static_cast<std::ptrdiff_t>(n);
        left.keys.insert(left.keys.end(), c.keys.begin(), c.keys.begin() + upto * static_cast<std::ptrdiff_t>(key_size_));
        left.paths.insert(left.paths.end(), std::make_move_iterator(c.paths.begin()),
                          std::make_move_iterator(c.paths.begin() + upto));
        c.keys.erase(c.keys.begin(), c.keys.begin() + upto * static_cast<std::ptrdiff_t>(key_size_));
        c.paths.erase(c.paths.begin(), c.paths.begin() + upto);
        return true;
    }
    return false;
}

void PrefixTable::set(const std::uint8_t *key, PathRef path)
{
    if (chunks_.empty()) {
        chunks_.emplace_back();
        chunks_[0].keys.assign(key, key + key_size_);
        chunks_[0].paths.push_back(std::move(path));
        size_ = 1;
        return;
    }
    std::size_t ci = chunk_for(key);
    std::size_t at = lower_bound(chunks_[ci], key);
    {
        Chunk &c = chunks_[ci];
        if (at < c.paths.size() && compare(c.keys.data() + at * key_size_, key) == 0) {
            c.paths[at] = std::move(path);
            return;
        }
    }
    if (chunks_[ci].paths.size() >= kChunk) {
        if (ci + 1 == chunks_.size() && at == chunks_[ci].paths.size()) {
            // Past the last key (a table taken in in order): a new chunk,
            // leaving the full one full.
            chunks_.emplace_back();
            ci++;
            at = 0;
        } else {
            if (!lend(ci))
                split(ci);
            // Where the key goes now that its chunk has room.
            ci = chunk_for(key);
            at = lower_bound(chunks_[ci], key);
        }
    }
    Chunk &c = chunks_[ci];
    c.keys.insert(c.keys.begin() + static_cast<std::ptrdiff_t>(at * key_size_), key, key + key_size_);
    c.paths.insert(c.paths.begin() + static_cast<std::ptrdiff_t>(at), std::move(path));
    size_++;
}

void PrefixTable::merge_small(std::size_t ci)
{
    // Into the left one of ci and a neighbour, when both fit in most of a
    // chunk (so the merged one does not split again at once).
    const std::size_t limit = kChunk * 3 / 4;
    std::size_t left;
    if (ci + 1 < chunks_.size() &&
        chunks_[ci].paths.size() + chunks_[ci + 1].paths.size() <= limit)
        left = ci;
    else if (ci > 0 && chunks_[ci - 1].paths.size() + chunks_[ci].paths.size() <= limit)
        left = ci - 1;
    else
        return;
    Chunk &a = chunks_[left];
    Chunk &b = chunks_[left + 1];
    a.keys.insert(a.keys.end(), b.keys.begin(), b.keys.end());
    a.paths.insert(a.paths.end(), std::make_move_iterator(b.paths.begin()),
                   std::make_move_iterator(b.paths.end()));
    chunks_.erase(chunks_.begin() + static_cast<std::ptrdiff_t>(left + 1));
}

bool PrefixTable::erase(const std::uint8_t *key)
{
    if (chunks_.empty())
        return false;
    const std::size_t ci = chunk_for(key);
    Chunk &c = chunks_[ci];
    const std::size_t at = lower_bound(c, key);
    if (at == c.paths.size() || compare(c.keys.data() + at * key_size_, key) != 0)
        return false;
    auto k = c.keys.begin() + static_cast<std::ptrdiff_t>(at * key_size_);
    c.keys.erase(k, k + static_cast<std::ptrdiff_t>(key_size_));
    c.paths.erase(c.paths.begin() + static_cast<std::ptrdiff_t>(at));
    size_--;
    if (c.paths.empty())
        chunks_.erase(chunks_.begin() + static_cast<std::ptrdiff_t>(ci));
    else if (c.paths.size() < kChunk / 4)
        merge_small(ci);
    return true;
}

void PrefixTable::clear()
{
    chunks_.clear();
    chunks_.shrink_to_fit();
    size_ = 0;
}

}  // namespace frr_ha
