// What a BGP byte stream has announced and not withdrawn, kept in the
// stream's own encoding: for each prefix, the path attributes exactly as
// the sender put them (and the MP_REACH next hop). From it, a standby that
// joins an Established session gets the session's state as UPDATE messages
// it can run through bgpd's own input path: the same bytes, so the same
// result, inbound policy included, as if it had seen the whole stream.
//
// Supported: IPv4 and IPv6 unicast and multicast without ADD-PATH (a
// session using anything else is refused with the reason).
//
// The own next hop: bgpd sends the peers of an update group the same routes,
// each with its own next hop (its address towards that peer). So that their
// records hold the same paths, and share chunks (prefix_table.hpp), a record
// keeps the first next hop it sees per address family as its own, and a
// path carrying it is interned with the next hop zeroed and marked
// (PathBlock::own_next_hop); replay and difference put it back.
#pragma once

#include "path_pool.hpp"
#include "prefix_table.hpp"

#include <array>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace frr_ha {

class StreamRib {
public:
    // Takes in one whole BGP message of the stream. False when the message
    // cannot be understood here; the record is then unusable (why()).
    bool apply(std::string_view message);

    bool usable() const { return why_.empty(); }
    const std::string &why() const { return why_; }
    // The first OPEN of the stream, or "".
    const std::string &open() const { return open_; }
    std::size_t prefixes() const;

    // The recorded state as UPDATE messages of at most `max_message` bytes,
    // then End-of-RIB for each address family that sent one.
    std::vector<std::string> replay(std::size_t max_message) const;

    // The same, made a part at a time while the record goes on changing
    // (a hand-over's history, docs/transparent-failover.md): each call
    // gives the routes of the next `max_prefixes` prefixes in prefix
    // order, after the last one given, and End-of-RIB once past the end.
    // A prefix added behind the cursor is not given: whoever changed the
    // record after the first part must also pass on what changed it.
    class Cursor;
    // False (and why) when a route's attributes do not fit in a message.
    bool replay_part(Cursor &cursor, std::size_t max_prefixes, std::size_t max_message,
                     std::vector<std::string> *out, std::string *why) const;

    // The messages that turn what this record holds into what `target`
    // holds: UPDATEs for prefixes new or changed in `target`, withdrawals
    // for those it lacks, End-of-RIB it sent and this did not; nothing for
    // a prefix both hold alike.
    std::vector<std::string> diff_to(const StreamRib &target, std::size_t max_message) const;

private:
    struct Family {
        std::uint16_t afi;
        std::uint8_t safi;
        bool operator<(const Family &o) const
        {
            return afi != o.afi ? afi < o.afi : safi < o.safi;
        }
    };
    // The supported families, in the order they replay (afi, then safi):
    // IPv4 unicast, IPv4 multicast, IPv6 unicast, IPv6 multicast.
    static constexpr std::size_t kFamilies = 4;
    static std::size_t index_of(Family f) { return (f.afi - 1u) * 2u + (f.safi - 1u); }
    static Family family_at(std::size_t i)
    {
        return Family{static_cast<std::uint16_t>(1 + i / 2), static_cast<std::uint8_t>(1 + i % 2)};
    }
    // A route for announce(): the NLRI as sent, its interned path and the
    // record's own next hop for its family.
    struct Route {
        Family family;
        std::string_view nlri;
        const PathBlock *path;
        const std::string *own_next_hop;
    };
    using Key = std::array<std::uint8_t, PrefixTable::kMaxKey>;

    bool take_in(std::string_view message);
    bool fail(const std::string &why);
    static std::vector<std::string> announce(const std::vector<Route> &routes, std::size_t max_message);
    static std::vector<std::string> end_of_rib(const std::set<Family> &families);
    bool parse_nlri(Family family, std::string_view data, std::vector<std::string_view> *out);
    // The NLRI as a table key (zero-padded to the family's key size).
    static Key key_of(std::string_view nlri);
    PrefixTable &table(Family f) { return tables_[index_of(f)]; }
    // A message's prefixes of family `f` announced with `path`, or
    // withdrawn (null): in table order, at once (PrefixTable::set_sorted()).
    void change_all(Family f, const std::vector<std::string_view> &nlri, const PathRef *path);
    static std::vector<std::uint8_t> sorted_keys(const std::vector<std::string_view> &nlri,
                                                 std::size_t key_size);
    Route route(std::size_t family, const PrefixTable &t, const PrefixTable::Position &p) const;
    // The path as interned for this record: its next hop made "own" when
    // it is the family's own next hop (the first seen becomes it).
    PathRef intern_path(Family f, std::string_view attributes, std::size_t next_hop_value_at,
                        const std::string_view *mp_next_hop);

    // Attributes and next hops interned once per process (path_pool.hpp);
    // prefixes in a compact ordered table per family (prefix_table.hpp).
    std::array<PrefixTable, kFamilies> tables_{PrefixTable(5), PrefixTable(5), PrefixTable(17),
                                               PrefixTable(17)};
    std::array<std::string, kFamilies> own_next_hop_;
    std::set<Family> end_of_rib_;
    std::string open_;
    std::string why_;

public:
    class Cursor {
    public:
        bool done() const { return done_; }

    private:
        friend class StreamRib;
        bool started_ = false, done_ = false;
        std::size_t family_ = 0;  // the last prefix given: its family's index and key
        Key last_{};
    };
};

}  // namespace frr_ha
