#pragma once
// The byte classes of HTTP/1.1 heads (RFC 9110 5.6.2, 5.5; RFC 9112 3.2), looked up in one
// table: the parsers test every byte of a head, and a lookup is one load where the
// character ranges and the list of token punctuation were a dozen comparisons.

#include <array>
#include <cstdint>
#include <string_view>

namespace sluice::worker::http::bytes {

enum : uint8_t {
  token = 1,   // tchar: header names, methods, chunk extension names
  value = 2,   // field values and reason phrases: HTAB, SP, VCHAR, obs-text
  target = 4,  // request-target: VCHAR except '#' (a fragment is never sent)
};

inline constexpr std::array<uint8_t, 256> classes = [] {
  std::array<uint8_t, 256> t{};
  for (unsigned c = 0; c < 256; ++c) {
    const bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    const bool punct =
        std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
    uint8_t k = 0;
    if (c != 0 && (alnum || punct)) k |= token;
    // NUL, a lone CR, DEL and the other controls are refused: peers disagree on them.
    if (c == '\t' || (c >= 0x20 && c != 0x7f)) k |= value;
    if (c > 0x20 && c < 0x7f && c != '#') k |= target;
    t[c] = k;
  }
  return t;
}();

constexpr bool is_tchar(unsigned char c) {
  return (classes[c] & token) != 0;
}
constexpr bool is_value_byte(unsigned char c) {
  return (classes[c] & value) != 0;
}

}  // namespace sluice::worker::http::bytes
