// The extern "C" face of the lease's fence in the kernel (frr_ha/fence.h):
// conversions only.
#include "frr_ha/fence.h"

#include "c_api_text.hpp"
#include "egress_fence.hpp"

#include <memory>
#include <string>
#include <vector>

struct frr_ha_egress_fence {
    frr_ha::EgressFence fence;
};

using frr_ha::said;

extern "C" {

frr_ha_egress_fence *frr_ha_egress_fence_install(std::uint16_t port, char *why,
                                                 std::size_t why_len)
{
    auto fence = frr_ha::EgressFence::install(port);
    if (!fence) {
        said(frr_ha::Status::fail(fence.why()), why, why_len);
        return nullptr;
    }
    return std::make_unique<frr_ha_egress_fence>(frr_ha_egress_fence{std::move(*fence)})
        .release();
}

void frr_ha_egress_fence_remove(frr_ha_egress_fence *fence)
{
    std::unique_ptr<frr_ha_egress_fence> gone(fence);
}

bool frr_ha_egress_fence_open_for(frr_ha_egress_fence *fence, std::uint32_t ms, char *why,
                                  std::size_t why_len)
{
    return said(fence->fence.open_for(ms), why, why_len);
}

bool frr_ha_egress_fence_open(frr_ha_egress_fence *fence, char *why, std::size_t why_len)
{
    return said(fence->fence.open(), why, why_len);
}

bool frr_ha_egress_fence_shut(frr_ha_egress_fence *fence, char *why, std::size_t why_len)
{
    return said(fence->fence.shut(), why, why_len);
}

std::uint64_t frr_ha_egress_fence_dropped(const frr_ha_egress_fence *fence)
{
    return fence->fence.dropped();
}

bool frr_ha_egress_fence_guard(frr_ha_egress_fence *fence, const char *const *addresses,
                               std::size_t n, char *why, std::size_t why_len)
{
    return said(fence->fence.guard_addresses(std::vector<std::string>(addresses, addresses + n)), why,
                why_len);
}

std::uint64_t frr_ha_egress_fence_neighbor_dropped(const frr_ha_egress_fence *fence)
{
    return fence->fence.neighbor_dropped();
}

std::uint64_t frr_ha_egress_fence_orphans_destroyed(const frr_ha_egress_fence *fence, char *why,
                                                    std::size_t why_len)
{
    frr_ha::copy_text(why, why_len, fence->fence.orphans_error());
    return fence->fence.orphans_destroyed();
}

bool frr_ha_egress_fence_left_hold_removed(const frr_ha_egress_fence *fence)
{
    return fence->fence.left_hold_removed();
}

std::int64_t frr_ha_egress_fence_destroy_orphans(frr_ha_egress_fence *fence, char *text,
                                                 std::size_t text_len)
{
    std::string which;
    auto destroyed = fence->fence.destroy_orphans_behind(&which);
    if (!destroyed) {
        said(frr_ha::Status::fail(destroyed.why()), text, text_len);
        return -1;
    }
    frr_ha::copy_text(text, text_len, which);
    return static_cast<std::int64_t>(*destroyed);
}

bool frr_ha_egress_fence_is_shut(const frr_ha_egress_fence *fence)
{
    return fence->fence.shut_now();
}

}  // extern "C"
