// A connection's image and progress (connection_image.hpp) on the HA
// channel between hosts. What arrives is checked before the standby keeps
// it: an image it could not rebuild from is refused here, with the field
// that is wrong, not at takeover.
#pragma once

#include "connection_image.hpp"
#include "result.hpp"

namespace frr_ha {

namespace wire {
class TcpImage;
class TcpProgress;
}  // namespace wire

void to_wire(const ConnectionImage &image, wire::TcpImage *out);
void to_wire(const ConnectionProgress &progress, wire::TcpProgress *out);

Result<ConnectionImage> image_from_wire(const wire::TcpImage &in);
Result<ConnectionProgress> progress_from_wire(const wire::TcpProgress &in);

}  // namespace frr_ha
