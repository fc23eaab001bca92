// The session taps behind include/frr_ha/tap.h (c_api_tap.cpp), shared with
// the C boundary's other files that hand sessions over (c_api_cross_host.cpp).
#pragma once

#include "frr_ha/tap.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>

#include "session_tap.hpp"
#include "unique_fd.hpp"

struct frr_ha_taps {
    struct Entry {
        Entry(std::uint64_t c, std::unique_ptr<frr_ha::SessionTap> t) : cookie(c), tap(std::move(t)) {}
        // Atomic: a takeover changes it (follow) under the shared lock.
        std::atomic<std::uint64_t> cookie;
        std::unique_ptr<frr_ha::SessionTap> tap;
    };
    // The map only: each tap is guarded by its session's own lock, so a
    // session's I/O and another's (or a show command) never wait on each
    // other here beyond a lookup. Exclusive only to add or drop a tap.
    std::shared_mutex mutex;
    std::map<int, Entry> by_fd;
    // Never ready: every parked session's read waits on it, one descriptor
    // for all. libfrr keeps one task per descriptor, so the waits share its
    // slot; none ever runs, and a cancel of one leaves the others alone
    // (patches/0018).
    frr_ha::UniqueFd parked{::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)};
    // Where a refused call is said (frr_ha_taps_set_log); stderr until set.
    frr_ha_taps_log log = nullptr;

    static std::uint64_t cookie(int fd)
    {
        std::uint64_t c = 0;
        socklen_t len = sizeof(c);
        if (::getsockopt(fd, SOL_SOCKET, SO_COOKIE, &c, &len) < 0)
            return 0;
        return c;
    }

    // The tap of `fd`; a new recording one for a connection not seen yet.
    // Takes the map's lock itself (shared, exclusive only to add a tap).
    frr_ha::SessionTap &get(int fd)
    {
        std::uint64_t c = cookie(fd);
        {
            std::shared_lock<std::shared_mutex> lock(mutex);
            auto it = by_fd.find(fd);
            if (it != by_fd.end() && it->second.cookie == c)
                return *it->second.tap;
        }
        std::unique_lock<std::shared_mutex> lock(mutex);
        auto it = by_fd.find(fd);
        if (it != by_fd.end() && it->second.cookie == c)
            return *it->second.tap;
        return put(fd, c, std::make_unique<frr_ha::SessionTap>(fd));
    }

    // Under the exclusive lock: `tap` is now the tap of fd (whose cookie is c).
    frr_ha::SessionTap &put(int fd, std::uint64_t c, std::unique_ptr<frr_ha::SessionTap> tap)
    {
        by_fd.erase(fd);
        return *by_fd.try_emplace(fd, c, std::move(tap)).first->second.tap;
    }

    frr_ha::SessionTap *find(int fd)
    {
        auto it = by_fd.find(fd);
        if (it == by_fd.end() || it->second.cookie != cookie(fd))
            return nullptr;
        return it->second.tap.get();
    }

    // The descriptor now names another file (a stand-in, or the peer's
    // socket back): the tap follows it. The caller holds the session's own
    // lock, so the shared lock is enough (the entry stays; only its cookie
    // changes, atomically).
    void follow(int fd)
    {
        auto it = by_fd.find(fd);
        if (it != by_fd.end())
            it->second.cookie = cookie(fd);
    }

    // The tap of `fd` even if bgpd closed `fd` since (but not if the number
    // names another socket now).
    std::map<int, Entry>::iterator find_maybe_closed(int fd)
    {
        auto it = by_fd.find(fd);
        if (it == by_fd.end())
            return it;
        std::uint64_t c = cookie(fd);
        if (c == it->second.cookie || (c == 0 && ::fcntl(fd, F_GETFD) < 0 && errno == EBADF))
            return it;
        return by_fd.end();
    }
};
