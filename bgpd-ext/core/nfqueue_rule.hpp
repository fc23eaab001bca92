// A rule that gives packets to an NFQUEUE reader, made with the x_tables
// NFQUEUE target through nf_tables' compat layer (the way iptables-nft
// does): nftables' own `queue` statement needs the nft_queue module, which
// not every kernel carries, while the compat target is in every kernel
// iptables-nft runs on. The rest of a table is nftables text (libnftables);
// only this one statement cannot be written as text, so it is built with
// libnftnl.
#pragma once

#include <cstdint>
#include <string>

#include "result.hpp"

namespace frr_ha {

// Appends to chain `chain` of table `table` (family NFPROTO_IPV4 or
// NFPROTO_IPV6; both must exist) a rule whose one statement queues every
// packet to NFQUEUE `queue`. A packet queued while no process reads the
// queue is dropped.
Status append_queue_rule(std::uint8_t family, const std::string &table, const std::string &chain,
                         std::uint16_t queue);

}  // namespace frr_ha
