#pragma once
// HAProxy's number formats: times with a unit suffix (us, ms, s, m, h, d; milliseconds
// when none), sizes with k/m/g (powers of 1024), and plain bounded integers. Each parser
// returns the value or a message that says what is wrong with the word. Also the split
// of a comma-separated word (`bind :80,:81`, `alpn h2,http/1.1`).

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace sluice::master::config {

template <typename T>
struct parsed {
  T value{};
  std::string error;  // empty on success
  explicit operator bool() const { return error.empty(); }
};

// Milliseconds. Microseconds round up to the next millisecond, as HAProxy does. The
// maximum is HAProxy's: 2147483647 ms (~24.8 days).
parsed<uint64_t> parse_time_ms(std::string_view word);

// Bytes.
parsed<uint64_t> parse_size(std::string_view word);

parsed<int64_t> parse_int(std::string_view word, int64_t min, int64_t max);

// The items of a comma-separated word, empty ones included ("a,,b" gives a, "", b).
std::vector<std::string_view> split_list(std::string_view word);

}  // namespace sluice::master::config
