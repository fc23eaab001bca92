#include "stream_fill.hpp"

#include "bgp_stream.hpp"

namespace frr_ha {

std::optional<std::string> harmless_fill(std::size_t length, bool allow_empty_update)
{
    const std::size_t ka = bgp_keepalive().size();
    const std::size_t up = bgp_empty_update().size();
    // The fewest empty UPDATEs that leave a multiple of 19 for KEEPALIVEs.
    for (std::size_t updates = 0; updates * up <= length; updates++) {
        if (updates > 0 && !allow_empty_update)
            break;
        const std::size_t rest = length - updates * up;
        if (rest % ka != 0)
            continue;
        std::string out;
        out.reserve(length);
        for (std::size_t i = 0; i < updates; i++)
            out += bgp_empty_update();
        for (std::size_t i = 0; i < rest / ka; i++)
            out += bgp_keepalive();
        return out;
    }
    return std::nullopt;
}

}  // namespace frr_ha
