#include "fd_passing.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace frr_ha {

namespace {

constexpr std::size_t kMaxLabel = 4096;

// One data buffer and room for the descriptors: the shape of every message.
struct DescriptorMessage {
    DescriptorMessage(void *data, std::size_t len) : iov{data, len}
    {
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof(control);
    }
    struct iovec iov;
    alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxDescriptors)] = {};
    struct msghdr msg = {};
};

void say(std::string *error, const std::string &why)
{
    if (error)
        *error = why;
}

}  // namespace

bool send_descriptors(int channel, const std::vector<int> &fds, const std::string &label,
                      std::string *error)
{
    if (label.empty() || label.size() > kMaxLabel) {
        say(error, "label must have 1 to 4096 bytes");
        return false;
    }
    if (fds.empty() || fds.size() > kMaxDescriptors) {
        say(error, "1 to 4 descriptors per message");
        return false;
    }
    DescriptorMessage m(const_cast<char *>(label.data()), label.size());
    m.msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&m.msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(cmsg), fds.data(), sizeof(int) * fds.size());

    ssize_t n;
    do {
        n = sendmsg(channel, &m.msg, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n != static_cast<ssize_t>(label.size())) {
        say(error, n < 0 ? std::strerror(errno) : "short send");
        return false;
    }
    return true;
}

namespace {

bool receive(int channel, std::vector<UniqueFd> *fds, std::string *label, std::string *error,
             bool descriptors_required)
{
    char buf[kMaxLabel];
    DescriptorMessage m(buf, sizeof(buf));
    ssize_t n;
    do {
        n = recvmsg(channel, &m.msg, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) {
        say(error, n < 0 ? std::strerror(errno) : "channel closed");
        return false;
    }
    fds->clear();
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m.msg); c; c = CMSG_NXTHDR(&m.msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (std::size_t i = 0; i < count; i++) {
            int fd;
            std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            fds->emplace_back(fd);  // owned now, closed if refused below
        }
    }
    if ((descriptors_required && fds->empty()) || (m.msg.msg_flags & (MSG_CTRUNC | MSG_TRUNC))) {
        fds->clear();
        say(error, (m.msg.msg_flags & MSG_TRUNC) ? "message too long"
                                                  : "no descriptor in the message");
        return false;
    }
    if (label)
        label->assign(buf, static_cast<std::size_t>(n));
    return true;
}

}  // namespace

bool receive_descriptors(int channel, std::vector<UniqueFd> *fds, std::string *label,
                         std::string *error)
{
    return receive(channel, fds, label, error, true);
}

bool receive_message(int channel, std::vector<UniqueFd> *fds, std::string *label,
                     std::string *error)
{
    return receive(channel, fds, label, error, false);
}

bool send_descriptor(int channel, int fd, const std::string &label, std::string *error)
{
    return send_descriptors(channel, {fd}, label, error);
}

int receive_descriptor(int channel, std::string *label, std::string *error)
{
    std::vector<UniqueFd> fds;
    if (!receive_descriptors(channel, &fds, label, error))
        return -1;
    if (fds.size() != 1) {
        say(error, "expected one descriptor");
        return -1;
    }
    return fds.front().release();
}

}  // namespace frr_ha
