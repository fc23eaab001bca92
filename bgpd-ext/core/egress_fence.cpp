#include "egress_fence.hpp"

#include "ack_hold.hpp"
#include "orphan_connections.hpp"

#include <arpa/inet.h>
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

std::string arp_table_ref()
{
    return std::string("arp ") + EgressFence::kTable;
}

// The service addresses' ARP: what this host sends from a guarded address
// passes only while the lease set holds that address (the sets start
// empty: guard_addresses fills them).
std::string arp_table_text()
{
    return "table " + arp_table_ref() + " {\n"
           "  set service { type ipv4_addr; }\n"
           "  set lease { type ipv4_addr; flags timeout; }\n"
           "  counter dropped { }\n"
           "  chain output {\n"
           "    type filter hook output priority -300; policy accept;\n"
           "    arp saddr ip @service arp saddr ip != @lease counter name \"dropped\" drop\n"
           "  }\n"
           "}\n";
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
           "  set service6 { type ipv6_addr; }\n"
           "  set lease6 { type ipv6_addr; flags timeout; }\n"
           "  counter dropped { }\n"
           "  counter nd_dropped { }\n"
           "  chain output {\n"
           "    type filter hook output priority -300; policy accept;\n"
           "    tcp sport " + p + " tcp sport != @lease counter name \"dropped\" drop\n"
           "    tcp dport " + p + " tcp dport != @lease counter name \"dropped\" drop\n"
           // A neighbour advertisement for a local address has it as source.
           "    icmpv6 type nd-neighbor-advert ip6 saddr @service6 ip6 saddr != @lease6 "
           "counter name \"nd_dropped\" drop\n"
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
    // A table left behind means a bgpd was killed here, maybe as active:
    // its connections are orphans that go on sending (a FIN, its
    // retransmissions) and hold their 4-tuples. Shut that table first, so
    // that nothing they or their destruction send leaves the host, then
    // destroy them (docs/dual-rp.md, "A killed bgpd's connections").
    if (fence.run("list table " + table_ref())) {
        Status shut = fence.run("flush set " + table_ref() + " lease");
        if (!shut)
            return Result<EgressFence>::fail(shut.why());
        Result<std::size_t> destroyed = destroy_orphaned_connections(port);
        if (destroyed)
            fence.orphans_destroyed_ = *destroyed;
        else
            fence.orphans_error_ = destroyed.why();
    }
    // The hold a bgpd killed as active left behind would silence a session
    // continued back onto this host (same 4-tuple) for good. Its
    // connections are gone now; while orphans remain it stays (it keeps
    // their FINs in). Installed once per process, before any hold of its
    // own starts, so the table found is never this process's.
    if (fence.orphans_error_.empty()) {
        Result<bool> removed = AckHold::remove_left_behind();
        if (removed)
            fence.left_hold_removed_ = *removed;
        else
            fence.orphans_error_ = removed.why();
    }
    // "add" first so that "delete" finds a table whether or not one was
    // left behind; then the fresh one, all in one transaction.
    Status made = fence.run("add table " + table_ref() + "\ndelete table " + table_ref() +
                            "\n" + table_text(port) + "add table " + arp_table_ref() +
                            "\ndelete table " + arp_table_ref() + "\n" + arp_table_text());
    if (!made)
        return Result<EgressFence>::fail(made.why());
    return fence;
}

EgressFence::EgressFence(std::unique_ptr<nft_ctx, CtxFree> ctx, std::uint16_t port)
    : ctx_(std::move(ctx)), port_(port)
{
}

EgressFence::EgressFence(EgressFence &&other) noexcept
    : ctx_(std::move(other.ctx_)), port_(other.port_), guarded_(std::move(other.guarded_)),
      state_(other.state_), until_(other.until_), orphans_destroyed_(other.orphans_destroyed_),
      orphans_error_(std::move(other.orphans_error_)), left_hold_removed_(other.left_hold_removed_)
{
}

EgressFence &EgressFence::operator=(EgressFence &&other) noexcept
{
    if (this != &other) {
        remove_table();
        ctx_ = std::move(other.ctx_);
        port_ = other.port_;
        guarded_ = std::move(other.guarded_);
        state_ = other.state_;
        until_ = other.until_;
        orphans_destroyed_ = other.orphans_destroyed_;
        orphans_error_ = std::move(other.orphans_error_);
        left_hold_removed_ = other.left_hold_removed_;
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
        (void)run("delete table " + table_ref() + "\ndelete table " + arp_table_ref());
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
               std::to_string(port_) + timeout + " }\n" + guard_lease_elements(timeout));
}

