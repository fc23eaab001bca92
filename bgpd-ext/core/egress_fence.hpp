// The lease's fence in the kernel (docs/dual-rp.md, "The egress fence"):
// an nftables table in this host's network namespace that drops every TCP
// segment leaving the host from or to the BGP port unless a set holds the
// port, and the lease's remaining time as that element's timeout. The
// kernel then stops the active's sessions at the deadline by itself: a
// frozen or descheduled bgpd, a retransmission, an ACK, a FIN or RST queued
// before the deadline, none leaves after it. bgpd's own check (the write
// tap) stays: the fence is what holds when the process cannot.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "result.hpp"

struct nft_ctx;

namespace frr_ha {

class EgressFence {
public:
    // The table's name, one per network namespace (one dual-RP bgpd each).
    static constexpr const char *kTable = "frr_ha_fence";

    // Installs the fence for TCP port `port`, open: a table left by an
    // earlier process (killed with its lease) is replaced. Needs
    // CAP_NET_ADMIN.
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

    // Segments the kernel dropped since install (0 if it cannot be read).
    std::uint64_t dropped() const;

    struct CtxFree {
        void operator()(nft_ctx *ctx) const;
    };

private:
    EgressFence(std::unique_ptr<nft_ctx, CtxFree> ctx, std::uint16_t port);
    Status run(const std::string &commands) const;
    // The set's one element: the port, with `timeout` (" timeout Nms" or "").
    Status replace_element(const std::string &timeout);
    void remove_table();

    std::unique_ptr<nft_ctx, CtxFree> ctx_;
    std::uint16_t port_ = 0;
};

}  // namespace frr_ha
