#include "fd_passing.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace frr_ha {

namespace {

constexpr std::size_t kMaxLabel = 256;

// One data buffer and room for one descriptor: the shape of both messages.
struct DescriptorMessage {
    DescriptorMessage(void *data, std::size_t len) : iov{data, len}
    {
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof(control);
    }
    struct iovec iov;
    alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    struct msghdr msg = {};
};

}  // namespace

bool send_descriptor(int channel, int fd, const std::string &label, std::string *error)
{
    if (label.empty() || label.size() > kMaxLabel) {
        if (error)
            *error = "label must have 1 to 256 bytes";
        return false;
    }
    DescriptorMessage m(const_cast<char *>(label.data()), label.size());
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&m.msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
    ssize_t n;
    do {
        n = sendmsg(channel, &m.msg, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n != static_cast<ssize_t>(label.size())) {
        if (error)
            *error = n < 0 ? std::strerror(errno) : "short send";
        return false;
    }
    return true;
}

int receive_descriptor(int channel, std::string *label, std::string *error)
{
    char buf[kMaxLabel];
    DescriptorMessage m(buf, sizeof(buf));
    ssize_t n;
    do {
        n = recvmsg(channel, &m.msg, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) {
        if (error)
            *error = n < 0 ? std::strerror(errno) : "channel closed";
        return -1;
    }
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&m.msg);
    if (!cmsg || cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS ||
        (m.msg.msg_flags & MSG_CTRUNC)) {
        if (error)
            *error = "no descriptor in the message";
        return -1;
    }
    int fd;
    std::memcpy(&fd, CMSG_DATA(cmsg), sizeof(int));
    if (label)
        label->assign(buf, static_cast<std::size_t>(n));
    return fd;
}

}  // namespace frr_ha
