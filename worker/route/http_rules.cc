#include "worker/route/http_rules.h"

namespace sluice::worker::route {

namespace pb = sluice::config;

namespace {

// A request-target cut into what rules rewrite separately: `scheme://authority` (absolute
// form only), the path, and the query with its '?'.
struct target_parts {
  std::string_view origin, path, query;
};

target_parts split_target(std::string_view t) {
  target_parts p;
  size_t start = 0;
  size_t scheme = t.find("://");
  if (!t.empty() && t[0] != '/' && scheme != std::string_view::npos) {
    start = t.find('/', scheme + 3);
    if (start == std::string_view::npos) start = t.find('?', scheme + 3);
    if (start == std::string_view::npos) start = t.size();
  }
  p.origin = t.substr(0, start);
  size_t q = t.find('?', start);
  p.path = t.substr(start, q == std::string_view::npos ? std::string_view::npos : q - start);
  if (q != std::string_view::npos) p.query = t.substr(q);
  return p;
}

// Rebuilds `target` from parts that may point into it, through a buffer kept between
// calls so a rewrite allocates nothing once both have grown.
void join_into(const target_parts& p, std::string& target) {
  thread_local std::string joined;
  joined.clear();
  joined.append(p.origin).append(p.path).append(p.query);
  target.swap(joined);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// "Name: value" back into a field; false when the line has no colon or no name.
bool split_field(std::string_view line, http::header_field& f) {
  size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  f.name = std::string(trim(line.substr(0, colon)));
  f.value = std::string(trim(line.substr(colon + 1)));
  return !f.name.empty();
}

// The raw lines legacy rules see, written into a buffer kept between calls.
void start_line(const http::request& r, std::string& out) {
  out.assign(r.method).append(" ").append(r.target);
  out.append(r.version_minor == 0 ? " HTTP/1.0" : " HTTP/1.1");
}

void start_line(const http::response& r, std::string& out) {
  out.assign(r.version_minor == 0 ? "HTTP/1.0 " : "HTTP/1.1 ").append(std::to_string(r.status));
  if (!r.reason.empty()) out.append(" ").append(r.reason);
}

void field_line(const http::header_field& f, std::string& out) {
  out.assign(f.name).append(": ").append(f.value);
}

// A rewritten start line is taken apart again; a line that no longer parses is left as
// it was (HAProxy 2.0 would have sent it and let the server refuse it).
void set_start_line(http::request& r, std::string_view line) {
  size_t a = line.find(' ');
  size_t b = line.rfind(' ');
  if (a == std::string_view::npos || a == b) return;
  std::string_view ver = line.substr(b + 1);
  if (ver != "HTTP/1.0" && ver != "HTTP/1.1") return;
  r.method = std::string(line.substr(0, a));
  r.target = std::string(trim(line.substr(a + 1, b - a - 1)));
  r.version_minor = ver.back() == '0' ? 0 : 1;
}

void set_start_line(http::response& r, std::string_view line) {
  if (line.size() < 12 || !line.starts_with("HTTP/1.")) return;
  unsigned st = 0;
  for (size_t i = 9; i < 12; ++i) {
    if (line[i] < '0' || line[i] > '9') return;
    st = st * 10 + static_cast<unsigned>(line[i] - '0');
  }
  r.status = st;
  r.reason = line.size() > 13 ? std::string(line.substr(13)) : std::string();
}

constexpr bool is_response(const http::request*) {
  return false;
}
constexpr bool is_response(const http::response*) {
  return true;
}

}  // namespace

std::string replace_each_value(const regex& re, std::string_view value, std::string_view with) {
  std::string out;
  size_t pos = 0;
  while (pos <= value.size()) {
    size_t comma = value.find(',', pos);
    size_t end = comma == std::string_view::npos ? value.size() : comma;
    std::string_view elem = value.substr(pos, end - pos);
    // Keep the spaces around each element where they were.
    size_t lead = 0;
    while (lead < elem.size() && (elem[lead] == ' ' || elem[lead] == '\t')) ++lead;
    size_t trail = elem.size();
    while (trail > lead && (elem[trail - 1] == ' ' || elem[trail - 1] == '\t')) --trail;
    out.append(elem.substr(0, lead));
    std::string_view core = elem.substr(lead, trail - lead);
    std::string replaced;
    if (re.replace(core, with, replaced)) {
      out += replaced;
    } else {
      out.append(core);
    }
    out.append(elem.substr(trail));
    if (comma == std::string_view::npos) break;
    out += ',';
    pos = comma + 1;
  }
  return out;
}

void build_redirect(const pb::Redirect& rd, const http::request& req, const txn& t,
                    const format& target, reply& out) {
  out.status = rd.code() != 0 ? rd.code() : 302;
  std::string loc = target.render(t);
  target_parts parts = split_target(req.target);
  std::string_view query = rd.drop_query() ? std::string_view() : parts.query;
  std::string path(parts.path.empty() ? std::string_view("/") : parts.path);
  if (rd.append_slash() && !path.ends_with('/')) path += '/';
  switch (rd.kind()) {
    case pb::Redirect::KIND_LOCATION: break;
    case pb::Redirect::KIND_PREFIX:
      // A prefix of "/" means "same path": the prefix is not doubled.
      if (loc == "/") loc.clear();
      loc += path;
      loc += query;
      break;
    case pb::Redirect::KIND_SCHEME: {
      // Without a Host the authority stays empty, as in HAProxy: the client is still
      // sent away from the plain scheme rather than served on it.
      const std::string* host = req.headers.get("host");
      loc += "://";
      if (host != nullptr) loc += *host;
      loc += path;
      loc += query;
      break;
    }
    default: break;
  }
  out.headers.emplace_back("location", loc);
  if (!rd.set_cookie().empty()) {
    out.headers.emplace_back("set-cookie", rd.set_cookie() + "; path=/");
  }
  if (!rd.clear_cookie().empty()) {
    std::string name = rd.clear_cookie();
    if (!name.ends_with('=')) name += '=';
    out.headers.emplace_back("set-cookie",
                             name + "; Expires=Thu, 01-Jan-1970 00:00:01 GMT; path=/");
  }
  out.headers.emplace_back("cache-control", "no-cache");
}

rule_list::rule_list(const google::protobuf::RepeatedPtrField<pb::HttpRule>& rules,
                     const acl_set& acls)
    : acls_(&acls) {
  for (const auto& r : rules) {
    compiled c{&r,
               std::nullopt,
               format(r.action() == pb::ACTION_REDIRECT ? std::string_view(r.redirect().target())
                                                        : std::string_view(r.format())),
               format(r.body_is_format() ? std::string_view(r.body()) : std::string_view()),
               {}};
    if (!r.regex().empty()) {
      std::string why;
      // The compiler validated every regex; a failure here leaves the rule inert.
      c.re = regex::compile(r.regex(), r.ignore_case(), why);
    }
    for (int i = 1; i < r.headers_size(); i += 2) c.header_values.emplace_back(r.headers(i));
    rules_.push_back(std::move(c));
  }
}

rule_outcome rule_list::apply(http::request& req, txn& t, reply& out) const {
  return run(req, t, out);
}

rule_outcome rule_list::apply(http::response& res, txn& t, reply& out) const {
  return run(res, t, out);
}

template <typename Message>
rule_outcome rule_list::run(Message& m, txn& t, reply& out) const {
  constexpr bool response = is_response(static_cast<Message*>(nullptr));
  // Reused between rules and requests (one worker thread): no allocation once grown.
  thread_local std::string value, replaced;
  for (const auto& c : rules_) {
    const pb::HttpRule& r = *c.cfg;
    if (!acls_->holds_if_present(r.has_condition(), r.condition(), t)) continue;
    auto& fields = m.headers.fields;
    switch (r.action()) {
      case pb::ACTION_ALLOW: return rule_outcome::go_on;
      case pb::ACTION_DENY:
      case pb::ACTION_RETURN: {
        out = reply{};
        out.status = r.status() != 0 ? r.status() : 403;
        if (r.action() == pb::ACTION_RETURN && r.status() == 0) out.status = 200;
        if (!r.body().empty() && r.content_type().empty()) {
          out.raw = r.body();  // errorfile: a complete response
        } else if (!r.body().empty()) {
          out.content_type = r.content_type();
          out.body = r.body_is_format() ? c.body.render(t) : r.body();
        } else if (r.action() == pb::ACTION_DENY) {
          out.error_page = true;
        }
        for (size_t i = 0; i < c.header_values.size(); ++i) {
          out.headers.emplace_back(r.headers(static_cast<int>(2 * i)),
                                   c.header_values[i].render(t));
        }
        return rule_outcome::reply;
      }
      case pb::ACTION_SET_HEADER:
        value.clear();
        c.fmt.render(t, value);
        m.headers.set(r.name(), value);
        break;
      case pb::ACTION_ADD_HEADER:
        value.clear();
        c.fmt.render(t, value);
        m.headers.add(r.name(), value);
        break;
      case pb::ACTION_DEL_HEADER: m.headers.remove(r.name()); break;
      case pb::ACTION_REPLACE_HEADER:
      case pb::ACTION_REPLACE_VALUE:
        if (!c.re) break;
        value.clear();
        c.fmt.render(t, value);
        for (auto& f : fields) {
          if (!http::iequals(f.name, r.name())) continue;
          if (r.action() == pb::ACTION_REPLACE_VALUE) {
            f.value = replace_each_value(*c.re, f.value, value);
          } else if (replaced.clear(), c.re->replace(f.value, value, replaced)) {
            f.value = replaced;
          }
        }
        break;
      case pb::ACTION_SET_STATUS:
        if constexpr (response) {
          m.status = r.status();
          m.reason = r.reason().empty() ? std::string(http::reason_phrase(r.status())) : r.reason();
        }
        break;
      case pb::ACTION_LINE_REPLACE:
      case pb::ACTION_LINE_DELETE:
      case pb::ACTION_LINE_DENY:
      case pb::ACTION_LINE_ALLOW: {
        if (!c.re) break;
        const auto act = r.action();
        thread_local std::string line;
        start_line(m, line);
        if (act == pb::ACTION_LINE_REPLACE) {
          replaced.clear();
          if (c.re->replace(line, r.format(), replaced)) set_start_line(m, replaced);
        } else if (act != pb::ACTION_LINE_DELETE && c.re->matches(line)) {
          if (act == pb::ACTION_LINE_ALLOW) return rule_outcome::go_on;
          out = reply{};
          out.status = response ? 502 : 403;
          out.error_page = true;
          return rule_outcome::reply;
        }
        for (size_t i = 0; i < fields.size();) {
          field_line(fields[i], line);
          if (act == pb::ACTION_LINE_REPLACE) {
            replaced.clear();
            if (c.re->replace(line, r.format(), replaced)) {
              http::header_field f;
              if (!split_field(replaced, f)) {
                fields.erase(fields.begin() + static_cast<std::ptrdiff_t>(i));
                continue;
              }
              fields[i] = std::move(f);
            }
          } else if (c.re->matches(line)) {
            if (act == pb::ACTION_LINE_DELETE) {
              fields.erase(fields.begin() + static_cast<std::ptrdiff_t>(i));
              continue;
            }
            if (act == pb::ACTION_LINE_ALLOW) return rule_outcome::go_on;
            out = reply{};
            out.status = response ? 502 : 403;
            out.error_page = true;
            return rule_outcome::reply;
          }
          ++i;
        }
        break;
      }
      case pb::ACTION_LINE_ADD: {
        http::header_field f;
        if (split_field(r.format(), f)) fields.push_back(std::move(f));
        break;
      }
      default:
        if constexpr (!response) {
          if (!request_action(c, m, t, out)) return rule_outcome::reply;
        } else if (r.action() == pb::ACTION_REDIRECT && t.req != nullptr) {
          // http-response redirect: the request line is still known, its fetches are not.
          out = reply{};
          build_redirect(r.redirect(), *t.req, t, c.fmt, out);
          return rule_outcome::reply;
        }
        break;
    }
  }
  return rule_outcome::go_on;
}

bool rule_list::request_action(const compiled& c, http::request& req, txn& t, reply& out) {
  const pb::HttpRule& r = *c.cfg;
  thread_local std::string value, replaced;
  value.clear();
  replaced.clear();
  target_parts parts = split_target(req.target);
  switch (r.action()) {
    case pb::ACTION_SET_PATH:
      c.fmt.render(t, value);
      parts.path = value;
      join_into(parts, req.target);
      break;
    case pb::ACTION_REPLACE_PATH:
      if (!c.re) break;
      c.fmt.render(t, value);
      if (c.re->replace(parts.path, value, replaced)) {
        parts.path = replaced;
        join_into(parts, req.target);
      }
      break;
    case pb::ACTION_REPLACE_URI:
      if (!c.re) break;
      c.fmt.render(t, value);
      if (c.re->replace(req.target, value, replaced)) req.target = replaced;
      break;
    case pb::ACTION_SET_URI:
      c.fmt.render(t, value);
      req.target = value;
      break;
    case pb::ACTION_SET_QUERY:
      c.fmt.render(t, value);
      replaced = value.empty() ? std::string() : "?" + value;
      parts.query = replaced;
      join_into(parts, req.target);
      break;
    case pb::ACTION_SET_METHOD:
      c.fmt.render(t, value);
      if (!value.empty()) req.method = value;
      break;
    case pb::ACTION_REDIRECT:
      out = reply{};
      build_redirect(r.redirect(), req, t, c.fmt, out);
      return false;
    case pb::ACTION_USE_SERVICE:
      // The exporter is served by the stats process on its own listener; a worker that
      // meets the rule answers as a service that is not there.
      out = reply{};
      out.status = 503;
      out.error_page = true;
      return false;
    default: break;
  }
  return true;
}

}  // namespace sluice::worker::route
