#include "send_log.hpp"

namespace frr_ha {

bool SendLog::append(std::uint64_t offset, std::string message)
{
    if (offset != end_ || message.empty())
        return false;
    end_ += message.size();
    log_.push_back(Entry{offset, std::move(message)});
    return true;
}

void SendLog::trim(std::uint64_t acked)
{
    take_until(acked);
}

std::vector<std::string> SendLog::take_until(std::uint64_t offset)
{
    std::vector<std::string> taken;
    while (!log_.empty() && log_.front().offset + log_.front().bytes.size() <= offset) {
        begin_ = log_.front().offset + log_.front().bytes.size();
        taken.push_back(std::move(log_.front().bytes));
        log_.pop_front();
    }
    return taken;
}

std::string SendLog::bytes_from(std::uint64_t offset) const
{
    std::string out;
    for (const auto &e : log_) {
        const auto e_end = e.offset + e.bytes.size();
        if (e_end <= offset)
            continue;
        out.append(e.bytes, e.offset < offset ? offset - e.offset : 0, std::string::npos);
    }
    return out;
}

std::optional<SendLog::Resume> SendLog::resume(std::uint64_t written) const
{
    if (written < begin_ || written > end_)
        return std::nullopt;
    Resume r{{}, written, 0};
    for (const auto &e : log_) {
        const auto e_end = e.offset + e.bytes.size();
        if (e_end <= written)
            continue;
        if (e.offset < written) {
            r.complete = e.bytes.substr(written - e.offset);
            r.boundary = e_end;
        } else {
            r.unwritten++;
        }
    }
    return r;
}

}  // namespace frr_ha
