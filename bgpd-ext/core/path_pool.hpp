// The paths the stream records hold (stream_rib.hpp), interned once per
// process: a path is what an UPDATE says of its prefixes besides the
// prefixes themselves (every attribute but MP_REACH/MP_UNREACH, and the
// MP_REACH next hop). A full table carries some 300 000 distinct attribute
// sets; every record of every session (2 per session on the active, 3 on
// the standby) points at the same blocks instead of keeping its own copies.
//
// Thread-safe: records change on bgpd's I/O pthread and on its main thread,
// each under its own session's lock, so the pool has its own mutex. A block
// is freed when its last reference goes.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace frr_ha {

class PathBlock {
public:
    std::string_view attributes() const { return std::string_view(bytes_).substr(1 + next_hop_size_); }
    // MP_REACH's next hop: its length byte, then its bytes.
    std::string_view next_hop() const { return std::string_view(bytes_).substr(1, next_hop_size_); }
    // False for routes in the IPv4 NLRI field (no MP_REACH).
    bool has_next_hop() const { return bytes_[0] & kMpNextHop; }
    // The next hop (MP_REACH's, else the NEXT_HOP attribute's value) is the
    // one its record calls its own, kept here as zeros: the sessions of an
    // update group are sent the same routes with each its own next hop
    // (bgpd sets it per peer), and their records share the paths this way
    // (stream_rib.hpp).
    bool own_next_hop() const { return bytes_[0] & kOwnNextHop; }

    // The pool's key: flags, the next hop, the attributes.
    static std::string key(std::string_view attributes, const std::string_view *next_hop,
                           bool own_next_hop);
    explicit PathBlock(std::string key);

private:
    friend class PathRef;
    friend struct PathPool;
    static constexpr char kMpNextHop = 1, kOwnNextHop = 2;
    std::atomic<std::uint32_t> refs_{0};
    std::uint16_t next_hop_size_ = 0;
    std::string bytes_;
};

// A counted reference to an interned PathBlock, 8 bytes (a record keeps one
// per prefix). Equal paths are the same block, so comparing references is
// comparing the bytes.
class PathRef {
public:
    PathRef() = default;
    PathRef(const PathRef &o) noexcept;
    PathRef(PathRef &&o) noexcept : block_(o.block_) { o.block_ = nullptr; }
    PathRef &operator=(PathRef o) noexcept
    {
        std::swap(block_, o.block_);
        return *this;
    }
    ~PathRef();

    // The one block holding these bytes, made if no record holds it yet.
    // `next_hop` is null for routes in the IPv4 NLRI field; `own_next_hop`:
    // see PathBlock::own_next_hop (the caller zeroed it).
    static PathRef intern(std::string_view attributes, const std::string_view *next_hop,
                          bool own_next_hop = false);

    const PathBlock *get() const { return block_; }
    const PathBlock *operator->() const { return block_; }
    explicit operator bool() const { return block_ != nullptr; }
    bool operator==(const PathRef &o) const { return block_ == o.block_; }
    bool operator!=(const PathRef &o) const { return block_ != o.block_; }

private:
    explicit PathRef(PathBlock *counted) : block_(counted) {}
    PathBlock *block_ = nullptr;
};

// How many distinct paths the process holds now (tests, show).
std::size_t interned_paths();

}  // namespace frr_ha
