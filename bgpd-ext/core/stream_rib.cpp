#include "stream_rib.hpp"

#include "bgp_stream.hpp"

#include <algorithm>
#include <cstring>
#include <map>
#include <unordered_map>

namespace frr_ha {

namespace {

constexpr std::uint8_t kAttrExtendedLength = 0x10;
constexpr std::uint8_t kNextHop = 3;
constexpr std::uint8_t kMpReach = 14;
constexpr std::uint8_t kMpUnreach = 15;
constexpr std::uint16_t kAfiIpv4 = 1, kAfiIpv6 = 2;

std::uint16_t get16(std::string_view s, std::size_t at)
{
    return static_cast<std::uint16_t>(static_cast<std::uint8_t>(s[at]) << 8 |
                                      static_cast<std::uint8_t>(s[at + 1]));
}

void put16(std::string &s, std::size_t value)
{
    s.push_back(static_cast<char>((value >> 8) & 0xff));
    s.push_back(static_cast<char>(value & 0xff));
}

void set16(std::string &s, std::size_t at, std::size_t value)
{
    s[at] = static_cast<char>((value >> 8) & 0xff);
    s[at + 1] = static_cast<char>(value & 0xff);
}

// A message header whose length is filled in by finish().
std::string start_update()
{
    std::string m(16, '\xff');
    put16(m, 0);
    m.push_back(static_cast<char>(BgpType::Update));
    return m;
}

void finish(std::string &m) { set16(m, 16, m.size()); }

// Where the NEXT_HOP attribute's 4-byte value is in `attrs`, or npos.
std::size_t next_hop_value_at(std::string_view attrs)
{
    for (std::size_t pos = 0; pos + 3 <= attrs.size();) {
        const bool ext = static_cast<std::uint8_t>(attrs[pos]) & kAttrExtendedLength;
        if (ext && pos + 4 > attrs.size())
            break;
        const std::size_t len = ext ? get16(attrs, pos + 2) : static_cast<std::uint8_t>(attrs[pos + 2]);
        const std::size_t head = ext ? 4 : 3;
        if (static_cast<std::uint8_t>(attrs[pos + 1]) == kNextHop && len == 4 && pos + head + 4 <= attrs.size())
            return pos + head;
        pos += head + len;
    }
    return std::string_view::npos;
}

// A path's bytes as the peer sees them (its attributes, then its MP next
// hop), the own next hop put back.
std::string as_sent(const PathBlock &path, const std::string &own)
{
    std::string attrs(path.attributes());
    std::string next_hop(path.next_hop());
    if (path.own_next_hop()) {
        if (path.has_next_hop()) {
            next_hop = own;
        } else {
            const std::size_t at = next_hop_value_at(attrs);
            if (at != std::string::npos && own.size() == 4)
                attrs.replace(at, 4, own);
        }
    }
    return next_hop + '\0' + attrs;
}

}  // namespace

bool StreamRib::fail(const std::string &why)
{
    if (why_.empty())
        why_ = why;
    for (auto &t : tables_)
        t.clear();
    return false;
}

std::size_t StreamRib::prefixes() const
{
    std::size_t n = 0;
    for (const auto &t : tables_)
        n += t.size();
    return n;
}

StreamRib::Key StreamRib::key_of(std::string_view nlri)
{
    Key k{};  // zero padding: see prefix_table.hpp for why the order holds
    std::copy(nlri.begin(), nlri.end(), k.begin());
    return k;
}

std::vector<std::uint8_t> StreamRib::sorted_keys(const std::vector<std::string_view> &nlri,
                                                std::size_t key_size)
{
    // bgpd sends a message's prefixes in its tree's order (address, then
    // length), the table orders them by length first.
    std::vector<Key> keys;
    keys.reserve(nlri.size());
    for (auto n : nlri)
        keys.push_back(key_of(n));
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    std::vector<std::uint8_t> packed(keys.size() * key_size);
    for (std::size_t i = 0; i < keys.size(); i++)
        std::copy_n(keys[i].begin(), key_size, packed.begin() + static_cast<std::ptrdiff_t>(i * key_size));
    return packed;
}

void StreamRib::change_all(Family f, const std::vector<std::string_view> &nlri, const PathRef *path)
{
    PrefixTable &t = table(f);
    const auto apply = [&](const std::uint8_t *keys, std::size_t count) {
        if (path)
            t.set_sorted(keys, count, *path);
        else
            t.erase_sorted(keys, count);
    };
    if (nlri.size() == 1) {  // most UPDATEs of a real table: nothing to sort
        apply(key_of(nlri.front()).data(), 1);
        return;
    }
    const std::vector<std::uint8_t> keys = sorted_keys(nlri, t.key_size());
    apply(keys.data(), keys.size() / t.key_size());
}

StreamRib::Route StreamRib::route(std::size_t family, const PrefixTable &t,
                                  const PrefixTable::Position &p) const
{
    const std::uint8_t *k = t.key(p);
    const std::size_t size = 1 + (static_cast<std::size_t>(k[0]) + 7) / 8;
    return Route{family_at(family), std::string_view(reinterpret_cast<const char *>(k), size),
                 t.path(p).get(), &own_next_hop_[family]};
}

PathRef StreamRib::intern_path(Family f, std::string_view attributes, std::size_t next_hop_value_at,
                               const std::string_view *mp_next_hop)
{
    std::string &own = own_next_hop_[index_of(f)];
    if (mp_next_hop) {
        if (own.empty())
            own.assign(*mp_next_hop);
        if (*mp_next_hop != own)
            return PathRef::intern(attributes, mp_next_hop);
        std::string zeros(own.size(), '\0');
        zeros[0] = own[0];  // the length byte stays: PathBlock finds the attributes by it
        const std::string_view zeroed(zeros);
        return PathRef::intern(attributes, &zeroed, true);
    }
    if (next_hop_value_at == std::string::npos)
        return PathRef::intern(attributes, nullptr);
    const std::string_view value = attributes.substr(next_hop_value_at, 4);
    if (own.empty())
        own.assign(value);
    if (value != own)
        return PathRef::intern(attributes, nullptr);
    std::string zeroed(attributes);
    zeroed.replace(next_hop_value_at, 4, 4, '\0');
    return PathRef::intern(zeroed, nullptr, true);
}

bool StreamRib::parse_nlri(Family family, std::string_view data, std::vector<std::string_view> *out)
{
    const std::size_t max_bits = family.afi == kAfiIpv4 ? 32 : 128;
    std::size_t pos = 0;
    while (pos < data.size()) {
        std::size_t bits = static_cast<std::uint8_t>(data[pos]);
        std::size_t bytes = (bits + 7) / 8;
        if (bits > max_bits || pos + 1 + bytes > data.size())
            return fail("a prefix does not fit its address family (ADD-PATH is not supported)");
        out->push_back(data.substr(pos, 1 + bytes));
        pos += 1 + bytes;
    }
    return true;
}

bool StreamRib::apply(std::string_view m)
{
    // One settle per message (prefix_table.hpp): the chunks the message
    // changed are interned once, not once per prefix. Not less often: the
    // other sessions of a group, given the same message next, then take
    // the chunks it made from the pool instead of copying their own, and a
    // record between messages is fully shared. Settling every 16 messages
    // was measured (bench/record_memory.cpp): about 10 % less CPU per
    // UPDATE, but each session holds its own copy of every chunk those 16
    // touched until then (10 sessions of a 10k table: 17 bytes a prefix and
    // record, against 7).
    const bool ok = take_in(m);
    for (auto &t : tables_)
        t.settle();
    return ok;
}

bool StreamRib::take_in(std::string_view m)
{
    if (!usable())
        return false;
    if (m.size() < kBgpHeaderSize)
        return fail("a message shorter than a header");
    const auto type = static_cast<BgpType>(m[18]);
    if (type == BgpType::Open) {
        if (open_.empty())
            open_.assign(m);
        return true;
    }
    if (type != BgpType::Update)
        return true;

    std::string_view body = m.substr(kBgpHeaderSize);
    if (body.size() < 4)
        return fail("UPDATE too short");
    const std::size_t withdrawn_len = get16(body, 0);
    if (2 + withdrawn_len + 2 > body.size())
        return fail("UPDATE withdrawn routes overrun");
    const std::size_t attr_len = get16(body, 2 + withdrawn_len);
    const std::size_t attr_at = 4 + withdrawn_len;
    if (attr_at + attr_len > body.size())
        return fail("UPDATE attributes overrun");
    const Family ipv4{kAfiIpv4, 1};

    std::vector<std::string_view> gone, added;
    if (!parse_nlri(ipv4, body.substr(2, withdrawn_len), &gone))
        return false;
    change_all(ipv4, gone, nullptr);
    if (withdrawn_len == 0 && attr_len == 0 && attr_at == body.size()) {
        end_of_rib_.insert(ipv4);
        return true;
    }

    // Attributes: MP_REACH/MP_UNREACH taken apart, the rest kept as sent.
    std::string kept;
    std::string_view attrs = body.substr(attr_at, attr_len);
    bool mp_reach = false;
    Family mp_family{};
    std::string mp_next_hop;
    std::vector<std::string_view> mp_added;
    std::size_t next_hop_at = std::string::npos;  // the NEXT_HOP's value in `kept`
    for (std::size_t pos = 0; pos < attrs.size();) {
        if (pos + 3 > attrs.size())
            return fail("attribute header overrun");
        const auto flags = static_cast<std::uint8_t>(attrs[pos]);
        const auto code = static_cast<std::uint8_t>(attrs[pos + 1]);
        const bool ext = flags & kAttrExtendedLength;
        if (ext && pos + 4 > attrs.size())
            return fail("attribute header overrun");
        const std::size_t len = ext ? get16(attrs, pos + 2) : static_cast<std::uint8_t>(attrs[pos + 2]);
        const std::size_t head = ext ? 4 : 3;
        if (pos + head + len > attrs.size())
            return fail("attribute overrun");
        std::string_view value = attrs.substr(pos + head, len);
        if (code == kNextHop && len == 4)
            next_hop_at = kept.size() + head;
        if (code == kMpReach || code == kMpUnreach) {
            if (value.size() < 3)
                return fail("MP attribute too short");
            Family f{get16(value, 0), static_cast<std::uint8_t>(value[2])};
            if ((f.afi != kAfiIpv4 && f.afi != kAfiIpv6) || (f.safi != 1 && f.safi != 2))
                return fail("address family " + std::to_string(f.afi) + "/" +
                            std::to_string(f.safi) + " is not supported");
            if (code == kMpUnreach) {
                std::vector<std::string_view> mp_gone;
                if (!parse_nlri(f, value.substr(3), &mp_gone))
                    return false;
                if (mp_gone.empty() && attrs.size() == head + len)
                    end_of_rib_.insert(f);
                change_all(f, mp_gone, nullptr);
            } else {
                if (value.size() < 4 || std::size_t{5} + static_cast<std::uint8_t>(value[3]) > value.size())
                    return fail("MP_REACH next hop overrun");
                const std::size_t nh_len = static_cast<std::uint8_t>(value[3]);
                mp_reach = true;
                mp_family = f;
                mp_next_hop.assign(value.substr(3, 1 + nh_len));
                if (!parse_nlri(f, value.substr(4 + nh_len + 1), &mp_added))
                    return false;
            }
        } else {
            kept.append(attrs.substr(pos, head + len));
        }
        pos += head + len;
    }

    if (!parse_nlri(ipv4, body.substr(attr_at + attr_len), &added))
        return false;
    if (added.empty() && mp_added.empty())
        return true;
    if (!added.empty()) {
        const PathRef path = intern_path(ipv4, kept, next_hop_at, nullptr);
        change_all(ipv4, added, &path);
    }
    if (mp_reach && !mp_added.empty()) {
        const std::string_view next_hop(mp_next_hop);
        const PathRef path = intern_path(mp_family, kept, std::string::npos, &next_hop);
        change_all(mp_family, mp_added, &path);
    }
    return true;
}

std::vector<std::string> StreamRib::replay(std::size_t max_message) const
{
    std::vector<Route> routes;
    routes.reserve(prefixes());
    for (std::size_t f = 0; f < kFamilies; f++) {
        const PrefixTable &t = tables_[f];
        for (auto p = t.begin(); !t.at_end(p); t.next(p))
            routes.push_back(route(f, t, p));
    }
    auto out = announce(routes, max_message);
    if (out.empty() && !routes.empty())
        return {};
    for (auto &m : end_of_rib(end_of_rib_))
        out.push_back(std::move(m));
    return out;
}

bool StreamRib::replay_part(Cursor &cursor, std::size_t max_prefixes, std::size_t max_message,
                            std::vector<std::string> *out, std::string *why) const
{
    if (cursor.done_)
        return true;
    std::vector<Route> routes;
    routes.reserve(std::min(max_prefixes, prefixes()));
    bool more = false;
    std::size_t last_family = 0;
    for (std::size_t f = cursor.started_ ? cursor.family_ : 0; f < kFamilies && !more; f++) {
        const PrefixTable &t = tables_[f];
        auto p = cursor.started_ && f == cursor.family_ ? t.upper_bound(cursor.last_.data())
                                                        : t.begin();
        for (; !t.at_end(p); t.next(p)) {
            if (routes.size() == max_prefixes) {
                more = true;
                break;
            }
            routes.push_back(route(f, t, p));
            last_family = f;
        }
    }
    if (!routes.empty()) {
        cursor.started_ = true;
        cursor.family_ = last_family;
        cursor.last_ = key_of(routes.back().nlri);
        auto part = announce(routes, max_message);
        if (part.empty()) {
            *why = "a route's attributes do not fit in a message";
            return false;
        }
        for (auto &m : part)
            out->push_back(std::move(m));
    }
    if (!more) {
        cursor.done_ = true;
        for (auto &m : end_of_rib(end_of_rib_))
            out->push_back(std::move(m));
    }
    return true;
}

std::vector<std::string> StreamRib::announce(const std::vector<Route> &entries,
                                             std::size_t max_message)
{
    // Prefixes sharing attributes (and next hop) go into the same messages.
    // Paths are interned, so equal bytes are one block: a group is found by
    // the block's address (in
    // constant time: a full table is a million prefixes over hundreds of
    // thousands of attribute sets). Groups come in the order of their first
    // prefix, so the same state replays the same way.
    struct Group {
        Family family;
        const PathBlock *path;
        const std::string *own_next_hop;  // the routes come from one record
        std::size_t first = 0, count = 0;  // its prefixes in `nlris`
    };
    struct GroupKey {
        Family family;
        const PathBlock *path;
        bool operator==(const GroupKey &o) const
        {
            return family.afi == o.family.afi && family.safi == o.family.safi && path == o.path;
        }
    };
    struct GroupHash {
        std::size_t operator()(const GroupKey &k) const
        {
            std::size_t h = std::hash<const void *>()(k.path);
            return h ^ (static_cast<std::size_t>(k.family.afi) << 8 | k.family.safi);
        }
    };
    // Each prefix's group, then the prefixes laid out group by group.
    std::vector<Group> groups;
    std::unordered_map<GroupKey, std::uint32_t, GroupHash> index;
    std::vector<std::uint32_t> group_of;
    group_of.reserve(entries.size());
    for (const Route &entry : entries) {
        GroupKey k{entry.family, entry.path};
        auto [it, fresh] = index.try_emplace(k, static_cast<std::uint32_t>(groups.size()));
        if (fresh)
            groups.push_back(Group{entry.family, k.path, entry.own_next_hop});
        groups[it->second].count++;
        group_of.push_back(it->second);
    }
    std::size_t at = 0;
    for (auto &g : groups) {
        g.first = at;
        at += g.count;
        g.count = 0;
    }
    std::vector<std::string_view> nlris(entries.size());
    std::size_t n = 0;
    for (const Route &entry : entries) {
        Group &g = groups[group_of[n++]];
        nlris[g.first + g.count++] = entry.nlri;
    }

    std::vector<std::string> out;
    out.reserve(groups.size());
    for (const auto &group : groups) {
        const bool plain_ipv4 = !group.path->has_next_hop();
        std::string own_attributes;
        std::string_view attributes = group.path->attributes();
        std::string_view next_hop = group.path->next_hop();
        if (group.path->own_next_hop()) {
            if (!plain_ipv4) {
                next_hop = *group.own_next_hop;
            } else {
                own_attributes.assign(attributes);
                const std::size_t at = next_hop_value_at(own_attributes);
                if (at != std::string::npos && group.own_next_hop->size() == 4)
                    own_attributes.replace(at, 4, *group.own_next_hop);
                attributes = own_attributes;
            }
        }
        const std::size_t end = group.first + group.count;
        std::size_t i = group.first;
        while (i < end) {
            std::string m;
            m.reserve(std::min(max_message, 64 + attributes.size() + next_hop.size() +
                                                (end - i) * 17));
            m += start_update();
            put16(m, 0);  // no withdrawn routes
            const std::size_t attr_len_at = m.size();
            put16(m, 0);
            m += attributes;
            std::size_t mp_len_at = 0;
            if (!plain_ipv4) {
                m.push_back(static_cast<char>(0x80 | kAttrExtendedLength));  // optional
                m.push_back(static_cast<char>(kMpReach));
                mp_len_at = m.size();
                put16(m, 0);
                put16(m, group.family.afi);
                m.push_back(static_cast<char>(group.family.safi));
                m += next_hop;
                m.push_back('\0');  // reserved
            }
            const std::size_t first = i;
            while (i < end && m.size() + nlris[i].size() <= max_message)
                m += nlris[i++];
            if (i == first)  // attributes too long for even one prefix
                return {};
            if (!plain_ipv4) {
                set16(m, mp_len_at, m.size() - mp_len_at - 2);
                set16(m, attr_len_at, m.size() - attr_len_at - 2);
            } else {
                set16(m, attr_len_at, attributes.size());
            }
            finish(m);
            out.push_back(std::move(m));
        }
    }
    return out;
}

std::vector<std::string> StreamRib::end_of_rib(const std::set<Family> &families)
{
    std::vector<std::string> out;
    for (const auto &f : families) {
        std::string m = start_update();
        if (f.afi == kAfiIpv4 && f.safi == 1) {
            put16(m, 0);
            put16(m, 0);
        } else {
            put16(m, 0);
            put16(m, 6);
            m.push_back(static_cast<char>(0x80));
            m.push_back(static_cast<char>(kMpUnreach));
            m.push_back(3);
            put16(m, f.afi);
            m.push_back(static_cast<char>(f.safi));
        }
        finish(m);
        out.push_back(std::move(m));
    }
    return out;
}

}  // namespace frr_ha

