// Every byte of the head is checked as it arrives, so garbage is refused before the head
// is complete, and nothing is filled until it may be: bytes without an empty line yet are
// scanned without filling the message (to refuse them early or ask for more); once the
// end can be there, one scan validates the head and fills the message, after which the
// framing fields (Content-Length, Transfer-Encoding, Host) are checked as a whole. See
// docs/http.md for the rules and where they differ from HAProxy.
#include "worker/http/parser.h"

#include <algorithm>
#include <limits>
#include <string>

#include "worker/http/bytes.h"

namespace sluice::worker::http {
namespace {

constexpr bool is_digit(unsigned char c) {
  return c >= '0' && c <= '9';
}

using bytes::is_tchar;

constexpr bool is_ows(char c) {
  return c == ' ' || c == '\t';
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

// Calls f(element) for every element of the comma-separated lists in all fields named
// `name`, trimmed of OWS, empty ones included; stops early when f returns false.
template <class F>
bool for_each_element(const header_list& h, std::string_view name, F&& f) {
  for (const auto& field : h.fields) {
    if (!iequals(field.name, name)) continue;
    std::string_view rest = field.value;
    while (true) {
      size_t comma = rest.find(',');
      if (!f(trim_ows(rest.substr(0, comma)))) return false;
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return true;
}

bool has_token(const header_list& h, std::string_view name, std::string_view token) {
  bool found = false;
  for_each_element(h, name, [&](std::string_view e) {
    found = iequals(e, token);
    return !found;
  });
  return found;
}

enum class step { ok, more, bad };

// Scans a head over data[0, max_head). Running out of bytes is "more" unless the data
// already goes past max_head, in which case the head can never fit.
class head_scanner {
 public:
  head_scanner(std::string_view data, const limits& lim)
      : in_(data.substr(0, std::min(data.size(), lim.max_head))),
        truncated_(data.size() > lim.max_head),
        // Like HAProxy's tune.http.maxhdr, one slot goes to the end of the head.
        max_fields_(lim.max_headers > 0 ? lim.max_headers - 1 : 0) {}

  size_t pos() const { return pos_; }
  unsigned status() const { return status_; }
  const char* why() const { return why_; }

  // Whether the input holds an empty line that follows another line, which a complete
  // head ends with. A memchr per line: the usual head arrives whole and is then scanned
  // once, straight into the message; without one it cannot be complete, and a scan that
  // fills nothing says what is missing or wrong.
  bool may_be_complete() const {
    for (size_t i = in_.find('\n'); i != std::string_view::npos; i = in_.find('\n', i)) {
      ++i;
      if (i < in_.size() && in_[i] == '\n') return true;
      if (i + 1 < in_.size() && in_[i] == '\r' && in_[i + 1] == '\n') return true;
    }
    return false;
  }

  step bad(const char* why, unsigned status = 400) {
    why_ = why;
    status_ = status;
    return step::bad;
  }

  step skip_empty_lines() {
    while (pos_ < in_.size() && (in_[pos_] == '\r' || in_[pos_] == '\n')) {
      if (step s = line_end("bad line end"); s != step::ok) return s;
    }
    return step::ok;
  }

  // method SP request-target SP HTTP-version line-end
  step request_line(std::string_view& method, std::string_view& target, unsigned& major,
                    unsigned& minor) {
    if (step s = token_until(' ', "bad method", method); s != step::ok) return s;
    size_t start = pos_;
    span_of(bytes::target);
    if (pos_ == in_.size()) return more();
    if (in_[pos_] != ' ' || pos_ == start) return bad("bad request target");
    target = in_.substr(start, pos_ - start);
    ++pos_;
    if (step s = version(major, minor); s != step::ok) return s;
    return line_end("bad version");
  }

  // HTTP-version SP 3DIGIT [SP reason-phrase] line-end; the SP before an empty reason may
  // be missing, as HAProxy accepts.
  step status_line(unsigned& major, unsigned& minor, unsigned& status, std::string_view& reason) {
    if (step s = version(major, minor); s != step::ok) return s;
    if (step s = expect(' ', "bad status line"); s != step::ok) return s;
    status = 0;
    for (int i = 0; i < 3; ++i) {
      if (pos_ == in_.size()) return more();
      unsigned char c = in_[pos_];
      if (!is_digit(c)) return bad("bad status code");
      status = status * 10 + (c - '0');
      ++pos_;
    }
    if (pos_ == in_.size()) return more();
    if (in_[pos_] == ' ') {
      ++pos_;
      size_t start = pos_;
      span_of(bytes::value);
      if (pos_ == in_.size()) return more();
      if (in_[pos_] != '\r' && in_[pos_] != '\n') return bad("bad reason phrase");
      reason = in_.substr(start, pos_ - start);
    } else {
      reason = {};
    }
    return line_end("bad status line");
  }

  // Header fields up to and including the empty line. With `out`, fields are appended.
  step fields(header_list* out) {
    size_t count = 0;
    while (true) {
      if (pos_ == in_.size()) return more();
      char c = in_[pos_];
      if (c == '\r' || c == '\n') return line_end("bad line end");
      std::string_view value;
      if (is_ows(c)) {
        // obs-fold: the line continues the previous field's value.
        if (count == 0) return bad("obs-fold before any field");
        if (step s = field_value(value); s != step::ok) return s;
        if (out != nullptr) {
          std::string_view piece = trim_ows(value);
          std::string& joined = out->fields.back().value;
          if (!piece.empty() && !joined.empty()) joined += ' ';
          joined.append(piece);
        }
        continue;
      }
      std::string_view name;
      if (step s = token_until(':', "bad header name", name); s != step::ok) return s;
      if (++count > max_fields_) return bad("too many header fields");
      if (step s = field_value(value); s != step::ok) return s;
      if (out != nullptr) out->add(name, trim_ows(value));
    }
  }

 private:
  step more() { return truncated_ ? bad("head too large") : step::more; }

  // Moves past the bytes of a class, up to the first other byte or the end of the input.
  void span_of(uint8_t byte_class) {
    while (pos_ < in_.size() &&
           (bytes::classes[static_cast<unsigned char>(in_[pos_])] & byte_class) != 0) {
      ++pos_;
    }
  }

  step expect(char want, const char* why) {
    if (pos_ == in_.size()) return more();
    if (in_[pos_] != want) return bad(why);
    ++pos_;
    return step::ok;
  }

  // A line ends with CRLF or, as HAProxy accepts, a bare LF.
  step line_end(const char* why) {
    if (pos_ == in_.size()) return more();
    if (in_[pos_] == '\n') {
      ++pos_;
      return step::ok;
    }
    if (in_[pos_] != '\r') return bad(why);
    if (pos_ + 1 == in_.size()) return more();
    if (in_[pos_ + 1] != '\n') return bad(why);
    pos_ += 2;
    return step::ok;
  }

  // 1*tchar followed by `stop`, which is consumed.
  step token_until(char stop, const char* why, std::string_view& token) {
    size_t start = pos_;
    span_of(bytes::token);  // `stop` is never a tchar
    if (pos_ == in_.size()) return more();
    if (in_[pos_] != stop || pos_ == start) return bad(why);
    token = in_.substr(start, pos_ - start);
    ++pos_;
    return step::ok;
  }

  // "HTTP/" DIGIT "." DIGIT; which versions are served is the caller's business.
  step version(unsigned& major, unsigned& minor) {
    for (char c : std::string_view("HTTP/")) {
      if (step s = expect(c, "bad version"); s != step::ok) return s;
    }
    if (step s = digit(major); s != step::ok) return s;
    if (step s = expect('.', "bad version"); s != step::ok) return s;
    return digit(minor);
  }

  step digit(unsigned& d) {
    if (pos_ == in_.size()) return more();
    if (!is_digit(in_[pos_])) return bad("bad version");
    d = static_cast<unsigned>(in_[pos_++] - '0');
    return step::ok;
  }

  step field_value(std::string_view& value) {
    size_t start = pos_;
    span_of(bytes::value);  // CR and LF are not value bytes
    if (pos_ == in_.size()) return more();
    if (in_[pos_] != '\r' && in_[pos_] != '\n') return bad("bad header value");
    value = in_.substr(start, pos_ - start);
    return line_end("bad line end");
  }

  std::string_view in_;
  bool truncated_;
  size_t max_fields_;
  size_t pos_ = 0;
  unsigned status_ = 400;
  const char* why_ = "";
};

parse_result incomplete() {
  return parse_result{};
}

parse_result failure(unsigned status, const char* why) {
  parse_result r;
  r.status = parse_status::error;
  r.http_status = status;
  r.why = why;
  return r;
}

parse_result from_scan(step s, const head_scanner& sc) {
  if (s == step::more) return incomplete();
  return failure(sc.status(), sc.why());
}

// What the framing fields say, checked over all their occurrences.
struct framing {
  bool has_length = false;
  uint64_t length = 0;
  bool chunked = false;  // Transfer-Encoding present and valid
  unsigned status = 0;   // non-zero: refused
  const char* why = "";
};

// Content-Length: every element of every field is 1*DIGIT below 2^63, all equal.
bool read_content_length(const header_list& h, framing& f) {
  constexpr uint64_t max = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  bool ok = for_each_element(h, "Content-Length", [&](std::string_view e) {
    if (e.empty()) return false;
    uint64_t v = 0;
    for (char c : e) {
      if (!is_digit(c)) return false;
      unsigned d = static_cast<unsigned>(c - '0');
      if (v > (max - d) / 10) return false;
      v = v * 10 + d;
    }
    if (f.has_length && v != f.length) return false;
    f.has_length = true;
    f.length = v;
    return true;
  });
  if (!ok) {
    f.status = 400;
    f.why = "bad content-length";
  }
  return ok;
}

// Transfer-Encoding: `chunked` exactly once and last. Other codings before it are refused
// with 422, as HAProxy does; empty list elements are ignored (RFC 9110 5.6.1).
bool read_transfer_encoding(const header_list& h, framing& f) {
  if (h.find("Transfer-Encoding") == header_list::npos) return true;
  bool chunked = false;
  bool others = false;
  bool ok = for_each_element(h, "Transfer-Encoding", [&](std::string_view e) {
    if (e.empty()) return true;
    if (!std::all_of(e.begin(), e.end(), [](char c) { return is_tchar(c); })) return false;
    if (chunked) return false;  // anything after chunked, chunked included
    if (iequals(e, "chunked")) {
      chunked = true;
    } else {
      others = true;
    }
    return true;
  });
  if (!ok || !chunked) {
    f.status = 400;
    f.why = "bad transfer-encoding";
    return false;
  }
  if (others) {
    f.status = 422;
    f.why = "unsupported transfer coding";
    return false;
  }
  f.chunked = true;
  return true;
}

// Validates the framing fields and rewrites them: with Transfer-Encoding the
// Content-Length fields go; duplicate or padded Content-Length collapse to one field.
framing apply_framing(header_list& h, unsigned version_minor, bool& close_after) {
  framing f;
  if (!read_content_length(h, f) || !read_transfer_encoding(h, f)) return f;
  if (f.chunked) {
    // A length next to chunked is a smuggling attempt or a broken peer; in HTTP/1.0 the
    // framing is suspect either way (RFC 9112 6.1). The connection cannot be trusted after.
    if (f.has_length) h.remove("Content-Length");
    if (f.has_length || version_minor == 0) close_after = true;
    f.has_length = false;
  } else if (f.has_length) {
    std::string canonical = std::to_string(f.length);
    size_t first = h.find("Content-Length");
    if (h.count("Content-Length") > 1 || h.fields[first].value != canonical) {
      std::string name = h.fields[first].name;
      h.set(name, canonical);
    }
  }
  return f;
}

bool keep_alive(const header_list& h, unsigned version_minor) {
  if (has_token(h, "Connection", "close")) return false;
  return version_minor >= 1 || has_token(h, "Connection", "keep-alive");
}

std::string_view without_default_port(std::string_view host, std::string_view scheme) {
  auto strip = [&](std::string_view port) {
    if (host.size() > port.size() && host.substr(host.size() - port.size()) == port) {
      host.remove_suffix(port.size());
    }
  };
  if (iequals(scheme, "http")) strip(":80");
  if (iequals(scheme, "https")) strip(":443");
  return host;
}

// Host: at most one; an absolute-form target's authority must name the same host. Returns
// why the request is refused, nullptr when it is not.
const char* check_host(const request& r) {
  if (r.headers.count("Host") > 1) return "more than one Host";
  std::string_view target = r.target;
  if (target.empty() || target[0] == '/' || target.find("://") == std::string_view::npos) {
    return nullptr;
  }
  std::string_view authority = r.authority();
  if (authority.find('@') != std::string_view::npos) return "userinfo in target";
  const std::string* host = r.headers.get("Host");
  if (host == nullptr) return nullptr;
  std::string_view scheme = target.substr(0, target.find(':'));
  if (!iequals(without_default_port(authority, scheme), without_default_port(*host, scheme))) {
    return "target authority differs from Host";
  }
  return nullptr;
}

step scan_request(head_scanner& sc, request* out) {
  if (step s = sc.skip_empty_lines(); s != step::ok) return s;
  std::string_view method, target;
  unsigned major = 0, minor = 0;
  if (step s = sc.request_line(method, target, major, minor); s != step::ok) return s;
  if (major != 1 || minor > 1) return sc.bad("unsupported version", 505);
  if (out != nullptr) {
    out->method.assign(method);
    out->target.assign(target);
    out->version_minor = minor;
  }
  return sc.fields(out != nullptr ? &out->headers : nullptr);
}

step scan_response(head_scanner& sc, response* out) {
  if (step s = sc.skip_empty_lines(); s != step::ok) return s;
  unsigned major = 0, minor = 0, status = 0;
  std::string_view reason;
  if (step s = sc.status_line(major, minor, status, reason); s != step::ok) return s;
  if (major != 1 || minor > 1) return sc.bad("unsupported version");
  if (status < 100 || status > 599) return sc.bad("bad status code");
  if (out != nullptr) {
    out->status = status;
    out->reason.assign(reason);
    out->version_minor = minor;
  }
  return sc.fields(out != nullptr ? &out->headers : nullptr);
}

// Scans the head at the start of `sc`'s data with `scan`, filling `out` only once the
// head may be complete (see the top of this file). `sc` ends where the scan stopped.
template <class Message>
step scan_head(head_scanner& sc, step (*scan)(head_scanner&, Message*), Message& out) {
  if (!sc.may_be_complete()) {
    head_scanner probe = sc;
    if (step s = scan(probe, nullptr); s != step::ok) {
      sc = probe;
      return s;
    }
  }
  out.reset();
  return scan(sc, &out);
}

}  // namespace

parse_result parse_request(std::string_view data, const limits& lim, request& out) {
  head_scanner sc(data, lim);
  if (step s = scan_head(sc, scan_request, out); s != step::ok) return from_scan(s, sc);

  if (const char* why = check_host(out)) return failure(400, why);
  framing f = apply_framing(out.headers, out.version_minor, out.close_after);
  if (f.status != 0) return failure(f.status, f.why);
  if (f.chunked) {
    out.body = body_kind::chunked;
  } else if (f.has_length && f.length > 0) {
    out.body = body_kind::length;
    out.content_length = f.length;
  }
  out.keep_alive = keep_alive(out.headers, out.version_minor);
  out.upgrade = has_token(out.headers, "Connection", "upgrade") &&
                out.headers.find("Upgrade") != header_list::npos;
  const std::string* expect = out.headers.get("Expect");
  out.expect_continue =
      out.version_minor == 1 && expect != nullptr && iequals(*expect, "100-continue");

  parse_result r;
  r.status = parse_status::complete;
  r.consumed = sc.pos();
  return r;
}

parse_result parse_response(std::string_view data, const limits& lim, const request_context& req,
                            response& out) {
  head_scanner sc(data, lim);
  if (step s = scan_head(sc, scan_response, out); s != step::ok) {
    // Whatever an upstream gets wrong, the downstream sees a 502.
    parse_result r = from_scan(s, sc);
    if (r.status == parse_status::error) r.http_status = 502;
    return r;
  }

  framing f = apply_framing(out.headers, out.version_minor, out.close_after);
  if (f.status != 0) return failure(502, f.why);
  unsigned s = out.status;
  bool no_body = req.head || s < 200 || s == 204 || s == 304 || (req.connect && s / 100 == 2);
  if (no_body) {
    out.body = body_kind::none;
  } else if (f.chunked) {
    out.body = body_kind::chunked;
  } else if (f.has_length) {
    out.body = f.length > 0 ? body_kind::length : body_kind::none;
    out.content_length = f.length;
  } else {
    out.body = body_kind::until_close;
  }
  out.keep_alive = out.body != body_kind::until_close && keep_alive(out.headers, out.version_minor);

  parse_result r;
  r.status = parse_status::complete;
  r.consumed = sc.pos();
  return r;
}

}  // namespace sluice::worker::http
