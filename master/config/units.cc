#include "master/config/units.h"

#include <limits>

namespace sluice::master::config {

namespace {

// Reads leading decimal digits; returns how many were read, 0 when none or on overflow.
size_t read_digits(std::string_view word, uint64_t& value) {
  value = 0;
  size_t i = 0;
  for (; i < word.size() && word[i] >= '0' && word[i] <= '9'; ++i) {
    uint64_t d = static_cast<uint64_t>(word[i] - '0');
    if (value > (std::numeric_limits<uint64_t>::max() - d) / 10) return 0;
    value = value * 10 + d;
  }
  return i;
}

}  // namespace

parsed<uint64_t> parse_time_ms(std::string_view word) {
  parsed<uint64_t> r;
  uint64_t n = 0;
  size_t digits = read_digits(word, n);
  if (digits == 0) {
    r.error = "'" + std::string(word) +
              "' is not a time (expected a number with an optional "
              "unit: us, ms, s, m, h, d)";
    return r;
  }
  std::string_view unit = word.substr(digits);
  uint64_t mul = 1, div = 1;
  if (unit.empty() || unit == "ms") {
  } else if (unit == "us") {
    div = 1000;
  } else if (unit == "s") {
    mul = 1000;
  } else if (unit == "m") {
    mul = 60'000;
  } else if (unit == "h") {
    mul = 3'600'000;
  } else if (unit == "d") {
    mul = 86'400'000;
  } else {
    r.error = "unknown time unit '" + std::string(unit) + "' in '" + std::string(word) +
              "' (expected us, ms, s, m, h or d)";
    return r;
  }
  constexpr uint64_t max_ms = 2147483647;
  if (n > max_ms * div / mul + 1) {
    r.error = "time '" + std::string(word) + "' is too large (maximum 2147483647 ms, ~24.8 days)";
    return r;
  }
  uint64_t ms = div > 1 ? (n + div - 1) / div : n * mul;
  if (ms > max_ms) {
    r.error = "time '" + std::string(word) + "' is too large (maximum 2147483647 ms, ~24.8 days)";
    return r;
  }
  r.value = ms;
  return r;
}

parsed<uint64_t> parse_size(std::string_view word) {
  parsed<uint64_t> r;
  uint64_t n = 0;
  size_t digits = read_digits(word, n);
  if (digits == 0) {
    r.error = "'" + std::string(word) +
              "' is not a size (expected a number with an optional "
              "unit: k, m, g)";
    return r;
  }
  std::string_view unit = word.substr(digits);
  uint64_t mul = 1;
  if (unit.empty()) {
  } else if (unit == "k" || unit == "K") {
    mul = 1024;
  } else if (unit == "m" || unit == "M") {
    mul = 1024 * 1024;
  } else if (unit == "g" || unit == "G") {
    mul = 1024ull * 1024 * 1024;
  } else {
    r.error = "unknown size unit '" + std::string(unit) + "' in '" + std::string(word) +
              "' (expected k, m or g)";
    return r;
  }
  if (n > std::numeric_limits<uint32_t>::max() / mul) {
    r.error = "size '" + std::string(word) + "' is too large";
    return r;
  }
  r.value = n * mul;
  return r;
}

parsed<int64_t> parse_int(std::string_view word, int64_t min, int64_t max) {
  parsed<int64_t> r;
  bool negative = !word.empty() && word[0] == '-';
  std::string_view digits = negative ? word.substr(1) : word;
  uint64_t n = 0;
  if (digits.empty() || read_digits(digits, n) != digits.size() ||
      n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    r.error = "'" + std::string(word) + "' is not an integer";
    return r;
  }
  int64_t v = negative ? -static_cast<int64_t>(n) : static_cast<int64_t>(n);
  if (v < min || v > max) {
    r.error = "'" + std::string(word) + "' is out of range (" + std::to_string(min) + ".." +
              std::to_string(max) + ")";
    return r;
  }
  r.value = v;
  return r;
}

std::vector<std::string_view> split_list(std::string_view word) {
  std::vector<std::string_view> items;
  for (;;) {
    size_t comma = word.find(',');
    items.push_back(word.substr(0, comma));
    if (comma == std::string_view::npos) return items;
    word.remove_prefix(comma + 1);
  }
}

}  // namespace sluice::master::config
