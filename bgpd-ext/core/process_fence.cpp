#include "process_fence.hpp"

#include "frr_ha/fence.h"

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

namespace frr_ha {

namespace {

int sys_pidfd_open(int pid)
{
    return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

std::string errno_text(const char *what)
{
    return std::string(what) + ": " + std::strerror(errno);
}

bool peer_pid(int sock, int *pid, std::string *error)
{
    struct ucred cred {};
    socklen_t len = sizeof(cred);
    if (::getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
        *error = errno_text("SO_PEERCRED");
        return false;
    }
    if (cred.pid <= 0) {
        *error = "the socket's peer has no process in this PID namespace";
        return false;
    }
    *pid = cred.pid;
    return true;
}

}  // namespace

PeerProcess peer_process(int sock, PeerPidfdWay way)
{
    PeerProcess out;
    if (!peer_pid(sock, &out.pid, &out.error))
        return out;
    if (way == PeerPidfdWay::Best) {
        int fd = -1;
        socklen_t len = sizeof(fd);
        if (::getsockopt(sock, SOL_SOCKET, SO_PEERPIDFD, &fd, &len) == 0 && fd >= 0) {
            out.pidfd.reset(fd);
            return out;
        }
        if (errno != ENOPROTOOPT && errno != EINVAL) {
            out.error = errno_text("SO_PEERPIDFD");
            return out;
        }
    }
    // Older kernels: open the pid, then make sure the peer was still there
    // (a peer that died before the open may have left its pid to another
    // process). The HA channel's handshake, which the peer can only finish
    // after this, proves it again.
    UniqueFd fd(sys_pidfd_open(out.pid));
    if (!fd) {
        out.error = errno_text("pidfd_open");
        return out;
    }
    int again = 0;
    std::string why;
    if (!peer_pid(sock, &again, &why) || again != out.pid || process_exited(fd.get())) {
        out.error = "the socket's peer process exited";
        return out;
    }
    out.pidfd = std::move(fd);
    return out;
}

std::string kill_process(int pidfd)
{
    if (::syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0) == 0)
        return {};
    if (errno == ESRCH)
        return "the process is gone already";
    return errno_text("pidfd_send_signal");
}

bool process_exited(int pidfd)
{
    struct pollfd p {};
    p.fd = pidfd;
    p.events = POLLIN;
    return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLIN | POLLHUP)) != 0;
}

bool process_running(int pid, const std::string &comm)
{
    if (pid <= 0)
        return false;
    const std::string dir = "/proc/" + std::to_string(pid);
    std::ifstream stat(dir + "/stat");
    std::string line;
    if (!std::getline(stat, line))
        return false;
    // "PID (COMM) STATE ...": COMM may hold spaces and parentheses.
    const auto close = line.rfind(')');
    if (close == std::string::npos || close + 2 >= line.size())
        return false;
    const char state = line[close + 2];
    if (state == 'Z' || state == 'X' || state == 'x')
        return false;
    if (comm.empty())
        return true;
    std::ifstream name_file(dir + "/comm");
    std::string name;
    std::getline(name_file, name);
    return name == comm;
}

}  // namespace frr_ha

extern "C" {

int frr_ha_peer_pidfd(int sock, int *pid, char *why, size_t why_len)
{
    auto p = frr_ha::peer_process(sock);
    *pid = p.pid;
    if (!p.pidfd) {
        if (why_len)
            std::snprintf(why, why_len, "%s", p.error.c_str());
        return -1;
    }
    return p.pidfd.release();
}

bool frr_ha_pidfd_kill(int pidfd, char *why, size_t why_len)
{
    const auto error = frr_ha::kill_process(pidfd);
    if (!error.empty() && why_len)
        std::snprintf(why, why_len, "%s", error.c_str());
    return error.empty();
}

bool frr_ha_pidfd_exited(int pidfd)
{
    return frr_ha::process_exited(pidfd);
}

bool frr_ha_process_running(int pid, const char *comm)
{
    return frr_ha::process_running(pid, comm ? comm : "");
}

}  // extern "C"
