#include "egress_fence.hpp"

#include <nftables/libnftables.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <utility>

namespace frr_ha {

namespace {

std::string table_ref()
{
    return std::string("inet ") + EgressFence::kTable;
}

// The whole table in one transaction: the set, the counter, and the rules
// on the output hook (every segment this host sends, its kernel's own
// included). Built with the element already in, so it is never shut
// between its creation and the first word of the lease.
std::string table_text(std::uint16_t port)
{
    const std::string p = std::to_string(port);
    return "table " + table_ref() + " {\n"
           "  set lease { type inet_service; flags timeout; elements = { " + p + " } }\n"
           "  counter dropped { }\n"
           "  chain output {\n"
           "    type filter hook output priority -300; policy accept;\n"
           "    tcp sport " + p + " tcp sport != @lease counter name \"dropped\" drop\n"
           "    tcp dport " + p + " tcp dport != @lease counter name \"dropped\" drop\n"
           "  }\n"
           "}\n";
}

}  // namespace

void EgressFence::CtxFree::operator()(nft_ctx *ctx) const
{
    nft_ctx_free(ctx);
}

Result<EgressFence> EgressFence::install(std::uint16_t port)
{
    std::unique_ptr<nft_ctx, CtxFree> ctx(nft_ctx_new(NFT_CTX_DEFAULT));
    if (!ctx)
        return Result<EgressFence>::fail("nftables: no context");
    nft_ctx_buffer_output(ctx.get());
    nft_ctx_buffer_error(ctx.get());
    EgressFence fence(std::move(ctx), port);
    // "add" first so that "delete" finds a table whether or not one was
    // left behind; then the fresh one, all in one transaction.
    Status made = fence.run("add table " + table_ref() + "\ndelete table " + table_ref() +
                            "\n" + table_text(port));
    if (!made)
        return Result<EgressFence>::fail(made.why());
    return fence;
}

EgressFence::EgressFence(std::unique_ptr<nft_ctx, CtxFree> ctx, std::uint16_t port)
    : ctx_(std::move(ctx)), port_(port)
{
}

EgressFence::EgressFence(EgressFence &&other) noexcept
    : ctx_(std::move(other.ctx_)), port_(other.port_)
{
}

EgressFence &EgressFence::operator=(EgressFence &&other) noexcept
{
    if (this != &other) {
        remove_table();
        ctx_ = std::move(other.ctx_);
        port_ = other.port_;
    }
    return *this;
}

EgressFence::~EgressFence()
{
    remove_table();
}

void EgressFence::remove_table()
{
    if (ctx_)
        (void)run("delete table " + table_ref());
}

Status EgressFence::run(const std::string &commands) const
{
    if (!ctx_)
        return Status::fail("nftables: the fence was moved away");
    if (nft_run_cmd_from_buffer(ctx_.get(), commands.c_str()) != 0) {
        std::string why = nft_ctx_get_error_buffer(ctx_.get());
        while (!why.empty() && (why.back() == '\n' || why.back() == ' '))
            why.pop_back();
        return Status::fail("nftables: " + (why.empty() ? std::string("refused") : why));
    }
    return Status::ok();
}

// The element is replaced in one transaction: a timeout cannot be changed
// in place on every kernel, and a flush never fails on an expired one.
Status EgressFence::replace_element(const std::string &timeout)
{
    return run("flush set " + table_ref() + " lease\nadd element " + table_ref() + " lease { " +
               std::to_string(port_) + timeout + " }");
}

Status EgressFence::open_for(std::uint32_t ms)
{
    if (ms == 0)
        return shut();
    return replace_element(" timeout " + std::to_string(ms) + "ms");
}

Status EgressFence::open()
{
    return replace_element("");
}

Status EgressFence::shut()
{
    return run("flush set " + table_ref() + " lease");
}

std::uint64_t EgressFence::dropped() const
{
    if (!run("list counter " + table_ref() + " dropped"))
        return 0;
    const char *out = nft_ctx_get_output_buffer(ctx_.get());
    const char *at = out ? std::strstr(out, "packets ") : nullptr;
    std::uint64_t packets = 0;
    if (!at || std::sscanf(at, "packets %" SCNu64, &packets) != 1)
        return 0;
    return packets;
}

}  // namespace frr_ha
