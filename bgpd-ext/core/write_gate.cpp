#include "write_gate.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace frr_ha {

struct WriteGate::Made {};

Result<std::shared_ptr<WriteGate>> WriteGate::make(std::uint64_t start, bool engaged)
{
    int fds[2];
    if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0)
        return Status::fail(std::string("write gate: pipe: ") + std::strerror(errno));
    UniqueFd wake(fds[0]), wait(fds[1]);
    // One page: filling it costs a single write.
    ::fcntl(wait.get(), F_SETPIPE_SZ, 4096);
    return std::make_shared<WriteGate>(Made{}, std::move(wake), std::move(wait), start,
                                       engaged);
}

void WriteGate::empty_pipe()
{
    char buf[4096];
    while (::read(wake_.get(), buf, sizeof(buf)) > 0) {
    }
}

void WriteGate::allow(std::uint64_t end)
{
    std::uint64_t now = limit_.load(std::memory_order_relaxed);
    while (end > now && !limit_.compare_exchange_weak(now, end, std::memory_order_release)) {
    }
    if (end > now)
        empty_pipe();  // after the store: a waiter that filled the pipe before it wakes
}

bool WriteGate::pass_ungated(std::uint64_t end)
{
    if (engaged_.load())
        return false;
    std::uint64_t now = ungated_end_.load();
    while (end > now && !ungated_end_.compare_exchange_weak(now, end)) {
    }
    // Engaged in between: the relay may have read ungated_end_ before the
    // store above, so these bytes must wait for the limit after all.
    return !engaged_.load();
}

void WriteGate::engage()
{
    engaged_.store(true);
}

bool WriteGate::wait_past(std::uint64_t offset)
{
    static const char fill[4096] = {};
    while (::write(wait_.get(), fill, sizeof(fill)) > 0) {
    }
    // An advance between the caller's look and the fill emptied nothing:
    // look again, and leave the pipe writable if it came.
    if (limit() > offset) {
        empty_pipe();
        return false;
    }
    return true;
}

}  // namespace frr_ha
