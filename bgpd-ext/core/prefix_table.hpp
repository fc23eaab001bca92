// The prefixes of one address family in a stream record (stream_rib.hpp),
// in prefix order, each with its interned path: about 13 bytes a prefix for
// IPv4 (a 5-byte key and an 8-byte reference) where a std::map node took
// over 100. A record is kept per session and per direction.
//
// A key is the NLRI as sent (length in bits, then the prefix's bytes)
// padded with zeros to the family's fixed size; memcmp over the fixed size
// orders keys exactly as comparing the NLRI strings does (the length byte
// decides first; equal lengths mean equal sizes).
//
// Layout: a sorted vector of references to chunks, each a sorted run of
// keys and references kept in two arrays. Lookup is two binary searches.
//
// Where a chunk ends depends on the content alone, never on the order the
// keys came in (content-defined boundaries): scanning the keys in order, a
// chunk ends after a key whose hash says so (one key in kAverageChunk), or
// once it holds kChunk keys; the last chunk ends with the table. So two
// tables with the same content are cut at the same places, whatever their
// histories: one filled in order, one at random, one that diverged and came
// back. A change moves boundaries only around itself: a new key that is a
// boundary splits its chunk, a boundary key removed merges two, and a chunk
// cut at kChunk passes its overflow on until the next boundary key.
// Boundaries depend on keys only: a changed path changes one chunk.
//
// Chunks are shared between tables, copy-on-write and hash-consed
// (chunk_pool.hpp), invisibly to the users of this class: the records of
// what the peers of one update group hold are the same chunks, so they cost
// one table between them, not one per session, and a session whose stream
// diverges copies only the chunks it changed. The peers of an update group
// are sent the same routes but not in the same messages (bgpd packs a
// subgroup's UPDATEs as its timers fire), hence boundaries that ignore the
// order: with boundaries made by split history, 300 sessions of one group
// held 12 647 distinct chunks, about 42 each (docs/benchmarks.md).
//
// When chunks are interned: not at each change (that would hash and look up
// a chunk per prefix) but at settle(), which the owner calls once a batch of
// changes is done (StreamRib: once per message). Changed chunks stay private
// until then. A chunk keeps the sum of its entries' hashes up to date, so
// interning costs a lookup, not a pass over its entries.
//
// Sharing is only an optimisation, content decides: two tables share a
// chunk only when its entries are equal (compared, not only hashed), so a
// find, an iteration or a difference never sees another table's entries.
#pragma once

#include "chunk_pool.hpp"
#include "path_pool.hpp"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace frr_ha {

class PrefixTable {
public:
    static constexpr std::size_t kMaxKey = 17;  // IPv6: length byte + 16
    // One key in kAverageChunk ends a chunk; no chunk holds more than kChunk
    // (about one run in fifty reaches it).
    static constexpr std::size_t kAverageChunk = 128;
    static constexpr std::size_t kChunk = 512;

    explicit PrefixTable(std::size_t key_size) : key_size_(key_size) {}
    // A copy shares the other's interned chunks (and copies its private ones).
    PrefixTable(const PrefixTable &o);
    PrefixTable(PrefixTable &&o) noexcept = default;
    PrefixTable &operator=(const PrefixTable &o);
    PrefixTable &operator=(PrefixTable &&o) noexcept = default;

    std::size_t key_size() const { return key_size_; }
    std::size_t size() const { return size_; }
    std::size_t chunks() const { return chunks_.size(); }
    // Whether every chunk ends where the content says (tests).
    bool boundaries_follow_content() const;

    // Inserts the key or replaces its path.
    void set(const std::uint8_t *key, PathRef path);
    bool erase(const std::uint8_t *key);
    // The same as set() / erase() of each of `count` keys, laid end to end
    // in table order without repeats (one message's prefixes of a family).
    // Where several of them change a chunk other tables hold, and another
    // table made the same change already (the peers of an update group are
    // sent the same routes), the changed chunks are taken from the pool as
    // they are: no copy of the chunk, no reference taken to each path.
    void set_sorted(const std::uint8_t *keys, std::size_t count, const PathRef &path);
    void erase_sorted(const std::uint8_t *keys, std::size_t count);
    // Null when absent; valid until the table next changes or settles.
    const PathRef *find(const std::uint8_t *key) const;
    void clear();
    // Interns the chunks changed since the last settle (see above). The
    // content, its order and positions stay as they are.
    void settle();

