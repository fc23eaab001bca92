// The process at the other end of a unix socket, as a pidfd, and SIGKILL
// through it. A pidfd names one process for its whole life: once that
// process is gone, signalling through it fails with ESRCH even if the
// kernel has given its pid to another process.
#pragma once

#include "unique_fd.hpp"

#include <string>

namespace frr_ha {

struct PeerProcess {
    UniqueFd pidfd;
    int pid = 0;
    std::string error;  // when !pidfd
};

// How to get the pidfd: SO_PEERPIDFD (Linux 6.5) names the peer's process
// itself; the fallback opens SO_PEERCRED's pid, which is the peer's as long
// as the peer still holds the socket (checked after the open).
enum class PeerPidfdWay { Best, PeerCredOnly };

PeerProcess peer_process(int sock, PeerPidfdWay way = PeerPidfdWay::Best);
// "" when the signal was sent, else why not.
std::string kill_process(int pidfd);
bool process_exited(int pidfd);
// Whether `pid` is a running (not exited, not a zombie) process named
// `comm` (/proc/PID/comm; "" for any name). A pid reused by a process of
// another name is not it.
bool process_running(int pid, const std::string &comm);

}  // namespace frr_ha
