#pragma once
// Log-format strings as rules use them (`set-header X %[src]`, `lf-string`, redirect
// targets): literal text, `%[fetch(args),converter...]` samples and the `%ci`-style
// aliases. Compiled once at worker start, rendered per request.

#include <string>
#include <string_view>
#include <vector>

#include "proto/config.pb.h"
#include "worker/route/txn.h"

namespace sluice::worker::route {

class format {
 public:
  format() = default;
  explicit format(std::string_view text);

  void render(const txn& t, std::string& out) const;
  std::string render(const txn& t) const {
    std::string s;
    render(t, s);
    return s;
  }
  bool literal() const {
    return parts_.size() <= 1 && (parts_.empty() || parts_[0].k == kind::text);
  }

 private:
  enum class kind { text, sample, alias };
  enum class conv { lower, upper };
  // The aliases that vary per transaction; %pid and %H are constant and become text.
  enum class alias {
    client_ip,
    client_port,
    frontend_ip,
    frontend_port,
    frontend,
    backend,
    server,
    method,
    uri,
    path,
    query,
    ssl_version,
    ssl_cipher,
    unknown
  };
  struct part {
    kind k = kind::text;
    std::string text;  // kind::text: the literal
    alias a = alias::unknown;
    sluice::config::Sample sample;
    std::vector<conv> convs;
    bool quote = false;  // %{+Q}
  };
  std::vector<part> parts_;
};

// The Sample a fetch expression such as `hdr(host,1)` or `url_param(id)` names, as a
// sample (not an ACL) sees it: header fetches default to the last occurrence. False when
// the fetch is not one the data path knows.
bool parse_sample_expr(std::string_view expr, sluice::config::Sample& out);

}  // namespace sluice::worker::route
