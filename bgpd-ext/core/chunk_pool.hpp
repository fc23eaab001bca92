// The chunks of the prefix tables (prefix_table.hpp), hash-consed once per
// process: a chunk whose content equals one another table holds is the same
// chunk. Sessions of one update group are sent the same stream, so their
// records of what the peer holds are equal chunk for chunk and cost one copy
// between them, not one each.
//
// A chunk is either interned (in the pool, immutable, held by any number of
// tables) or private (one table's, out of the pool, changed in place). A
// table makes a chunk private before changing it (ChunkRef::thaw: the chunk
// itself when no other table holds it, else a copy) and interns it again
// later, once per batch of changes (ChunkRef::intern).
//
// Thread-safe like path_pool.hpp: tables change on bgpd's I/O pthread and
// main thread, each under its own session's lock; the pool has its own mutex.
#pragma once

#include "path_pool.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace frr_ha {

class Chunk {
public:
    std::vector<std::uint8_t> keys;  // paths.size() keys of the table's key size
    std::vector<PathRef> paths;
    // The sum of entry_hash() over the entries, kept up to date by whoever
    // changes the chunk, so interning does not read the entries again. A sum
    // does not depend on the order the entries came in; the keys' order is
    // the table's anyway.
    std::uint64_t hash = 0;

    std::size_t size() const { return paths.size(); }
    bool interned() const { return interned_; }

private:
    friend class ChunkRef;
    friend struct ChunkPool;
    std::atomic<std::uint32_t> refs_{1};
    bool interned_ = false;  // changed only by the sole holder, under the pool's mutex
};

// One entry's share of Chunk::hash: its key's bytes and its path (interned,
// so the block's address stands for the path's bytes).
std::uint64_t entry_hash(const std::uint8_t *key, std::size_t key_size, const PathRef &path);

// A counted reference to a chunk, 8 bytes. Copying a reference to an
// interned chunk shares it; copying one to a private chunk copies the chunk
// (a private chunk has one holder, who may change it).
class ChunkRef {
public:
    ChunkRef() = default;
    // A new empty private chunk.
    static ChunkRef fresh();

    ChunkRef(const ChunkRef &o);
    ChunkRef(ChunkRef &&o) noexcept : chunk_(o.chunk_) { o.chunk_ = nullptr; }
    ChunkRef &operator=(ChunkRef o) noexcept
    {
        std::swap(chunk_, o.chunk_);
        return *this;
    }
    ~ChunkRef();

    const Chunk &operator*() const { return *chunk_; }
    const Chunk *operator->() const { return chunk_; }
    const Chunk *get() const { return chunk_; }

    // The chunk, private to this reference, to change in place: the same
    // one taken out of the pool when no other reference holds it, else a
    // copy (copy-on-write).
    Chunk &thaw();
    // A private chunk put in the pool, or swapped for the pool's chunk of
    // the same content (then freed). Nothing when sharing is off.
    void intern();
    // This reference moved to the pool's chunk with `hash` that `is` takes
    // for the one wanted (checked under the pool's lock); false when the
    // pool has none. So a change another table already made and interned
    // is taken without copying the chunk.
    bool become(std::uint64_t hash, bool (*is)(const Chunk &, const void *), const void *wanted);
    // A reference to the pool's chunk with `hash` that `is` takes for the
    // one wanted; an empty reference when the pool has none.
    static ChunkRef find(std::uint64_t hash, bool (*is)(const Chunk &, const void *), const void *wanted);
    explicit operator bool() const { return chunk_ != nullptr; }
    // Whether another reference may hold the chunk (a hint: it can change
    // as soon as it is read, unless this reference is the only one).
    bool maybe_shared() const { return chunk_->refs_.load(std::memory_order_relaxed) > 1; }

private:
    explicit ChunkRef(Chunk *counted) : chunk_(counted) {}
    Chunk *chunk_ = nullptr;
};

// The room a chunk of `entries` keeps for changes: an eighth more. An
// interned chunk keeps no more (it is the table's memory), a changed one
// grows by this much (not by half, as a vector would).
std::size_t with_room(std::size_t entries);

// How many chunks the pool holds now (tests, show, benchmarks).
std::size_t interned_chunks();

// How many times a table copied a chunk others held to change it, since
// the process started (tests, benchmarks: the copies a change in place
// could not avoid).
std::size_t chunk_copies();

// Sharing on (the default) or off, process-wide: off, intern() does nothing
// and every table keeps private chunks, as before sharing. For benchmarks
// comparing the two; set it before any table exists.
void set_chunk_sharing(bool on);

}  // namespace frr_ha