namespace {

bool is_ipv6(const std::string &address)
{
    return address.find(':') != std::string::npos;
}

// "flush set SET" and, if any address of the family is there, "add
// element SET { a<suffix>, ... }".
std::string set_elements(const std::string &set, const std::vector<std::string> &addresses,
                         bool ipv6, const std::string &suffix)
{
    std::string commands = "flush set " + set + "\n", elements;
    for (const std::string &a : addresses)
        if (is_ipv6(a) == ipv6)
            elements += (elements.empty() ? "" : ", ") + a + suffix;
    if (!elements.empty())
        commands += "add element " + set + " { " + elements + " }\n";
    return commands;
}

}  // namespace

std::string EgressFence::guard_lease_elements(const std::string &timeout) const
{
    return set_elements(arp_table_ref() + " lease", guarded_, false, timeout) +
           set_elements(table_ref() + " lease6", guarded_, true, timeout);
}

Status EgressFence::guard_addresses(const std::vector<std::string> &addresses)
{
    for (const std::string &a : addresses) {
        in6_addr parsed{};
        if (inet_pton(is_ipv6(a) ? AF_INET6 : AF_INET, a.c_str(), &parsed) != 1)
            return Status::fail("'" + a + "' is not an IPv4 or IPv6 address");
    }
    std::vector<std::string> before = std::move(guarded_);
    guarded_ = addresses;
    std::string commands = set_elements(arp_table_ref() + " service", guarded_, false, "") +
                           set_elements(table_ref() + " service6", guarded_, true, "");
    // The new addresses' lease as the port's: open, until the same
    // deadline, or shut.
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          until_ - std::chrono::steady_clock::now())
                          .count();
    if (state_ == State::Open)
        commands += guard_lease_elements("");
    else if (state_ == State::Until && left > 0)
        commands += guard_lease_elements(" timeout " + std::to_string(left) + "ms");
    else
        commands += "flush set " + arp_table_ref() + " lease\nflush set " + table_ref() +
                    " lease6\n";
    Status done = run(commands);
    if (!done)
        guarded_ = std::move(before);
    return done;
}

Status EgressFence::open_for(std::uint32_t ms)
{
    if (ms == 0)
        return shut();
    state_ = State::Until;
    until_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    return replace_element(" timeout " + std::to_string(ms) + "ms");
}

Status EgressFence::open()
{
    state_ = State::Open;
    return replace_element("");
}

Status EgressFence::shut()
{
    state_ = State::Shut;
    return run("flush set " + table_ref() + " lease\nflush set " + table_ref() +
               " lease6\nflush set " + arp_table_ref() + " lease");
}

bool EgressFence::shut_now() const
{
    return state_ == State::Shut ||
           (state_ == State::Until && std::chrono::steady_clock::now() >= until_);
}

Result<std::size_t> EgressFence::destroy_orphans_behind(std::string *which)
{
    using R = Result<std::size_t>;
    if (!shut_now())
        return R::fail("the fence is open: their FIN or RST would leave the host");
    // Past the deadline the kernel's element has expired or is about to
    // (its timer counts in jiffies): shut it for certain first.
    if (state_ != State::Shut)
        if (Status shut_first = shut(); !shut_first)
            return R::fail(shut_first.why());
    return destroy_orphaned_connections(port_, which);
}

std::uint64_t EgressFence::dropped() const
{
    return counter(table_ref(), "dropped");
}

std::uint64_t EgressFence::neighbor_dropped() const
{
    return counter(arp_table_ref(), "dropped") + counter(table_ref(), "nd_dropped");
}

std::uint64_t EgressFence::counter(const std::string &table, const std::string &name) const
{
    if (!run("list counter " + table + " " + name))
        return 0;
    const char *out = nft_ctx_get_output_buffer(ctx_.get());
    const char *at = out ? std::strstr(out, "packets ") : nullptr;
    std::uint64_t packets = 0;
    if (!at || std::sscanf(at, "packets %" SCNu64, &packets) != 1)
        return 0;
    return packets;
}

}  // namespace frr_ha
