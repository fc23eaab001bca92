#include "path_pool.hpp"

#include <memory>
#include <mutex>
#include <unordered_map>

namespace frr_ha {

// The one pool of the process. Global on purpose: sharing the blocks between
// the records of all sessions is its whole point. Function-local, so it is
// made on first use; records live in taps that bgpd frees before exit.
struct PathPool {
    std::mutex mutex;
    // Keyed by the block's own bytes (the view points into the block).
    std::unordered_map<std::string_view, std::unique_ptr<PathBlock>> blocks;

    static PathPool &get()
    {
        static PathPool pool;
        return pool;
    }
};

std::string PathBlock::key(std::string_view attributes, const std::string_view *next_hop,
                           bool own_next_hop)
{
    std::string k;
    k.reserve(1 + (next_hop ? next_hop->size() : 0) + attributes.size());
    k.push_back(static_cast<char>((next_hop ? kMpNextHop : 0) | (own_next_hop ? kOwnNextHop : 0)));
    if (next_hop)
        k.append(*next_hop);
    k.append(attributes);
    return k;
}

PathBlock::PathBlock(std::string key) : bytes_(std::move(key))
{
    // A next hop is its length byte and that many bytes (stream_rib.cpp
    // checked it fits the attribute).
    if (bytes_[0] & kMpNextHop)
        next_hop_size_ = static_cast<std::uint16_t>(1 + static_cast<std::uint8_t>(bytes_[1]));
}

PathRef::PathRef(const PathRef &o) noexcept : block_(o.block_)
{
    if (block_)
        block_->refs_.fetch_add(1, std::memory_order_relaxed);
}

PathRef::~PathRef()
{
    if (!block_)
        return;
    // Not the last reference: no lock. The last one is dropped under the
    // pool's mutex, which intern() also holds to take a new reference, so a
    // block is never found and freed at once.
    auto refs = block_->refs_.load(std::memory_order_relaxed);
    while (refs > 1)
        if (block_->refs_.compare_exchange_weak(refs, refs - 1, std::memory_order_release,
                                                std::memory_order_relaxed))
            return;
    PathPool &pool = PathPool::get();
    std::lock_guard<std::mutex> lock(pool.mutex);
    if (block_->refs_.fetch_sub(1, std::memory_order_acq_rel) == 1)
        pool.blocks.erase(std::string_view(block_->bytes_));
}

PathRef PathRef::intern(std::string_view attributes, const std::string_view *next_hop,
                        bool own_next_hop)
{
    std::string k = PathBlock::key(attributes, next_hop, own_next_hop);
    PathPool &pool = PathPool::get();
    std::lock_guard<std::mutex> lock(pool.mutex);
    auto it = pool.blocks.find(std::string_view(k));
    if (it == pool.blocks.end()) {
        auto block = std::make_unique<PathBlock>(std::move(k));
        std::string_view view(block->bytes_);
        it = pool.blocks.emplace(view, std::move(block)).first;
    }
    it->second->refs_.fetch_add(1, std::memory_order_relaxed);
    return PathRef(it->second.get());
}

std::size_t interned_paths()
{
    PathPool &pool = PathPool::get();
    std::lock_guard<std::mutex> lock(pool.mutex);
    return pool.blocks.size();
}

}  // namespace frr_ha
