#include "receive_mirror.hpp"

namespace frr_ha {

bool ReceiveMirror::append(std::uint64_t offset, std::uint64_t length)
{
    if (offset != end_)
        return false;
    end_ += length;
    return true;
}

std::optional<std::uint64_t> ReceiveMirror::duplicates_in_queue(std::uint64_t consumed) const
{
    if (consumed > end_)
        return std::nullopt;
    return end_ - consumed;
}

}  // namespace frr_ha
