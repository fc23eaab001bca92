// The prefixes of one address family in a stream record (stream_rib.hpp),
// in prefix order, each with its interned path: about 13 bytes a prefix for
// IPv4 (a 5-byte key and an 8-byte reference) where a std::map node took
// over 100. A record is kept per session and per direction, so this is what
// grows with sessions x table.
//
// A key is the NLRI as sent (length in bits, then the prefix's bytes)
// padded with zeros to the family's fixed size; memcmp over the fixed size
// orders keys exactly as comparing the NLRI strings does (the length byte
// decides first; equal lengths mean equal sizes).
//
// Layout: a sorted vector of chunks, each a sorted run of at most kChunk
// keys and references kept in two arrays. Lookup is two binary searches;
// an insert moves at most a few chunks' entries; a full chunk lends entries
// to a neighbour with room, else splits; an emptied or nearly empty one is
// freed or merged into its neighbour.
#pragma once

#include "path_pool.hpp"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace frr_ha {

class PrefixTable {
public:
    static constexpr std::size_t kMaxKey = 17;  // IPv6: length byte + 16
    static constexpr std::size_t kChunk = 256;

    explicit PrefixTable(std::size_t key_size) : key_size_(key_size) {}

    std::size_t key_size() const { return key_size_; }
    std::size_t size() const { return size_; }

    // Inserts the key or replaces its path.
    void set(const std::uint8_t *key, PathRef path);
    bool erase(const std::uint8_t *key);
    // Null when absent.
    const PathRef *find(const std::uint8_t *key) const;
    void clear();

    // A place in prefix order; valid until the table next changes.
    struct Position {
        std::size_t chunk = 0, at = 0;
    };
    Position begin() const { return Position{}; }
    // The first key after `key` (which need not be present).
    Position upper_bound(const std::uint8_t *key) const;
    bool at_end(const Position &p) const { return p.chunk >= chunks_.size(); }
    void next(Position &p) const
    {
        if (++p.at == chunks_[p.chunk].paths.size()) {
            p.chunk++;
            p.at = 0;
        }
    }
    const std::uint8_t *key(const Position &p) const
    {
        return chunks_[p.chunk].keys.data() + p.at * key_size_;
    }
    const PathRef &path(const Position &p) const { return chunks_[p.chunk].paths[p.at]; }

private:
    struct Chunk {
        std::vector<std::uint8_t> keys;  // paths.size() keys of key_size_ bytes
        std::vector<PathRef> paths;
    };

    int compare(const std::uint8_t *a, const std::uint8_t *b) const;
    // The last chunk whose first key is not above `key` (0 when none is).
    std::size_t chunk_for(const std::uint8_t *key) const;
    // The first place in `c` whose key is not below `key`.
    std::size_t lower_bound(const Chunk &c, const std::uint8_t *key) const;
    bool lend(std::size_t ci);
    void split(std::size_t ci);
    void merge_small(std::size_t ci);

    std::size_t key_size_;
    std::size_t size_ = 0;
    std::vector<Chunk> chunks_;  // never an empty one
};

}  // namespace frr_ha
