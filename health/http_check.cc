#include "health/http_check.h"

#include <charconv>

#include "worker/route/regex.h"

namespace sluice::health {

namespace {

namespace pb = sluice::config;

// "200", "200-399", "200,301-302": does `status` match?
bool status_matches(std::string_view pattern, int status) {
  size_t start = 0;
  while (start <= pattern.size()) {
    size_t comma = pattern.find(',', start);
    std::string_view item =
        pattern.substr(start, comma == std::string_view::npos ? pattern.npos : comma - start);
    size_t dash = item.find('-');
    int lo = 0, hi = 0;
    std::from_chars(item.data(), item.data() + (dash == item.npos ? item.size() : dash), lo);
    hi = lo;
    if (dash != item.npos) std::from_chars(item.data() + dash + 1, item.data() + item.size(), hi);
    if (status >= lo && status <= hi) return true;
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return false;
}

check_verdict fail(check_verdict v, std::string reason) {
  v.ok = false;
  v.complete = true;
  v.reason = std::move(reason);
  return v;
}

}  // namespace

std::string build_check_request(const pb::HttpCheck& hc) {
  std::string req = (hc.method().empty() ? "OPTIONS" : hc.method()) + " " +
                    (hc.uri().empty() ? "/" : hc.uri()) + " " +
                    (hc.version().empty() ? "HTTP/1.0" : hc.version()) + "\r\n";
  for (const auto& h : hc.headers()) req += h + "\r\n";
  req += "Connection: close\r\n";
  if (!hc.body().empty()) req += "Content-Length: " + std::to_string(hc.body().size()) + "\r\n";
  req += "\r\n";
  req += hc.body();
  return req;
}

check_verdict judge_check_response(const pb::HttpCheck& hc, std::string_view response,
                                   bool closed) {
  check_verdict v;
  size_t eol = response.find('\n');
  if (eol == std::string_view::npos) {
    if (closed) return fail(v, response.empty() ? "Layer7 no response" : "Layer7 invalid response");
    return v;
  }
  std::string_view line = response.substr(0, eol);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  // "HTTP/1.x NNN reason"
  if (!line.starts_with("HTTP/") || line.size() < 12 || line[8] != ' ') {
    return fail(v, "Layer7 invalid response");
  }
  int status = 0;
  auto [p, ec] = std::from_chars(line.data() + 9, line.data() + 12, status);
  if (ec != std::errc() || p != line.data() + 12 || status < 100 || status > 599) {
    return fail(v, "Layer7 invalid response");
  }
  v.status = status;
  bool negate = hc.expect_negate();
  auto decide = [&](bool matched, const char* what) {
    v.complete = true;
    v.ok = matched != negate;
    if (!v.ok) v.reason = what;
    return v;
  };
  switch (hc.expect()) {
    case pb::HttpCheck::EXPECT_DEFAULT:
      return decide(status >= 200 && status < 400, "Layer7 wrong status");
    case pb::HttpCheck::EXPECT_STATUS:
      return decide(status_matches(hc.expect_pattern(), status), "Layer7 wrong status");
    case pb::HttpCheck::EXPECT_RSTATUS: {
      std::string error;
      auto re = worker::route::regex::compile(hc.expect_pattern(), false, error);
      return decide(re && re->matches(line.substr(9, 3)), "Layer7 wrong status");
    }
    case pb::HttpCheck::EXPECT_STRING:
    case pb::HttpCheck::EXPECT_RSTRING: {
      size_t body_at = response.find("\r\n\r\n");
      size_t skip = 4;
      if (body_at == std::string_view::npos) {
        body_at = response.find("\n\n");
        skip = 2;
      }
      if (body_at == std::string_view::npos) {
        if (closed) return fail(v, "Layer7 invalid response");
        return v;
      }
      std::string_view body = response.substr(body_at + skip);
      bool matched = false;
      if (hc.expect() == pb::HttpCheck::EXPECT_STRING) {
        matched = body.find(hc.expect_pattern()) != std::string_view::npos;
      } else {
        std::string error;
        auto re = worker::route::regex::compile(hc.expect_pattern(), false, error);
        matched = re && re->matches(body);
      }
      // A match can be decided early; a miss only once the whole body is in.
      if (!matched && !closed) return v;
      return decide(matched, "Layer7 wrong content");
    }
    default: return fail(v, "Layer7 unsupported expectation");
  }
}

}  // namespace sluice::health
