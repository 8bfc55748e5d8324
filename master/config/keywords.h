#pragma once
// Keyword tables. Each module declares its keywords in one table with a parser per
// keyword; the parser finds a line's keyword there, checks the section, and calls it.

#include <span>
#include <string_view>

#include "master/config/draft.h"

namespace sluice::master::config {

using keyword_parser = void (*)(const line_context& ctx);

struct keyword {
  std::string_view name;
  unsigned sections;  // in_* bits
  keyword_parser parse;
};

std::span<const keyword> global_keywords();
std::span<const keyword> proxy_keywords();
std::span<const keyword> server_keywords();
std::span<const keyword> rule_keywords();
std::span<const keyword> legacy_keywords();

// HAProxy keywords Sluice knows but does not implement: rejected with
// "'WORD' is not supported by sluice" rather than "unknown keyword".
bool is_unsupported_haproxy_keyword(std::string_view word);

// Shared pieces used by several keyword modules.

// Parses `if|unless COND` starting at words[first]; returns false after reporting an error.
// `response` tells whether the condition runs while processing a response.
bool parse_condition(const line_context& ctx, size_t first, bool response,
                     sluice::config::Condition& out);

// Validates a PCRE2 regex; reports "invalid regex" at the line and returns false.
bool check_regex(const line_context& ctx, const std::string& pattern, bool ignore_case,
                 const char* what);

// Parses one `server`/`default-server` option at words[i]; advances i past its arguments.
// Returns false (after reporting) on an error.
bool parse_server_option(const line_context& ctx, size_t& i, sluice::config::Server& srv,
                         bool is_default);

// Reads an errorfile (a raw HTTP response); a relative path is relative to the current
// directory, as in HAProxy.
bool read_error_file(const line_context& ctx, const std::string& path, std::string& contents);

// One option of a `bind` or `server` line being read: its name, its value, its errors.
class option_cursor {
 public:
  option_cursor(const line_context& ctx, size_t& i, const char* line)
      : ctx(ctx), i(i), line_(line), option_(ctx.words[i]) {}

  const line_context& ctx;
  size_t& i;
  bool ok = true;

  // The option's name (words[i] when the cursor was made).
  const std::string& name() const { return option_; }
  // The option's value (advancing past it), or null after reporting that it is missing:
  // "server option 'inter' expects a time".
  const std::string* value(const char* what) {
    if (i + 1 >= ctx.words.size()) {
      ctx.error(std::string(line_) + " option '" + option_ + "' expects " + what);
      ok = false;
      return nullptr;
    }
    return &ctx.words[++i];
  }
  // Whether the option may read the file it names (not when fuzzing).
  bool may_read_files() {
    if (ctx.st.files_allowed) return true;
    ctx.error("'" + option_ + "': file access is disabled");
    ok = false;
    return false;
  }
  // Reports that the option's value was refused: "bind crt: WHY".
  void fail(const std::string& why) {
    ctx.error(std::string(line_) + " " + option_ + ": " + why);
    ok = false;
  }

 private:
  const char* line_;  // "bind" or "server"
  const std::string& option_;
};

// Marks a rule as needing HTTP mode (checked by the compiler).
void note_http_only(const line_context& ctx);

}  // namespace sluice::master::config

namespace sluice::master::config {

// `log TARGET [len N] [format F] [sample R:N] FACILITY [LEVEL [MINLEVEL]]` from words[1].
bool parse_log_target(const line_context& ctx, sluice::config::LogTarget& out);

}  // namespace sluice::master::config