namespace frr_ha {

std::vector<std::string> StreamRib::diff_to(const StreamRib &target, std::size_t max_message) const
{
    // Both tables in prefix order, walked side by side. Paths are
    // interned: the same bytes are the same block.
    std::vector<Route> changed;
    std::map<Family, std::vector<std::string_view>> gone;
    for (std::size_t f = 0; f < kFamilies; f++) {
        const PrefixTable &mine = tables_[f], &theirs = target.tables_[f];
        // A path marked "own" means each record's own next hop: the same
        // block is the same route only when those are the same.
        const bool same_own = own_next_hop_[f] == target.own_next_hop_[f];
        auto differ = [&](const PathRef &x, const PathRef &y) {
            if (same_own || (!x->own_next_hop() && !y->own_next_hop()))
                return x != y;
            return as_sent(*x.get(), own_next_hop_[f]) != as_sent(*y.get(), target.own_next_hop_[f]);
        };
        auto a = mine.begin(), b = theirs.begin();
        while (!mine.at_end(a) || !theirs.at_end(b)) {
            if (same_own && mine.skip_shared_chunk(a, theirs, b))
                continue;
            const int order = mine.at_end(a)     ? 1
                              : theirs.at_end(b) ? -1
                                                 : std::memcmp(mine.key(a), theirs.key(b), mine.key_size());
            if (order < 0) {
                gone[family_at(f)].push_back(route(f, mine, a).nlri);
                mine.next(a);
            } else if (order > 0) {
                changed.push_back(target.route(f, theirs, b));
                theirs.next(b);
            } else {
                if (differ(mine.path(a), theirs.path(b)))
                    changed.push_back(target.route(f, theirs, b));
                mine.next(a);
                theirs.next(b);
            }
        }
    }

    std::vector<std::string> out;
    for (const auto &[family, nlris] : gone) {
        const bool plain_ipv4 = family.afi == kAfiIpv4 && family.safi == 1;
        std::size_t i = 0;
        while (i < nlris.size()) {
            std::string m = start_update();
            std::size_t len_at = m.size();
            put16(m, 0);  // withdrawn length (IPv4) or 0
            std::size_t mp_len_at = 0;
            if (!plain_ipv4) {
                put16(m, 0);  // attributes length, set below
                m.push_back(static_cast<char>(0x80 | kAttrExtendedLength));
                m.push_back(static_cast<char>(kMpUnreach));
                mp_len_at = m.size();
                put16(m, 0);
                put16(m, family.afi);
                m.push_back(static_cast<char>(family.safi));
            }
            const std::size_t first = i;
            while (i < nlris.size() && m.size() + nlris[i].size() + (plain_ipv4 ? 2 : 0) <= max_message)
                m += nlris[i++];
            if (i == first)
                return {};
            if (plain_ipv4) {
                set16(m, len_at, m.size() - len_at - 2);
                put16(m, 0);  // no attributes
            } else {
                set16(m, mp_len_at, m.size() - mp_len_at - 2);
                set16(m, len_at + 2, m.size() - len_at - 4);
            }
            finish(m);
            out.push_back(std::move(m));
        }
    }
    auto announced = announce(changed, max_message);
    if (announced.empty() && !changed.empty())
        return {};
    for (auto &m : announced)
        out.push_back(std::move(m));
    std::set<Family> eor;
    for (const auto &f : target.end_of_rib_)
        if (!end_of_rib_.count(f))
            eor.insert(f);
    for (auto &m : end_of_rib(eor))
        out.push_back(std::move(m));
    return out;
}

}  // namespace frr_ha
