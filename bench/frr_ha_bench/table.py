"""A generated routing table of realistic shape, written as BIRD static routes.

Internet tables are not N host routes sharing one attribute set: most IPv4
prefixes are /24s, then /22 and /23, some /16 to /21; many prefixes share an
attribute set, but a full table carries hundreds of thousands of distinct
ones (AS paths of 1 to 10 and more hops, prepends, communities, large
communities, MEDs). What a router keeps and what it puts on the wire (and
what an HA pair hands over) grows with both numbers, so a benchmark of
either needs both.

    table = generate(prefixes=1_000_000, attr_sets=300_000, af=4, seed=1)
    write_bird_static(path, table, "feed")   # protocol static feed { ... }

Everything is drawn from a seeded random generator: the same arguments give
the same table, byte for byte. Nothing is downloaded. The prefixes avoid
the private, documentation and special-purpose ranges (the benchmark's own
links use some of them) and are all distinct; the attribute sets are all
distinct and every one carries at least one prefix. IPv6 (af=6) draws
from 2000::/3 with the lengths seen there (mostly /48, then /32 to /44).

Run alone, it writes a BIRD static protocol and prints what it made:
    /usr/bin/python3 -m frr_ha_bench.table --prefixes 100000 --attr-sets 30000 out.conf
"""
import argparse
import bisect
import ipaddress
import random
import sys
from collections import Counter
from dataclasses import dataclass, field

# Prefix lengths with their share of the table, after the public IPv4 and
# IPv6 tables of recent years (rounded; /24 alone is about 60 % of IPv4).
IPV4_LENGTHS = {24: 0.600, 23: 0.100, 22: 0.125, 21: 0.050, 20: 0.050, 19: 0.030,
                18: 0.016, 17: 0.011, 16: 0.015, 15: 0.0012, 14: 0.0006, 13: 0.0003,
                12: 0.0002, 11: 0.0001, 10: 0.00005, 9: 0.00003, 8: 0.00002}
IPV6_LENGTHS = {48: 0.500, 44: 0.090, 40: 0.080, 36: 0.040, 32: 0.200, 29: 0.050,
                46: 0.020, 47: 0.010, 42: 0.010}

# Where IPv4 prefixes are not drawn from: special-purpose and private space
# (RFC 6890), multicast and above, and so everything the benchmark's own
# links and addresses use (172.16.0.0/12, 192.0.2.0/24, fd00::/8).
IPV4_EXCLUDED = [ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16",
    "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/3")]
IPV6_SPACE = ipaddress.ip_network("2000::/3")
IPV6_EXCLUDED = [ipaddress.ip_network(n) for n in ("2001:db8::/32", "2001::/23", "2002::/16")]

# AS path lengths (hops before the feed's own AS) with their share. The
# tail (11 to 16) is mostly prepending.
PATH_LENGTHS = {1: 0.02, 2: 0.13, 3: 0.28, 4: 0.25, 5: 0.14, 6: 0.08, 7: 0.04, 8: 0.025,
                9: 0.015, 10: 0.01, 11: 0.004, 12: 0.003, 13: 0.002, 14: 0.002, 15: 0.001,
                16: 0.001}

# ASNs never drawn: the benchmark's own (65001, 65100, 65200) are in the
# private range, which is left out altogether, as are AS_TRANS and the
# documentation ranges.
def _public_asn(rng, four_byte):
    while True:
        asn = rng.randint(131072, 399999) if four_byte else rng.randint(1, 64495)
        if asn != 23456:
            return asn


@dataclass(frozen=True)
class AttrSet:
    path: tuple          # AS path, nearest AS first, origin last
    communities: tuple   # ((asn16, value), ...)
    large: tuple         # ((asn, data1, data2), ...)
    med: int             # -1: none


