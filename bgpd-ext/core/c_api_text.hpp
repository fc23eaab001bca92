// Text across the C boundary: into the glue's fixed-size buffers, and a
// Status said there (shared by the files of the extern "C" face).
#pragma once

#include "result.hpp"

#include <cstddef>
#include <cstdio>
#include <string>

namespace frr_ha {

// Into a fixed-size C buffer, cut if need be, always terminated.
inline void copy_text(char *dst, std::size_t len, const std::string &src)
{
    if (!dst || len == 0)
        return;
    std::snprintf(dst, len, "%s", src.c_str());
}

// Whether it was done; if not, why goes into the caller's buffer.
inline bool said(const Status &done, char *why, std::size_t why_len)
{
    if (!done)
        copy_text(why, why_len, done.why());
    return static_cast<bool>(done);
}

}  // namespace frr_ha
