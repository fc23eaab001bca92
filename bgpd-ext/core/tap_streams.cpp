#include "tap_streams.hpp"

#include <unistd.h>

#include <algorithm>

namespace frr_ha {

ssize_t TapStreams::read_plain(void *buf, std::size_t len)
{
    ssize_t n = ::read(fd_, buf, len);
    if (n > 0) {
        consumed_ += static_cast<std::uint64_t>(n);
        track_input(buf, static_cast<std::size_t>(n));
    }
    return n;
}

ssize_t TapStreams::writev_plain(const struct iovec *iov, int iovcnt)
{
    ssize_t n = ::writev(fd_, iov, iovcnt);
    if (n <= 0)
        return n;
    written_ += static_cast<std::uint64_t>(n);
    track_output(iov, iovcnt, static_cast<std::size_t>(n));
    return n;
}

void TapStreams::track_input(const void *data, std::size_t len)
{
    if (!following_ || !in_rib_.usable())
        return;
    in_track_.feed(data, len);
    while (auto msg = in_track_.next())
        in_rib_.apply(*msg);
}

void TapStreams::track_output(const struct iovec *iov, int iovcnt, std::size_t len)
{
    if (!following_)
        return;
    for (int i = 0; i < iovcnt && len > 0; i++) {
        std::size_t take = std::min(len, iov[i].iov_len);
        out_track_.feed(iov[i].iov_base, take);
        len -= take;
    }
    while (auto msg = out_track_.next()) {
        note_sent(*msg);
        out_rib_.apply(*msg);
        if (also_sent_)
            also_sent_->apply(*msg);
    }
}

void TapStreams::note_sent(const std::string &message)
{
    if (out_open_.empty() && message.size() > kBgpHeaderSize &&
        static_cast<BgpType>(message[18]) == BgpType::Open)
        out_open_ = message;
}

Status TapStreams::followable(const std::string &excluded_why, bool receive_only) const
{
    if (!following_)
        return Status::fail("the session's streams were not followed: " + excluded_why);
    if (!in_rib_.usable())
        return Status::fail(in_rib_.why());
    if (!receive_only && !out_rib_.usable())
        return Status::fail("what the peer holds from us: " + out_rib_.why());
    if (in_rib_.open().empty() || out_open_.empty())
        return Status::fail("the session's OPEN messages were not seen");
    if (in_track_.broken() || out_track_.broken())
        return Status::fail("the session's streams could not be followed");
    return Status::ok();
}

TapStreams::History TapStreams::history(bool receive_only) const
{
    return History{
        HistoryStream::of_record(in_rib_.open() + bgp_keepalive(), in_rib_,
                                 in_track_.partial_bytes(), max_message_),
        receive_only ? HistoryStream::of_bytes(out_open_ + bgp_keepalive())
                     : HistoryStream::of_record(out_open_ + bgp_keepalive(), out_rib_,
                                                out_track_.partial_bytes(), max_message_)};
}

void TapStreams::stop_following()
{
    following_ = false;
    in_rib_ = StreamRib();
    out_rib_ = StreamRib();
    in_track_ = BgpStreamFramer(kBgpMaxExtendedMessage);
    out_track_ = BgpStreamFramer(kBgpMaxExtendedMessage);
}

}  // namespace frr_ha
