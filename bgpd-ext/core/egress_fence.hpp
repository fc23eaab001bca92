// The lease's fence in the kernel (docs/dual-rp.md, "The egress fence"):
// an nftables table in this host's network namespace that drops every TCP
// segment leaving the host from or to the BGP port unless a set holds the
// port, and the lease's remaining time as that element's timeout. The
// kernel then stops the active's sessions at the deadline by itself: a
// frozen or descheduled bgpd, a retransmission, an ACK, a FIN or RST queued
// before the deadline, none leaves after it. bgpd's own check (the write
// tap) stays: the fence is what holds when the process cannot.
//
// The same deadline keeps the host from answering for the service
// addresses: once the lease's time has run out, a second table, in the arp
// family, drops every ARP packet this host sends from an IPv4 one, and the
// first drops every neighbour advertisement from an IPv6 one. A frozen
// active's kernel would otherwise keep answering for an address the new
// active has claimed, and a peer that asks again could be sent back to the
// frozen host.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "result.hpp"

struct nft_ctx;

namespace frr_ha {

class EgressFence {
public:
    // The table's name, one per network namespace (one dual-RP bgpd each).
    static constexpr const char *kTable = "frr_ha_fence";

    // Installs the fence for TCP port `port`, open: a table left by an
    // earlier process (killed with its lease) is replaced, once the
    // connections that process left (orphans on the port) are destroyed
    // behind it, shut. Needs CAP_NET_ADMIN.
    static Result<EgressFence> install(std::uint16_t port);

    EgressFence(EgressFence &&) noexcept;
    EgressFence &operator=(EgressFence &&) noexcept;
    ~EgressFence();  // removes the table: segments pass again

    // Segments pass for `ms` more milliseconds of the kernel's clock, then
    // the kernel drops them (0: from now).
    Status open_for(std::uint32_t ms);
    // Segments pass until told otherwise (no lease binds the writes).
    Status open();
    // No segment passes from now.
    Status shut();

    // The service addresses (IPv4 and IPv6, without their length) whose
    // ARP and neighbour advertisements pass only while the fence is open
    // (replaces the former list; an empty one guards none). Refused: a
    // text that is not an address.
    Status guard_addresses(const std::vector<std::string> &addresses);

    // The connections closed on this host since the fence shut (orphans
    // on the port: a bgpd frozen past its lease that closed a session once
    // thawed, before it stepped down): each holds its 4-tuple, which the
    // partner's session may need on this host again, and would send its
    // FIN once the fence opens. Destroyed only while the fence is shut (a
    // deadline past counts: the fence is shut first), so that neither FIN
    // nor RST leaves; an open fence refuses. Returns how many (`which`, if
    // given: each one, as destroy_orphaned_connections says it).
    Result<std::size_t> destroy_orphans_behind(std::string *which = nullptr);
    bool shut_now() const;

    // The orphans install() destroyed, and why it could not (empty: it
    // could, or found no table left behind).
    std::size_t orphans_destroyed() const { return orphans_destroyed_; }
    const std::string &orphans_error() const { return orphans_error_; }
    // Whether install() removed the hold a killed bgpd left
    // (AckHold::remove_left_behind); why it could not is in orphans_error().
    bool left_hold_removed() const { return left_hold_removed_; }

    // Segments the kernel dropped since install (0 if it cannot be read).
    std::uint64_t dropped() const;
    // ARP packets and neighbour advertisements of the guarded addresses
    // it dropped since install.
    std::uint64_t neighbor_dropped() const;

    struct CtxFree {
        void operator()(nft_ctx *ctx) const;
    };

private:
    EgressFence(std::unique_ptr<nft_ctx, CtxFree> ctx, std::uint16_t port);
    Status run(const std::string &commands) const;
    // The lease sets' elements: the port, and each guarded address, with
    // `timeout` (" timeout Nms" or ""); none when shut.
    Status replace_element(const std::string &timeout);
    std::string guard_lease_elements(const std::string &timeout) const;
    std::uint64_t counter(const std::string &table, const std::string &name) const;
    void remove_table();

    std::unique_ptr<nft_ctx, CtxFree> ctx_;
    std::uint16_t port_ = 0;
    std::vector<std::string> guarded_;
    // How the fence was last set, for a new list of guarded addresses.
    enum class State { Open, Until, Shut } state_ = State::Open;
    std::chrono::steady_clock::time_point until_;
    std::size_t orphans_destroyed_ = 0;
    std::string orphans_error_;
    bool left_hold_removed_ = false;
};

}  // namespace frr_ha