@dataclass
class Table:
    af: int
    prefixes: list = field(default_factory=list)     # "a.b.c.d/len", in draw order
    attr_sets: list = field(default_factory=list)    # AttrSet
    route_set: list = field(default_factory=list)    # index into attr_sets, per prefix

    def summary(self):
        lengths = Counter(int(p.rsplit("/", 1)[1]) for p in self.prefixes)
        hops = Counter(len(a.path) for a in self.attr_sets)
        per_set = Counter(self.route_set)
        sizes = sorted(per_set.values(), reverse=True)
        return {
            "af": self.af, "prefixes": len(self.prefixes), "attr_sets": len(self.attr_sets),
            "lengths": dict(sorted(lengths.items())),
            "path_hops": dict(sorted(hops.items())),
            "with_communities": sum(1 for a in self.attr_sets if a.communities),
            "with_large_communities": sum(1 for a in self.attr_sets if a.large),
            "with_med": sum(1 for a in self.attr_sets if a.med >= 0),
            "origin_ases": len({a.path[-1] for a in self.attr_sets}),
            "prefixes_per_set_max": sizes[0] if sizes else 0,
            "sets_with_one_prefix": sum(1 for s in sizes if s == 1),
        }


def _weighted(rng, table):
    keys = list(table)
    weights = [table[k] for k in keys]
    return lambda: rng.choices(keys, weights)[0]


def _ipv4_ranges():
    """The IPv4 space prefixes are drawn from, as (first, last) integers."""
    space = [ipaddress.ip_network("0.0.0.0/0")]
    for ex in IPV4_EXCLUDED:
        nxt = []
        for net in space:
            nxt.extend(net.address_exclude(ex) if ex.subnet_of(net) else
                       ([] if net.subnet_of(ex) else [net]))
        space = nxt
    return sorted((int(n.network_address), int(n.broadcast_address)) for n in space)


def _draw_prefixes(rng, count, af):
    if af == 4:
        bits, lengths = 32, IPV4_LENGTHS
        ranges = _ipv4_ranges()
    else:
        bits, lengths = 128, IPV6_LENGTHS
        ranges = [(int(IPV6_SPACE.network_address), int(IPV6_SPACE.broadcast_address))]
        excluded = [(int(n.network_address), int(n.broadcast_address)) for n in IPV6_EXCLUDED]
    starts = [r[0] for r in ranges]
    total = sum(b - a + 1 for a, b in ranges)
    cum, acc = [], 0
    for a, b in ranges:
        acc += b - a + 1
        cum.append(acc)
    length_of = _weighted(rng, lengths)
    seen, out = set(), []
    while len(out) < count:
        plen = length_of()
        pos = rng.randrange(total)
        i = bisect.bisect_right(cum, pos)
        addr = starts[i] + pos - (cum[i - 1] if i else 0)
        host = bits - plen
        addr = (addr >> host) << host
        if addr < ranges[i][0] or addr + (1 << host) - 1 > ranges[i][1]:
            continue  # the block would cross into excluded space
        if af == 6 and any(a <= addr <= b for a, b in excluded):
            continue
        key = (addr, plen)
        if key in seen:
            continue
        seen.add(key)
        out.append(f"{ipaddress.ip_address(addr)}/{plen}" if af == 6 else
                   f"{addr >> 24}.{(addr >> 16) & 255}.{(addr >> 8) & 255}.{addr & 255}/{plen}")
    return out


