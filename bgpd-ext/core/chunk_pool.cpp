#include "chunk_pool.hpp"

#include <algorithm>
#include <cstring>
#include <memory>
#include <mutex>
#include <unordered_set>

namespace frr_ha {

namespace {

std::atomic<bool> sharing{true};
std::atomic<std::size_t> copies{0};

std::uint64_t mix(std::uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

// Chunks are owned through their count (ChunkRef), not by a container: the
// one place one is made and the one place one goes.
Chunk *make_chunk() { return std::make_unique<Chunk>().release(); }
void free_chunk(Chunk *c) { std::unique_ptr<Chunk> owned(c); }

}  // namespace

// The one pool of the process, global for the same reason as PathPool.
// Keyed by content: the hash the chunk keeps, then the entries compared.
struct ChunkPool {
    struct Hash {
        std::size_t operator()(const Chunk *c) const { return static_cast<std::size_t>(c->hash); }
    };
    struct Same {
        bool operator()(const Chunk *a, const Chunk *b) const
        {
            return a == b || (a->keys == b->keys && a->paths == b->paths);
        }
    };
    std::mutex mutex;
    std::unordered_set<Chunk *, Hash, Same> chunks;  // not owning: see make_chunk()

    static ChunkPool &get()
    {
        static ChunkPool pool;
        return pool;
    }
    // Under the mutex; `c` is in the pool (contents are unique there).
    void remove(Chunk *c)
    {
        chunks.erase(chunks.find(c));
        c->interned_ = false;
    }
};

std::size_t with_room(std::size_t entries) { return entries + entries / 8 + 1; }

std::uint64_t entry_hash(const std::uint8_t *key, std::size_t key_size, const PathRef &path)
{
    std::uint64_t h = mix(reinterpret_cast<std::uintptr_t>(path.get()));
    for (std::size_t i = 0; i < key_size; i += 8) {
        std::uint64_t word = 0;
        std::memcpy(&word, key + i, std::min<std::size_t>(8, key_size - i));
        h = mix(h ^ word);
    }
    return h;
}

ChunkRef ChunkRef::fresh() { return ChunkRef(make_chunk()); }

ChunkRef::ChunkRef(const ChunkRef &o)
{
    if (!o.chunk_)
        return;
    if (o.chunk_->interned_) {
        o.chunk_->refs_.fetch_add(1, std::memory_order_relaxed);
        chunk_ = o.chunk_;
        return;
    }
    chunk_ = make_chunk();
    chunk_->keys = o.chunk_->keys;
    chunk_->paths = o.chunk_->paths;
    chunk_->hash = o.chunk_->hash;
}

ChunkRef::~ChunkRef()
{
    if (!chunk_)
        return;
    if (!chunk_->interned_) {  // private: this is its one reference
        free_chunk(chunk_);
        return;
    }
    // As PathRef: not the last reference, no lock; the last one is dropped
    // under the pool's mutex, so intern() never finds a chunk being freed.
    auto refs = chunk_->refs_.load(std::memory_order_relaxed);
    while (refs > 1)
        if (chunk_->refs_.compare_exchange_weak(refs, refs - 1, std::memory_order_release,
                                                std::memory_order_relaxed))
            return;
    Chunk *gone = nullptr;
    {
        ChunkPool &pool = ChunkPool::get();
        std::lock_guard<std::mutex> lock(pool.mutex);
        if (chunk_->refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            pool.remove(chunk_);
            gone = chunk_;
        }
    }
    if (gone)  // outside the lock: freeing drops path references (their own pool)
        free_chunk(gone);
}

Chunk &ChunkRef::thaw()
{
    if (!chunk_->interned_)
        return *chunk_;
    {
        ChunkPool &pool = ChunkPool::get();
        std::lock_guard<std::mutex> lock(pool.mutex);
        // The only holder: nobody can take a new reference while the pool
        // is locked (acquire: other holders' last reads came before).
        if (chunk_->refs_.load(std::memory_order_acquire) == 1) {
            pool.remove(chunk_);
            return *chunk_;
        }
    }
    copies.fetch_add(1, std::memory_order_relaxed);
    ChunkRef shared(std::move(*this));
    chunk_ = make_chunk();
    const std::size_t n = shared->size(), key_size = n ? shared->keys.size() / n : 0;
    chunk_->keys.reserve(with_room(n) * key_size);  // the change to come fits
    chunk_->paths.reserve(with_room(n));
    chunk_->keys = shared->keys;
    chunk_->paths = shared->paths;
    chunk_->hash = shared->hash;
    return *chunk_;
}

void ChunkRef::intern()
{
    if (!chunk_ || chunk_->interned_ || !sharing.load(std::memory_order_relaxed))
        return;
    Chunk *same;
    {
        ChunkPool &pool = ChunkPool::get();
        std::lock_guard<std::mutex> lock(pool.mutex);
        auto it = pool.chunks.find(chunk_);
        if (it == pool.chunks.end()) {
            // It does not change while interned: no more room than
            // with_room() gives (changed in place next time, it need not
            // grow at once).
            if (chunk_->paths.capacity() > with_room(chunk_->size())) {
                chunk_->keys.shrink_to_fit();
                chunk_->paths.shrink_to_fit();
            }
            chunk_->interned_ = true;
            pool.chunks.insert(chunk_);
            return;
        }
        same = *it;
        same->refs_.fetch_add(1, std::memory_order_relaxed);
    }
    ChunkRef mine(chunk_);  // freed at the end of this scope, outside the lock
    chunk_ = same;
}

ChunkRef ChunkRef::find(std::uint64_t hash, bool (*is)(const Chunk &, const void *), const void *wanted)
{
    if (!sharing.load(std::memory_order_relaxed))
        return ChunkRef();
    Chunk probe;
    probe.hash = hash;
    ChunkPool &pool = ChunkPool::get();
    std::lock_guard<std::mutex> lock(pool.mutex);
    const std::size_t b = pool.chunks.bucket(&probe);
    for (auto it = pool.chunks.begin(b); it != pool.chunks.end(b); ++it)
        if ((*it)->hash == hash && is(**it, wanted)) {
            (*it)->refs_.fetch_add(1, std::memory_order_relaxed);
            return ChunkRef(*it);
        }
    return ChunkRef();
}

bool ChunkRef::become(std::uint64_t hash, bool (*is)(const Chunk &, const void *), const void *wanted)
{
    ChunkRef found = find(hash, is, wanted);
    if (!found)
        return false;
    std::swap(chunk_, found.chunk_);  // the old chunk is dropped with `found`, outside the lock
    return true;
}

std::size_t interned_chunks()
{
    ChunkPool &pool = ChunkPool::get();
    std::lock_guard<std::mutex> lock(pool.mutex);
    return pool.chunks.size();
}

std::size_t chunk_copies() { return copies.load(std::memory_order_relaxed); }

void set_chunk_sharing(bool on) { sharing.store(on, std::memory_order_relaxed); }

}  // namespace frr_ha
