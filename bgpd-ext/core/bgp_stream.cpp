#include "bgp_stream.hpp"

namespace frr_ha {

namespace {
std::string bgp_header(std::uint16_t length, BgpType type)
{
    std::string h(16, '\xff');
    h.push_back(static_cast<char>(length >> 8));
    h.push_back(static_cast<char>(length & 0xff));
    h.push_back(static_cast<char>(type));
    return h;
}
}  // namespace

std::string bgp_keepalive()
{
    return bgp_header(kBgpHeaderSize, BgpType::Keepalive);
}

std::string bgp_empty_update()
{
    // Withdrawn routes length 0, total path attribute length 0, no NLRI.
    return bgp_header(kBgpHeaderSize + 4, BgpType::Update) + std::string(4, '\0');
}

void BgpStreamFramer::feed(const void *data, std::size_t len)
{
    if (broken())
        return;
    if (pos_ > 0 && pos_ >= buffer_.size() / 2) {
        buffer_.erase(0, pos_);
        pos_ = 0;
    }
    buffer_.append(static_cast<const char *>(data), len);
}

std::optional<std::string> BgpStreamFramer::next()
{
    if (broken() || partial() < kBgpHeaderSize)
        return std::nullopt;
    const auto *h = reinterpret_cast<const std::uint8_t *>(buffer_.data() + pos_);
    for (std::size_t i = 0; i < 16; i++)
        if (h[i] != 0xff) {
            error_ = "BGP marker not all ones at offset " + std::to_string(boundary_);
            return std::nullopt;
        }
    const std::size_t length = (std::size_t{h[16]} << 8) | h[17];
    if (length < kBgpHeaderSize || length > max_message_) {
        error_ = "BGP message length " + std::to_string(length) + " out of range at offset " +
                 std::to_string(boundary_);
        return std::nullopt;
    }
    if (partial() < length)
        return std::nullopt;
    std::string msg = buffer_.substr(pos_, length);
    pos_ += length;
    boundary_ += length;
    if (pos_ == buffer_.size())
        forget_framed();
    return msg;
}

void BgpStreamFramer::forget_framed()
{
    pos_ = 0;
    if (buffer_.capacity() > kKeptCapacity)
        std::string().swap(buffer_);
    else
        buffer_.clear();
}

}  // namespace frr_ha
