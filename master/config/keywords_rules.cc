// HTTP rules: `acl`, `http-request`, `http-response`, `redirect`. Each action parses its
// own arguments, then an optional `if|unless` condition.
#include <algorithm>
#include <array>
#include <cstdint>

#include "master/config/acl.h"
#include "master/config/keywords.h"
#include "master/config/loader.h"
#include "master/config/suggest.h"
#include "master/config/units.h"
#include "worker/route/regex.h"

namespace sluice::master::config {

namespace {

namespace pb = sluice::config;

constexpr size_t fail = SIZE_MAX;

// A log-format string: `%[fetch]` and `%{...}` must be closed.
bool check_format(const line_context& ctx, const std::string& s, const char* what) {
  for (size_t i = 0; i + 1 < s.size(); ++i) {
    if (s[i] != '%') continue;
    char n = s[i + 1];
    if (n == '%') {
      ++i;
    } else if (n == '[' || n == '{') {
      char close = n == '[' ? ']' : '}';
      size_t end = s.find(close, i + 2);
      if (end == std::string::npos) {
        ctx.error(std::string(what) + " '" + s + "' has an unclosed '%" + n + "'");
        return false;
      }
      i = end;
    }
  }
  return true;
}

bool need(const line_context& ctx, size_t i, size_t n, const char* usage) {
  if (i + n <= ctx.words.size()) {
    bool cond_early = false;
    for (size_t k = i; k < i + n; ++k) {
      if (ctx.words[k] == "if" || ctx.words[k] == "unless") cond_early = true;
    }
    if (!cond_early) return true;
  }
  ctx.error("'" + ctx.keyword(2) + "' expects " + usage);
  return false;
}

size_t act_none(const line_context&, size_t i, pb::HttpRule&) {
  return i;
}

size_t act_header_value(const line_context& ctx, size_t i, pb::HttpRule& r) {
  if (!need(ctx, i, 2, "<name> <value>")) return fail;
  r.set_name(ctx.words[i]);
  r.set_format(ctx.words[i + 1]);
  if (!check_format(ctx, r.format(), "value")) return fail;
  return i + 2;
}

size_t act_del_header(const line_context& ctx, size_t i, pb::HttpRule& r) {
  if (!need(ctx, i, 1, "<name> [-m str]")) return fail;
  r.set_name(ctx.words[i++]);
  if (i + 1 < ctx.words.size() && ctx.words[i] == "-m") {
    if (ctx.words[i + 1] != "str") {
      ctx.error("'del-header -m " + ctx.words[i + 1] +
                "' is not supported by sluice (only -m str)");
      return fail;
    }
    i += 2;
  }
  return i;
}

size_t act_regex_replace(const line_context& ctx, size_t i, pb::HttpRule& r, bool with_name) {
  size_t n = with_name ? 3 : 2;
  if (!need(ctx, i, n, with_name ? "<name> <regex> <replacement>" : "<regex> <replacement>")) {
    return fail;
  }
  if (with_name) r.set_name(ctx.words[i++]);
  r.set_regex(ctx.words[i]);
  r.set_format(ctx.words[i + 1]);
  if (!check_regex(ctx, r.regex(), false, "regex")) return fail;
  if (!check_format(ctx, r.format(), "replacement")) return fail;
  return i + 2;
}

size_t act_replace_with_name(const line_context& ctx, size_t i, pb::HttpRule& r) {
  return act_regex_replace(ctx, i, r, true);
}

size_t act_replace(const line_context& ctx, size_t i, pb::HttpRule& r) {
  return act_regex_replace(ctx, i, r, false);
}

size_t act_format(const line_context& ctx, size_t i, pb::HttpRule& r) {
  if (!need(ctx, i, 1, "<format>")) return fail;
  r.set_format(ctx.words[i]);
  if (!check_format(ctx, r.format(), "value")) return fail;
  return i + 1;
}

bool status_in(const line_context& ctx, const std::string& w, int64_t min, int64_t max,
               uint32_t& out) {
  auto v = parse_int(w, min, max);
  if (!v) {
    ctx.error("'" + ctx.keyword(2) + "' status: " + v.error);
    return false;
  }
  out = static_cast<uint32_t>(v.value);
  return true;
}

// The payload options shared by `return` and `deny`.
size_t payload_options(const line_context& ctx, size_t i, pb::HttpRule& r, bool is_return) {
  const auto& w = ctx.words;
  bool raw_response = false;  // errorfile: a whole HTTP response, with its own headers
  bool has_payload = false;
  while (i < w.size() && w[i] != "if" && w[i] != "unless") {
    const std::string& o = w[i];
    if (o == "default-errorfiles") {
      ++i;
      continue;
    }
    if (i + 1 >= w.size()) {
      ctx.error("'" + o + "' expects a value");
      return fail;
    }
    uint32_t st = 0;
    if ((o == "status" && is_return) || (o == "deny_status" && !is_return)) {
      if (!status_in(ctx, w[i + 1], 200, 599, st)) return fail;
      r.set_status(st);
    } else if (o == "status" || o == "deny_status") {
      ctx.error("'" + o + "' is not an option of '" + ctx.keyword(2) + "' (use '" +
                (is_return ? "status" : "deny_status") + "')");
      return fail;
    } else if (o == "content-type") {
      r.set_content_type(w[i + 1]);
    } else if (o == "string" || o == "lf-string") {
      r.set_body(w[i + 1]);
      has_payload = true;
      r.set_body_is_format(o == "lf-string");
      if (o == "lf-string" && !check_format(ctx, w[i + 1], "lf-string")) return fail;
    } else if (o == "file" || o == "lf-file" || o == "errorfile") {
      std::string contents;
      if (o == "errorfile") {
        if (!read_error_file(ctx, w[i + 1], contents)) return fail;
      } else {
        diagnostics local;
        if (!ctx.st.files_allowed || !read_file(w[i + 1], contents, local, 1 << 20)) {
          ctx.error("cannot read '" + w[i + 1] + "' for '" + o + "'");
          return fail;
        }
      }
      r.set_body(std::move(contents));
      has_payload = true;
      raw_response = o == "errorfile";
      r.set_body_is_format(o == "lf-file");
    } else if (o == "hdr") {
      if (i + 2 >= w.size()) {
        ctx.error("'hdr' expects a name and a value");
        return fail;
      }
      r.add_headers(w[i + 1]);
      r.add_headers(w[i + 2]);
      ++i;
    } else if (o == "errorfiles") {
      ctx.error("'errorfiles' is not supported by sluice");
      return fail;
    } else {
      ctx.error("unknown option '" + o + "' in '" + ctx.keyword(2) +
                "' (expected status, "
                "content-type, string, lf-string, file, lf-file, errorfile, hdr)");
      return fail;
    }
    i += 2;
  }
  if (!r.body().empty() && r.content_type().empty() && !raw_response) {
    ctx.error("'" + ctx.keyword(2) + "' with a body needs a 'content-type'");
    return fail;
  }
  static constexpr uint32_t builtin[] = {200, 400, 401, 403, 404, 405, 407, 408, 410,
                                         413, 425, 429, 500, 501, 502, 503, 504};
  if (!is_return && !has_payload &&
      std::find(std::begin(builtin), std::end(builtin), r.status()) == std::end(builtin)) {
    ctx.error("'" + ctx.keyword(2) + "': status " + std::to_string(r.status()) +
              " has no built-in error page; give a body (string, file or errorfile)");
    return fail;
  }
  return i;
}

size_t act_return(const line_context& ctx, size_t i, pb::HttpRule& r) {
  r.set_status(200);
  return payload_options(ctx, i, r, true);
}

size_t act_deny(const line_context& ctx, size_t i, pb::HttpRule& r) {
  r.set_status(403);
  return payload_options(ctx, i, r, false);
}

size_t act_set_status(const line_context& ctx, size_t i, pb::HttpRule& r) {
  if (!need(ctx, i, 1, "<status> [reason <text>]")) return fail;
  uint32_t st = 0;
  if (!status_in(ctx, ctx.words[i], 100, 999, st)) return fail;
  r.set_status(st);
  ++i;
  if (i + 1 < ctx.words.size() && ctx.words[i] == "reason") {
    r.set_reason(ctx.words[i + 1]);
    i += 2;
  }
  return i;
}

size_t act_use_service(const line_context& ctx, size_t i, pb::HttpRule& r) {
  if (!need(ctx, i, 1, "<service>")) return fail;
  if (ctx.words[i] != "prometheus-exporter") {
    ctx.error("service '" + ctx.words[i] +
              "' is not supported by sluice (only "
              "'prometheus-exporter')");
    return fail;
  }
  r.set_service(ctx.words[i]);
  ctx.proxy().prometheus_exporter = true;
  return i + 1;
}

// redirect location|prefix|scheme TARGET [code N] [drop-query] [append-slash]
//          [set-cookie NAME[=VALUE]] [clear-cookie NAME[=]]
size_t parse_redirect(const line_context& ctx, size_t i, pb::HttpRule& r) {
  const auto& w = ctx.words;
  if (i + 1 >= w.size()) {
    ctx.error("'redirect' expects 'location', 'prefix' or 'scheme' and a target");
    return fail;
  }
  pb::Redirect& rd = *r.mutable_redirect();
  const std::string& kind = w[i];
  if (kind == "location") {
    rd.set_kind(pb::Redirect::KIND_LOCATION);
  } else if (kind == "prefix") {
    rd.set_kind(pb::Redirect::KIND_PREFIX);
  } else if (kind == "scheme") {
    rd.set_kind(pb::Redirect::KIND_SCHEME);
  } else {
    ctx.error("'redirect' expects 'location', 'prefix' or 'scheme', got '" + kind + "'");
    return fail;
  }
  if (ctx.words[0] == "http-response" && kind != "location") {
    ctx.error("'http-response redirect' only supports 'location' (got '" + kind + "')");
    return fail;
  }
  rd.set_target(w[i + 1]);
  if (!check_format(ctx, rd.target(), "redirect target")) return fail;
  rd.set_code(302);
  i += 2;
  while (i < w.size() && w[i] != "if" && w[i] != "unless") {
    const std::string& o = w[i];
    if (o == "drop-query") {
      rd.set_drop_query(true);
      ++i;
    } else if (o == "append-slash") {
      rd.set_append_slash(true);
      ++i;
    } else if (o == "code" || o == "set-cookie" || o == "clear-cookie") {
      if (i + 1 >= w.size()) {
        ctx.error("redirect option '" + o + "' expects a value");
        return fail;
      }
      if (o == "code") {
        uint32_t c = 0;
        if (!status_in(ctx, w[i + 1], 0, 999, c)) return fail;
        if (c != 301 && c != 302 && c != 303 && c != 307 && c != 308) {
          ctx.error("redirect code must be 301, 302, 303, 307 or 308, got " + w[i + 1]);
          return fail;
        }
        rd.set_code(c);
      } else if (o == "set-cookie") {
        rd.set_set_cookie(w[i + 1]);
      } else {
        rd.set_clear_cookie(w[i + 1]);
      }
      i += 2;
    } else {
      ctx.error(
          "unknown redirect option '" + o + "'" +
          did_you_mean(o, {"code", "drop-query", "append-slash", "set-cookie", "clear-cookie"}));
      return fail;
    }
  }
  return i;
}

using action_parser = size_t (*)(const line_context&, size_t, pb::HttpRule&);

struct action_def {
  std::string_view name;
  pb::HttpAction action;
  bool request;
  bool response;
  action_parser parse;
};

constexpr action_def actions[] = {
    {"allow", pb::ACTION_ALLOW, true, true, act_none},
    {"deny", pb::ACTION_DENY, true, true, act_deny},
    {"set-header", pb::ACTION_SET_HEADER, true, true, act_header_value},
    {"add-header", pb::ACTION_ADD_HEADER, true, true, act_header_value},
    {"del-header", pb::ACTION_DEL_HEADER, true, true, act_del_header},
    {"replace-header", pb::ACTION_REPLACE_HEADER, true, true, act_replace_with_name},
    {"replace-value", pb::ACTION_REPLACE_VALUE, true, true, act_replace_with_name},
    {"set-path", pb::ACTION_SET_PATH, true, false, act_format},
    {"replace-path", pb::ACTION_REPLACE_PATH, true, false, act_replace},
    {"replace-uri", pb::ACTION_REPLACE_URI, true, false, act_replace},
    {"set-uri", pb::ACTION_SET_URI, true, false, act_format},
    {"set-query", pb::ACTION_SET_QUERY, true, false, act_format},
    {"set-method", pb::ACTION_SET_METHOD, true, false, act_format},
    {"redirect", pb::ACTION_REDIRECT, true, true, parse_redirect},
    {"return", pb::ACTION_RETURN, true, true, act_return},
    {"set-status", pb::ACTION_SET_STATUS, false, true, act_set_status},
    {"use-service", pb::ACTION_USE_SERVICE, true, false, act_use_service},
};

constexpr std::string_view unsupported_actions[] = {"set-var",
                                                    "unset-var",
                                                    "capture",
                                                    "track-sc0",
                                                    "track-sc1",
                                                    "track-sc2",
                                                    "set-log-level",
                                                    "set-tos",
                                                    "set-mark",
                                                    "add-acl",
                                                    "del-acl",
                                                    "set-map",
                                                    "del-map",
                                                    "auth",
                                                    "tarpit",
                                                    "reject",
                                                    "silent-drop",
                                                    "set-nice",
                                                    "set-src",
                                                    "set-dst",
                                                    "set-src-port",
                                                    "set-dst-port",
                                                    "normalize-uri",
                                                    "wait-for-body",
                                                    "wait-for-handshake",
                                                    "cache-use",
                                                    "cache-store",
                                                    "do-resolve",
                                                    "sc-inc-gpc0",
                                                    "sc-inc-gpc1",
                                                    "sc-set-gpt0",
                                                    "early-hint",
                                                    "strict-mode",
                                                    "set-timeout",
                                                    "disable-l7-retry",
                                                    "set-priority-class",
                                                    "set-priority-offset",
                                                    "send-spoe-group",
                                                    "set-pathq",
                                                    "set-var-fmt",
                                                    "set-bandwidth-limit",
                                                    "sc-inc-gpc",
                                                    "set-fc-mark",
                                                    "set-fc-tos",
                                                    "set-retries",
                                                    "replace-pathq"};

void http_rule(const line_context& ctx, bool response) {
  const auto& w = ctx.words;
  const char* kw = response ? "http-response" : "http-request";
  if (w.size() < 2) {
    ctx.error(std::string("'") + kw + "' expects an action (e.g. '" + kw + " set-header X-A b')");
    return;
  }
  const std::string& name = w[1];
  const action_def* def = nullptr;
  for (const auto& a : actions) {
    if (a.name == name) def = &a;
  }
  if (def == nullptr) {
    bool known = name.starts_with("lua.");
    for (auto u : unsupported_actions) known = known || u == name;
    if (known) {
      ctx.error("'" + std::string(kw) + " " + name + "' is not supported by sluice");
      return;
    }
    std::vector<std::string_view> names;
    for (const auto& a : actions) {
      if (response ? a.response : a.request) names.push_back(a.name);
    }
    ctx.error("unknown '" + std::string(kw) + "' action '" + name + "'" +
              did_you_mean(name, names));
    return;
  }
  if (response ? !def->response : !def->request) {
    ctx.error("'" + name + "' is not a valid '" + kw + "' action (it is only available in '" +
              (response ? "http-request" : "http-response") + "')");
    return;
  }
  pb::HttpRule rule;
  rule.set_action(def->action);
  *rule.mutable_origin() = ctx.origin();
  size_t next = def->parse(ctx, 2, rule);
  if (next == fail) return;
  if (next < w.size() && w[next] != "if" && w[next] != "unless") {
    ctx.error("unexpected '" + w[next] + "' after '" + ctx.keyword(next) +
              "' (expected 'if', 'unless' or the end of the line)");
    return;
  }
  if (next < w.size()) {
    if (!parse_condition(ctx, next, response, *rule.mutable_condition())) return;
  }
  note_http_only(ctx);
  auto& p = ctx.proxy();
  if (!response && !p.redirects.empty() && !p.warned_rule_after_redirect) {
    p.warned_rule_after_redirect = true;
    ctx.warning(
        "this 'http-request' rule comes after a 'redirect' rule but runs before it: "
        "HAProxy runs every 'http-request' rule before the 'redirect' rules");
  }
  (response ? p.http_response : p.http_request).push_back(std::move(rule));
}

void kw_http_request(const line_context& ctx) {
  http_rule(ctx, false);
}
void kw_http_response(const line_context& ctx) {
  http_rule(ctx, true);
}

// The proxy keyword `redirect ...` is `http-request redirect ...`.
void kw_redirect(const line_context& ctx) {
  pb::HttpRule rule;
  rule.set_action(pb::ACTION_REDIRECT);
  *rule.mutable_origin() = ctx.origin();
  size_t next = parse_redirect(ctx, 1, rule);
  if (next == fail) return;
  if (next < ctx.words.size()) {
    if (!parse_condition(ctx, next, false, *rule.mutable_condition())) return;
  }
  note_http_only(ctx);
  ctx.proxy().redirects.push_back(std::move(rule));
}

constexpr keyword table[] = {
    {"acl", in_proxies, kw_acl},
    {"http-request", in_proxies, kw_http_request},
    {"http-response", in_proxies, kw_http_response},
    {"redirect", in_proxies, kw_redirect},
};

}  // namespace

std::span<const keyword> rule_keywords() {
  return table;
}

bool check_regex(const line_context& ctx, const std::string& pattern, bool ignore_case,
                 const char* what) {
  std::string error;
  if (worker::route::regex::compile(pattern, ignore_case, error)) return true;
  ctx.error(std::string("invalid ") + what + " '" + pattern + "': " + error);
  return false;
}

}  // namespace sluice::master::config
