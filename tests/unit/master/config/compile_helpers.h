#pragma once
// Helpers for compiler tests: compile a text and look for a diagnostic at a line.

#include <gtest/gtest.h>

#include <string>

#include "master/config/compiler.h"

namespace sluice::master::config::testing {

inline compile_result compile(std::string_view text) {
  return compile_text(
      text, "t.cfg", [](const std::string&) -> std::optional<std::string> { return std::nullopt; });
}

inline std::string all_messages(const compile_result& r) {
  std::string s;
  for (const auto& d : r.diag.all()) s += format(d) + "\n";
  return s;
}

// True when a diagnostic of `level` at `line` contains `text`.
inline bool has(const compile_result& r, severity level, uint32_t line, std::string_view text) {
  for (const auto& d : r.diag.all()) {
    if (d.level == level && d.where.line == line && d.message.find(text) != std::string::npos) {
      return true;
    }
  }
  return false;
}

inline bool has_error(const compile_result& r, uint32_t line, std::string_view text) {
  return has(r, severity::error, line, text);
}

inline bool has_warning(const compile_result& r, uint32_t line, std::string_view text) {
  return has(r, severity::warning, line, text);
}

inline size_t count(const compile_result& r, severity level) {
  size_t n = 0;
  for (const auto& d : r.diag.all()) n += d.level == level;
  return n;
}

}  // namespace sluice::master::config::testing