def _draw_attr_sets(rng, count):
    # Origins: about one for every four attribute sets (a full table has
    # some 75 000 origin ASes for 300 000 sets), a fifth of them 4-byte.
    origins = list({_public_asn(rng, rng.random() < 0.2) for _ in range(max(50, count // 4))})
    origins.sort()
    rng.shuffle(origins)
    # Transit: a few large carriers on most paths, then a long tail.
    tier1 = [_public_asn(rng, False) for _ in range(15)]
    transit = [_public_asn(rng, rng.random() < 0.1) for _ in range(max(50, count // 60))]
    hops_of = _weighted(rng, PATH_LENGTHS)
    # Origins carry sets in a skewed way: a few announce hundreds, most one.
    origin_weights = [1.0 / (k + 1) ** 0.8 for k in range(len(origins))]
    origin_cum = []
    acc = 0.0
    for w in origin_weights:
        acc += w
        origin_cum.append(acc)
    sets, seen = [], set()
    while len(sets) < count:
        origin = origins[bisect.bisect_left(origin_cum, rng.random() * acc)]
        hops = hops_of()
        path = [origin]
        # prepending: the origin (sometimes a transit) repeats itself
        prepend = rng.random() < 0.08
        reps = rng.randint(1, 5) if prepend else 0
        path += [origin] * min(reps, max(0, hops - 1))
        while len(path) < hops:
            near_top = len(path) >= hops - 2
            path.append(rng.choice(tier1) if near_top and rng.random() < 0.6 else
                        rng.choice(transit))
        path.reverse()  # nearest AS first, origin last
        upstream = path[0]
        comm_asns = [a for a in path[:3] if a < 65536] or [tier1[0]]
        communities = ()
        if rng.random() < 0.55:
            communities = tuple(sorted({(rng.choice(comm_asns), rng.choice(
                (rng.randint(1, 999), rng.randint(1000, 9999), rng.randint(10000, 65535))))
                for _ in range(rng.choice((1, 1, 2, 2, 3, 4, 6, 8)))}))
        large = ()
        if rng.random() < 0.25:
            large = tuple(sorted({(upstream, rng.randint(1, 10), rng.randint(0, 4000))
                                  for _ in range(rng.choice((1, 1, 2, 3)))}))
        med = rng.choice((0, 10, 20, 50, 100, rng.randint(0, 10000))) if rng.random() < 0.4 else -1
        a = AttrSet(tuple(path), communities, large, med)
        if a in seen:
            continue
        seen.add(a)
        sets.append(a)
    return sets


def generate(prefixes=1_000_000, attr_sets=300_000, af=4, seed=1):
    """A table of `prefixes` distinct prefixes over `attr_sets` distinct
    attribute sets (at most one set per prefix), the same for the same
    arguments."""
    if af not in (4, 6):
        raise ValueError("af is 4 or 6")
    attr_sets = max(1, min(attr_sets, prefixes))
    rng = random.Random(f"frr-ha-table/{af}/{prefixes}/{attr_sets}/{seed}")
    t = Table(af)
    t.prefixes = _draw_prefixes(rng, prefixes, af)
    t.attr_sets = _draw_attr_sets(rng, attr_sets)
    # Every set carries one prefix; the rest go to the sets in a skewed way
    # (a few sets carry thousands of prefixes, most carry one or two).
    weights = [1.0 / (k + 1) ** 0.7 for k in range(attr_sets)]
    extra = rng.choices(range(attr_sets), weights, k=prefixes - attr_sets)
    assignment = list(range(attr_sets)) + extra
    rng.shuffle(assignment)
    t.route_set = assignment
    return t


def bird_attr_block(a):
    """BIRD filter code that gives a route the attribute set `a` (the body
    of the route's block in a static protocol)."""
    body = [f"bgp_path.prepend({asn});" for asn in reversed(a.path)]
    body += [f"bgp_community.add(({x},{y}));" for x, y in a.communities]
    body += [f"bgp_large_community.add(({x},{y},{z}));" for x, y, z in a.large]
    if a.med >= 0:
        body.append(f"bgp_med = {a.med};")
    return " ".join(body)


def write_bird_static(path, table, protocol="feed", route_target="blackhole"):
    """Writes BIRD 2 configuration: `protocol static <protocol>` whose routes
    each carry their attribute set in their own block. Meant to be included
    from the main configuration (`include "path";`). BIRD parses such a file
    in about 1 s per 200 000 routes and keeps about 2.8 KiB per route; one
    function per attribute set called from each route would be smaller but
    BIRD 2.0 defines functions in time that grows with their number (75 s
    for 30 000)."""
    chan = "ipv4" if table.af == 4 else "ipv6"
    blocks = [bird_attr_block(a) for a in table.attr_sets]
    with open(path, "w") as f:
        f.write(f"protocol static {protocol} {{ {chan};\n")
        for p, s in zip(table.prefixes, table.route_set):
            f.write(f"  route {p} {route_target} {{ {blocks[s]} }};\n")
        f.write("}\n")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--prefixes", type=int, default=1_000_000)
    ap.add_argument("--attr-sets", type=int, default=300_000)
    ap.add_argument("--af", type=int, choices=(4, 6), default=4)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--protocol", default="feed")
    ap.add_argument("out", help="BIRD configuration file to write")
    a = ap.parse_args(argv)
    t = generate(a.prefixes, a.attr_sets, a.af, a.seed)
    write_bird_static(a.out, t, a.protocol)
    for k, v in t.summary().items():
        print(f"{k}: {v}")


if __name__ == "__main__":
    sys.exit(main())
