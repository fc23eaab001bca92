// One configuration for the pair, as text. Both RPs print their bgpd
// configuration with `show running-config`; these functions reduce it to
// what the two must share, say where two of them differ, and write the vty
// lines that make one equal to the other. Pure text: the caller reads the
// configurations and runs the lines.
//
// FRR prints a configuration as a tree by indentation: a block header
// (`router bgp 65001`, ` address-family ipv4 unicast`, `route-map RM permit
// 10`) with its lines one space deeper. Two lines are the same element when
// their text and the headers above them are the same.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace frr_ha::config {

// The part of a bgpd running configuration both RPs must share, one line per
// element, FRR's indentation kept, "\n"-terminated. Dropped: blank lines,
// "!" comments and separators, "Building configuration...", "Current
// configuration:", "end", the block closers ("exit", "exit-address-family",
// "exit-vni", ...: the indentation keeps the structure), the "line vty"
// block, and the top-level lines each RP keeps for itself ("frr version",
// "frr defaults", "hostname", "domainname", "log", "service", "password",
// "enable password", "debug", also in their "no" form). A trailing "\r" is
// dropped; every other line is kept byte for byte, in order.
std::string comparable(std::string_view running_config);

// Lowercase hex SHA-256 of a comparable() text.
std::string digest(std::string_view comparable_text);

// Where `here` differs from `wanted` (both raw running configurations), for
// an operator: "- " lines only `here` has, in its order, then "+ " lines only
// `wanted` has, in its order; each line with the headers above it, joined by
// " > ". A line both have but in an order FRR cannot reach by adding lines is
// listed as removed and added.
std::vector<std::string> differing_lines(std::string_view here, std::string_view wanted);

// vty lines that, run one by one at the configuration node, turn `here` into
// `wanted` (both raw running configurations). First the removals of what only
// `here` has, in reverse order of `here`: "no LINE" (or LINE without its
// "no "), a block by negating its header ("no route-map RM permit 10", "no
// router bgp 65001 vrf red"), an address-family (which cannot be negated) line
// by line. Then the additions of what only `wanted` has, in its order (so a
// peer-group exists before its members join), a new block whole. Each line is
// entered in its context: the headers above it, then the closers back to the
// configuration node ("exit-address-family" after an address-family, "exit"
// after any other block). A changed line is a removal and an addition.
//
// FRR applies some removals more widely than the line ("no neighbor X
// remote-as" deletes the neighbor): the caller compares again and runs a new
// script, each round taking what the last one lost.
std::vector<std::string> adoption_script(std::string_view here, std::string_view wanted);

}  // namespace frr_ha::config
