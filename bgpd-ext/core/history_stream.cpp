#include "history_stream.hpp"

#include <algorithm>
#include <vector>

namespace frr_ha {

namespace {

// Prefixes per part: a few milliseconds of work, about 100 KiB of UPDATEs
// for a table with many attribute sets.
constexpr std::size_t kMinPrefixesPerPart = 256;
// A prefix with its share of an UPDATE, roughly (for sizing a part).
constexpr std::size_t kBytesPerPrefix = 32;

}  // namespace

HistoryStream HistoryStream::of_bytes(std::string bytes)
{
    HistoryStream h;
    h.head_ = std::move(bytes);
    h.step_ = Step::Head;
    return h;
}

HistoryStream HistoryStream::of_record(std::string head, const StreamRib &rib, std::string tail,
                                       std::size_t max_message)
{
    HistoryStream h;
    h.head_ = std::move(head);
    h.rib_ = &rib;
    h.tail_ = std::move(tail);
    h.max_message_ = max_message;
    h.step_ = Step::Head;
    return h;
}

void HistoryStream::give(std::string &out, std::string &bytes)
{
    made_ += bytes.size();
    out += bytes;
    std::string().swap(bytes);
}

Status HistoryStream::next(std::string &out, std::size_t budget)
{
    switch (step_) {
    case Step::Head:
        give(out, head_);
        step_ = rib_ ? Step::Routes : Step::Done;
        return Status::ok();
    case Step::Routes: {
        if (!rib_->usable())
            return Status::fail(rib_->why());
        std::vector<std::string> part;
        std::string why;
        std::size_t prefixes = std::max(kMinPrefixesPerPart, budget / kBytesPerPrefix);
        if (!rib_->replay_part(cursor_, prefixes, max_message_, &part, &why))
            return Status::fail(why);
        for (const auto &m : part) {
            out += m;
            made_ += m.size();
        }
        if (cursor_.done())
            step_ = Step::Tail;
        return Status::ok();
    }
    case Step::Tail:
        give(out, tail_);
        step_ = Step::Done;
        return Status::ok();
    case Step::Done:
        break;
    }
    return Status::ok();
}

}  // namespace frr_ha
