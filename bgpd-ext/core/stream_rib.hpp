// What a BGP byte stream has announced and not withdrawn, kept in the
// stream's own encoding: for each prefix, the path attributes exactly as
// the sender put them (and the MP_REACH next hop). From it, a standby that
// joins an Established session gets the session's state as UPDATE messages
// it can run through bgpd's own input path: the same bytes, so the same
// result, inbound policy included, as if it had seen the whole stream.
//
// Supported: IPv4 and IPv6 unicast and multicast without ADD-PATH (a
// session using anything else is refused with the reason).
#pragma once

#include "path_pool.hpp"

#include <cstdint>
#include <map>
#include <memory>
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
    std::size_t prefixes() const { return paths_.size(); }

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
    struct Key {
        Family family;
        std::string nlri;  // length in bits, then the prefix's bytes
        bool operator<(const Key &o) const
        {
            if (family < o.family || o.family < family)
                return family < o.family;
            return nlri < o.nlri;
        }
    };
    // Attributes and next hop, interned once per process (path_pool.hpp).
    using Path = PathRef;
    using Entry = std::map<Key, Path>::value_type;

    bool fail(const std::string &why);
    static std::vector<std::string> announce(const std::vector<const Entry *> &entries,
                                             std::size_t max_message);
    static std::vector<std::string> end_of_rib(const std::set<Family> &families);
    bool parse_nlri(Family family, std::string_view data, std::vector<std::string> *out);

    std::map<Key, Path> paths_;
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
        Key last_;
    };
};

}  // namespace frr_ha
