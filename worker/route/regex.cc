#include "worker/route/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

namespace sluice::worker::route {

struct regex::impl {
  std::string pattern;
  pcre2_code* code = nullptr;
  // One match-data block per regex: a worker is single-threaded, so reusing it avoids an
  // allocation per match on the data path.
  pcre2_match_data* match = nullptr;
  bool jit = false;

  ~impl() {
    if (match != nullptr) pcre2_match_data_free(match);
    if (code != nullptr) pcre2_code_free(code);
  }

  int run(std::string_view subject) const {
    auto* s = reinterpret_cast<PCRE2_SPTR>(subject.data());
    if (jit) return pcre2_jit_match(code, s, subject.size(), 0, 0, match, nullptr);
    return pcre2_match(code, s, subject.size(), 0, 0, match, nullptr);
  }
};

regex::regex(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
regex::regex(regex&&) noexcept = default;
regex& regex::operator=(regex&&) noexcept = default;
regex::~regex() = default;

std::optional<regex> regex::compile(std::string_view pattern, bool ignore_case,
                                    std::string& error) {
  int code = 0;
  PCRE2_SIZE offset = 0;
  uint32_t options = ignore_case ? PCRE2_CASELESS : 0;
  pcre2_code* compiled = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                       options, &code, &offset, nullptr);
  if (compiled == nullptr) {
    PCRE2_UCHAR buf[256];
    pcre2_get_error_message(code, buf, sizeof buf);
    error = reinterpret_cast<const char*>(buf);
    error += " at offset " + std::to_string(offset);
    return std::nullopt;
  }
  auto p = std::make_unique<impl>();
  p->pattern.assign(pattern);
  p->code = compiled;
  p->jit = pcre2_jit_compile(compiled, PCRE2_JIT_COMPLETE) == 0;
  p->match = pcre2_match_data_create_from_pattern(compiled, nullptr);
  return regex(std::move(p));
}

bool regex::matches(std::string_view subject) const {
  return impl_->run(subject) >= 0;
}

unsigned regex::capture_count() const {
  uint32_t n = 0;
  pcre2_pattern_info(impl_->code, PCRE2_INFO_CAPTURECOUNT, &n);
  return n;
}

const std::string& regex::pattern() const {
  return impl_->pattern;
}

bool regex::replace(std::string_view subject, std::string_view replacement,
                    std::string& out) const {
  int rc = impl_->run(subject);
  if (rc < 0) return false;
  const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(impl_->match);
  auto groups = static_cast<size_t>(rc);  // groups set by this match, including group 0
  for (size_t i = 0; i < replacement.size(); ++i) {
    char c = replacement[i];
    if (c != '\\' || i + 1 == replacement.size() || replacement[i + 1] < '0' ||
        replacement[i + 1] > '9') {
      out.push_back(c);
      continue;
    }
    size_t n = static_cast<size_t>(replacement[++i] - '0');
    if (i + 1 < replacement.size() && replacement[i + 1] >= '0' && replacement[i + 1] <= '9') {
      n = n * 10 + static_cast<size_t>(replacement[++i] - '0');
    }
    // A group that did not take part in the match expands to nothing, as in HAProxy.
    if (n < groups && ov[2 * n] != PCRE2_UNSET) {
      out.append(subject.substr(ov[2 * n], ov[2 * n + 1] - ov[2 * n]));
    }
  }
  return true;
}

}  // namespace sluice::worker::route
