// Handing a socket to the partner RP over a unix-socket channel
// (SCM_RIGHTS): both processes then hold the same kernel socket, which lives
// on when either dies.
#pragma once

#include <string>

namespace frr_ha {

// Sends `fd` with a short label (which session it is). Returns false and
// says why in *error on failure.
bool send_descriptor(int channel, int fd, const std::string &label, std::string *error = nullptr);

// Receives a descriptor and its label; -1 (and why) on failure. The caller
// owns the returned descriptor.
int receive_descriptor(int channel, std::string *label, std::string *error = nullptr);

}  // namespace frr_ha
