#include "worker/http/message.h"

#include <algorithm>

namespace sluice::worker::http {
namespace {

constexpr bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

constexpr bool is_scheme_char(char c) {
  return is_alpha(c) || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
}

// Length of "scheme://" at the start of an absolute-form target, 0 when it is not one.
size_t scheme_prefix(std::string_view t) {
  if (t.empty() || !is_alpha(t[0])) return 0;
  size_t i = 1;
  while (i < t.size() && is_scheme_char(t[i])) ++i;
  return t.substr(i, 3) == "://" ? i + 3 : 0;
}

struct target_parts {
  std::string_view path;
  std::string_view query;
  bool has_query = false;
};

target_parts split_target(std::string_view t) {
  target_parts parts;
  size_t start = 0;
  if (t.empty()) return parts;
  if (t[0] != '/') {
    size_t scheme = scheme_prefix(t);
    if (scheme == 0) return parts;  // `*` or authority-form: no path
    start = t.find_first_of("/?", scheme);
    if (start == std::string_view::npos) {
      parts.path = "/";
      return parts;
    }
  }
  size_t q = t.find('?', start);
  if (q == std::string_view::npos) {
    parts.path = t.substr(start);
  } else {
    parts.path = q == start ? std::string_view("/") : t.substr(start, q - start);
    parts.query = t.substr(q + 1);
    parts.has_query = true;
  }
  return parts;
}

void append_version(unsigned minor, std::string& out) {
  out += "HTTP/1.";
  out += std::to_string(minor);
}

void append_fields(const header_list& h, std::string& out) {
  for (const auto& f : h.fields) {
    out += f.name;
    out += ": ";
    out += f.value;
    out += "\r\n";
  }
  out += "\r\n";
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

void ascii_lower(std::string& s) {
  for (char& c : s) c = ascii_lower(c);
}

size_t header_list::find(std::string_view name, size_t from) const {
  for (size_t i = from; i < fields.size(); ++i) {
    if (iequals(fields[i].name, name)) return i;
  }
  return npos;
}

const std::string* header_list::get(std::string_view name) const {
  size_t i = find(name);
  return i == npos ? nullptr : &fields[i].value;
}

size_t header_list::count(std::string_view name) const {
  return static_cast<size_t>(std::count_if(
      fields.begin(), fields.end(), [&](const header_field& f) { return iequals(f.name, name); }));
}

size_t header_list::remove(std::string_view name) {
  size_t kept = 0, removed = 0;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (iequals(fields[i].name, name)) {
      spare_.push_back(std::move(fields[i]));
      ++removed;
    } else {
      if (kept != i) fields[kept] = std::move(fields[i]);
      ++kept;
    }
  }
  fields.resize(kept);
  return removed;
}

header_field& header_list::fresh_field() {
  if (spare_.empty()) return fields.emplace_back();
  fields.push_back(std::move(spare_.back()));
  spare_.pop_back();
  return fields.back();
}

void header_list::add(std::string_view name, std::string_view value) {
  if (fields.size() == fields.capacity()) {
    // Growing the list moves its fields, and `name` or `value` may be views of one of
    // them: copy them first. Rare: a connection's lists keep their capacity.
    std::string n(name), v(value);
    header_field& f = fresh_field();
    f.name.swap(n);
    f.value.swap(v);
    return;
  }
  header_field& f = fresh_field();
  f.name.assign(name);
  f.value.assign(value);
}

void header_list::set(std::string_view name, std::string_view value) {
  size_t first = find(name);
  if (first == npos) {
    add(name, value);
    return;
  }
  // `name` and `value` may point into fields of this list: both are copied into place
  // before any field moves.
  scratch_.assign(value);
  fields[first].name.assign(name);
  for (size_t i = fields.size(); i-- > first + 1;) {
    if (iequals(fields[i].name, fields[first].name)) {
      spare_.push_back(std::move(fields[i]));
      fields.erase(fields.begin() + static_cast<std::ptrdiff_t>(i));
    }
  }
  fields[first].value.swap(scratch_);
}

void header_list::clear() {
  for (auto& f : fields) spare_.push_back(std::move(f));
  fields.clear();
}

void request::reset() {
  method.clear();
  target.clear();
  version_minor = 1;
  headers.clear();
  body = body_kind::none;
  content_length = 0;
  keep_alive = true;
  expect_continue = false;
  upgrade = false;
  close_after = false;
}

void response::reset() {
  status = 0;
  reason.clear();
  version_minor = 1;
  headers.clear();
  body = body_kind::none;
  content_length = 0;
  keep_alive = true;
  close_after = false;
}

std::string_view request::path() const {
  return split_target(target).path;
}

std::string_view request::query() const {
  return split_target(target).query;
}

bool request::has_query() const {
  return split_target(target).has_query;
}

std::string_view request::authority() const {
  std::string_view t = target;
  if (t.empty() || t[0] == '/' || t == "*") return {};
  size_t scheme = scheme_prefix(t);
  if (scheme == 0) return t;
  size_t end = t.find_first_of("/?", scheme);
  return t.substr(scheme, (end == std::string_view::npos ? t.size() : end) - scheme);
}

void serialize(const request& r, std::string& out) {
  out += r.method;
  out += ' ';
  out += r.target;
  out += ' ';
  append_version(r.version_minor, out);
  out += "\r\n";
  append_fields(r.headers, out);
}

void serialize(const response& r, std::string& out) {
  append_version(r.version_minor, out);
  out += ' ';
  // status-line = HTTP-version SP status-code SP [ reason-phrase ]: the second SP stays.
  unsigned s = r.status % 1000;
  out += static_cast<char>('0' + s / 100);
  out += static_cast<char>('0' + s / 10 % 10);
  out += static_cast<char>('0' + s % 10);
  out += ' ';
  out += r.reason;
  out += "\r\n";
  append_fields(r.headers, out);
}

std::string_view reason_phrase(unsigned status) {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 102: return "Processing";
    case 103: return "Early Hints";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 203: return "Non-Authoritative Information";
    case 204: return "No Content";
    case 205: return "Reset Content";
    case 206: return "Partial Content";
    case 300: return "Multiple Choices";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 305: return "Use Proxy";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 407: return "Proxy Authentication Required";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 421: return "Misdirected Request";
    case 422: return "Unprocessable Content";
    case 425: return "Too Early";
    case 426: return "Upgrade Required";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "";
  }
}

}  // namespace sluice::worker::http
