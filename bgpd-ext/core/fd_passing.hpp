// Handing sockets to the partner RP over a unix socket (SCM_RIGHTS): both
// processes then hold the same kernel socket, which lives on when either
// dies. A message carries a short label (which session it is) and up to
// kMaxDescriptors descriptors.
#pragma once

#include <string>
#include <vector>

#include "unique_fd.hpp"

namespace frr_ha {

constexpr std::size_t kMaxDescriptors = 4;

// Sends `fds` with `label` (1..4096 bytes). Returns false and says why in
// *error on failure.
bool send_descriptors(int channel, const std::vector<int> &fds, const std::string &label,
                      std::string *error = nullptr);
// Receives one message: its label and descriptors (owned by the caller).
// False (and why) on failure, a closed channel, or a message without them.
bool receive_descriptors(int channel, std::vector<UniqueFd> *fds, std::string *label,
                         std::string *error = nullptr);
// The same, where a message may also come without descriptors.
bool receive_message(int channel, std::vector<UniqueFd> *fds, std::string *label,
                     std::string *error = nullptr);

// One descriptor: the shapes above with a single one.
bool send_descriptor(int channel, int fd, const std::string &label, std::string *error = nullptr);
int receive_descriptor(int channel, std::string *label, std::string *error = nullptr);

}  // namespace frr_ha
