#include "master/control/framing.h"

#include <unistd.h>

#include <cerrno>

namespace sluice::master::control {

namespace {

bool write_all(int fd, const void* data, size_t n) {
  auto* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

bool read_all(int fd, void* data, size_t n) {
  auto* p = static_cast<char*>(data);
  while (n > 0) {
    ssize_t r = ::read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

}  // namespace

bool write_frame(int fd, const std::string& payload) {
  if (payload.size() > max_frame) return false;
  unsigned char len[4];
  put_length(static_cast<uint32_t>(payload.size()), len);
  return write_all(fd, len, 4) && write_all(fd, payload.data(), payload.size());
}

bool read_frame(int fd, std::string& payload) {
  unsigned char len[4];
  if (!read_all(fd, len, 4)) return false;
  uint32_t n = get_length(len);
  if (n > max_frame) return false;
  payload.resize(n);
  return read_all(fd, payload.data(), n);
}

}  // namespace sluice::master::control
