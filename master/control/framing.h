#pragma once
// Control-socket framing shared by the master and sluicectl: a 4-byte big-endian length,
// then that many bytes of a protobuf message. Frames over max_frame are refused.

#include <cstddef>
#include <cstdint>
#include <string>

namespace sluice::master::control {

inline constexpr uint32_t max_frame = 1u << 20;

inline void put_length(uint32_t n, unsigned char out[4]) {
  out[0] = static_cast<unsigned char>(n >> 24);
  out[1] = static_cast<unsigned char>(n >> 16);
  out[2] = static_cast<unsigned char>(n >> 8);
  out[3] = static_cast<unsigned char>(n);
}

inline uint32_t get_length(const unsigned char in[4]) {
  return (uint32_t{in[0]} << 24) | (uint32_t{in[1]} << 16) | (uint32_t{in[2]} << 8) | in[3];
}

// Blocking helpers for a connected stream socket (sluicectl). False on error or EOF.
bool write_frame(int fd, const std::string& payload);
bool read_frame(int fd, std::string& payload);

}  // namespace sluice::master::control
