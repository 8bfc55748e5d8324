#pragma once
// A compiled PCRE2 regex (JIT when the platform has it), as used by ACL `-m reg`,
// replace-* actions and the legacy req*/rsp* line rewrites.
//
// PCRE2 rather than RE2: HAProxy's regexes are PCRE (back-references in replacements,
// lookarounds in real-world configs), so a user's patterns keep their meaning.

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::worker::route {

class regex {
 public:
  // Compiles `pattern`; on failure returns nullopt and sets `error` to PCRE2's message and
  // the offset it points at ("missing closing parenthesis at offset 4").
  static std::optional<regex> compile(std::string_view pattern, bool ignore_case,
                                      std::string& error);

  regex(regex&&) noexcept;
  regex& operator=(regex&&) noexcept;
  ~regex();

  bool matches(std::string_view subject) const;

  // Matches `subject`; when it matches, appends to `out` the expansion of `replacement`
  // in which `\N` (N = 0..99) stands for capture group N, and returns true. The text
  // outside the match is not copied: as in HAProxy, a match replaces the whole subject.
  bool replace(std::string_view subject, std::string_view replacement, std::string& out) const;

  unsigned capture_count() const;
  const std::string& pattern() const;

 private:
  struct impl;
  explicit regex(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace sluice::worker::route