    // A place in prefix order; valid until the table next changes (a
    // settle() keeps it valid: chunk boundaries stay where they are).
    struct Position {
        std::size_t chunk = 0, at = 0;
    };
    Position begin() const { return Position{}; }
    // The first key after `key` (which need not be present).
    Position upper_bound(const std::uint8_t *key) const;
    bool at_end(const Position &p) const { return p.chunk >= chunks_.size(); }
    void next(Position &p) const
    {
        if (++p.at == chunks_[p.chunk]->size()) {
            p.chunk++;
            p.at = 0;
        }
    }
    const std::uint8_t *key(const Position &p) const
    {
        return chunks_[p.chunk]->keys.data() + p.at * key_size_;
    }
    const PathRef &path(const Position &p) const { return chunks_[p.chunk]->paths[p.at]; }
    // When `p` and `q` (a place in `other`) both start a chunk, and it is
    // the same interned chunk: moves both past it and returns true. Equal
    // chunks hold equal entries, so a walk comparing two tables (the
    // takeover's difference) passes over what both share without reading it.
    bool skip_shared_chunk(Position &p, const PrefixTable &other, Position &q) const
    {
        if (p.at != 0 || q.at != 0 || at_end(p) || other.at_end(q) ||
            chunks_[p.chunk].get() != other.chunks_[q.chunk].get())
            return false;
        p.chunk++;
        q.chunk++;
        return true;
    }

private:
    int compare(const std::uint8_t *a, const std::uint8_t *b) const;
    // The last chunk whose first key is not above `key` (0 when none is).
    std::size_t chunk_for(const std::uint8_t *key) const;
    // The first place in `c`, from `from` on, whose key is not below `key`.
    std::size_t lower_bound(const Chunk &c, const std::uint8_t *key, std::size_t from = 0) const;
    std::uint64_t hash_of(const Chunk &c, std::size_t from, std::size_t to) const;
    // Chunk `ci`, private to this table, to change (listed for settle()).
    Chunk &writable(std::size_t ci);
    // Chunk `ci` with its entries [at, at + removed) replaced by `key` and
    // `path` (nothing when key is null), taken from the pool if another
    // table made it already; false (nothing done) otherwise.
    bool reuse(std::size_t ci, std::size_t at, std::size_t removed, const std::uint8_t *key,
               const PathRef *path);
    // set_sorted() (path) or erase_sorted() (null).
    void change_sorted(const std::uint8_t *keys, std::size_t count, const PathRef *path);
    // The keys that fall in chunk `ci` (and in the chunks the change makes
    // join it) applied at once, when the chunk is shared and the pool holds
    // every chunk the result is cut into: they replace the old ones. How
    // many keys it took; 0, nothing done, otherwise (prefix_table_batch.cpp).
    std::size_t take_changed(std::size_t ci, const std::uint8_t *keys, std::size_t count, const PathRef *path);
    // Whether setting (or erasing) `key`, in chunk `ci`, moves a cut.
    bool moves_boundary(std::size_t ci, const std::uint8_t *key, bool set) const;
    // How many of the `count` keys (sorted) fall in chunk `ci`, the first
    // of them being in it.
    std::size_t keys_in(std::size_t ci, const std::uint8_t *keys, std::size_t count) const;
    // A new private chunk at `ci`.
    Chunk &add_chunk(std::size_t ci);
    void remove_chunk(std::size_t ci);
    // Whether a chunk ends after this key, whatever follows it.
    bool ends_chunk(const std::uint8_t *key) const;
    // The place in `c` after which its first chunk by content ends, or
    // c.size() when none of its keys ends one.
    std::size_t first_end(const Chunk &c) const;
    // Whether inserting a new key at `at` of chunk `ci` / erasing the one
    // there moves a boundary (else the chunk changes alone).
    bool insert_moves_boundary(std::size_t ci, std::size_t at, const std::uint8_t *key) const;
    bool erase_moves_boundary(std::size_t ci, std::size_t at) const;
    // Cuts again from chunk `ci` (whose start stays where it is) until a
    // boundary falls where an old one was: from there on the old chunks
    // are cut as the content says already.
    void recut(std::size_t ci);
    void split_at(std::size_t ci, std::size_t at);
    void merge_next(std::size_t ci);

    std::size_t key_size_;
    std::size_t size_ = 0;
    std::vector<ChunkRef> chunks_;  // never an empty one
    std::vector<const Chunk *> unsettled_;  // this table's private chunks
};

}  // namespace frr_ha
