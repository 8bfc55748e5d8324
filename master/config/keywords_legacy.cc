// The req*/rsp* keywords removed from HAProxy 2.1 and `block` (removed in 2.0). Many real
// configs still use them, so Sluice accepts them with a warning that names the modern
// form, and runs them as HAProxy 2.0 did: a regex over the raw request line (or status
// line) and over each "Name: value" header line, `\N` back-references in replacements.
#include "master/config/keywords.h"
#include "worker/route/regex.h"

namespace sluice::master::config {

namespace {

namespace pb = sluice::config;

struct legacy_def {
  std::string_view name;
  pb::HttpAction action;
  bool response;
  bool ignore_case;
  std::string_view modern;
};

constexpr legacy_def legacy[] = {
    {"reqrep", pb::ACTION_LINE_REPLACE, false, false,
     "http-request replace-path, replace-uri or replace-header"},
    {"reqirep", pb::ACTION_LINE_REPLACE, false, true,
     "http-request replace-path, replace-uri or replace-header"},
    {"reqdel", pb::ACTION_LINE_DELETE, false, false, "http-request del-header"},
    {"reqidel", pb::ACTION_LINE_DELETE, false, true, "http-request del-header"},
    {"reqdeny", pb::ACTION_LINE_DENY, false, false, "http-request deny"},
    {"reqideny", pb::ACTION_LINE_DENY, false, true, "http-request deny"},
    {"reqallow", pb::ACTION_LINE_ALLOW, false, false, "http-request allow"},
    {"reqiallow", pb::ACTION_LINE_ALLOW, false, true, "http-request allow"},
    {"reqadd", pb::ACTION_LINE_ADD, false, false, "http-request add-header"},
    {"rsprep", pb::ACTION_LINE_REPLACE, true, false, "http-response replace-header"},
    {"rspirep", pb::ACTION_LINE_REPLACE, true, true, "http-response replace-header"},
    {"rspdel", pb::ACTION_LINE_DELETE, true, false, "http-response del-header"},
    {"rspidel", pb::ACTION_LINE_DELETE, true, true, "http-response del-header"},
    {"rspdeny", pb::ACTION_LINE_DENY, true, false, "http-response deny"},
    {"rspideny", pb::ACTION_LINE_DENY, true, true, "http-response deny"},
    {"rspadd", pb::ACTION_LINE_ADD, true, false, "http-response add-header"},
};

std::string quoted_list(const std::vector<std::string>& w, size_t from, size_t to) {
  std::string s;
  for (size_t i = from; i < to; ++i) s += (i > from ? ", '" : "'") + w[i] + "'";
  return s;
}

void kw_legacy(const line_context& ctx) {
  const auto& w = ctx.words;
  const legacy_def* def = nullptr;
  for (const auto& l : legacy) {
    if (l.name == w[0]) def = &l;
  }
  const bool replace = def->action == pb::ACTION_LINE_REPLACE;
  const size_t nargs = replace ? 2 : 1;
  const char* usage = replace                              ? "<search> <replace>"
                      : def->action == pb::ACTION_LINE_ADD ? "<header line>"
                                                           : "<search>";
  // Arguments end at `if`/`unless`.
  size_t cond = 1;
  while (cond < w.size() && w[cond] != "if" && w[cond] != "unless") ++cond;
  size_t got = cond - 1;
  if (got != nargs) {
    std::string msg = "'" + w[0] + "' takes " + std::to_string(nargs) +
                      (nargs == 1 ? " argument (" : " arguments (") + usage +
                      ") before an optional 'if'/'unless' condition, but got " +
                      std::to_string(got);
    if (got > 0) msg += ": " + quoted_list(w, 1, cond);
    if (got > nargs) {
      msg +=
          ". An unescaped space splits a regex into separate words: write '\\ ' for a "
          "literal space, or quote the regex";
      std::string error;
      if (def->action != pb::ACTION_LINE_ADD &&
          !worker::route::regex::compile(w[1], def->ignore_case, error)) {
        msg += " ('" + w[1] + "' alone is not a valid regex: " + error + ")";
      }
    }
    ctx.error(std::move(msg));
    return;
  }
  pb::HttpRule rule;
  rule.set_action(def->action);
  rule.set_ignore_case(def->ignore_case);
  *rule.mutable_origin() = ctx.origin();
  if (def->action == pb::ACTION_LINE_ADD) {
    if (w[1].find(':') == std::string::npos) {
      ctx.error("'" + w[0] + "' expects a whole header line such as 'X-Name:\\ value', got '" +
                w[1] + "'");
      return;
    }
    rule.set_format(w[1]);
  } else {
    rule.set_regex(w[1]);
    if (!check_regex(ctx, w[1], def->ignore_case, "regex")) return;
    if (replace) rule.set_format(w[2]);
  }
  if (cond < w.size()) {
    if (!parse_condition(ctx, cond, def->response, *rule.mutable_condition())) return;
  }
  ctx.warning("'" + w[0] +
              "' was removed in HAProxy 2.1; sluice still runs it as HAProxy 2.0 "
              "did. Its modern equivalent is '" +
              std::string(def->modern) + "'");
  note_http_only(ctx);
  auto& p = ctx.proxy();
  (def->response ? p.legacy_response : p.legacy_request).push_back(std::move(rule));
}

// `block if COND` (removed in HAProxy 2.0) is `http-request deny if COND`.
void kw_block(const line_context& ctx) {
  if (ctx.words.size() < 3) {
    ctx.error("'block' expects 'if' or 'unless' and a condition");
    return;
  }
  pb::HttpRule rule;
  rule.set_action(pb::ACTION_DENY);
  rule.set_status(403);
  *rule.mutable_origin() = ctx.origin();
  if (!parse_condition(ctx, 1, false, *rule.mutable_condition())) return;
  ctx.warning("'block' was removed in HAProxy 2.0; sluice runs it as 'http-request deny'");
  note_http_only(ctx);
  ctx.proxy().http_request.push_back(std::move(rule));
}

void kw_removed(const line_context& ctx) {
  ctx.error("'" + ctx.words[0] +
            "' is not supported by sluice (removed in HAProxy 2.1; use "
            "'use_backend' or 'http-request' rules)");
}

constexpr keyword table[] = {
    {"reqrep", in_proxies, kw_legacy},      {"reqirep", in_proxies, kw_legacy},
    {"reqdel", in_proxies, kw_legacy},      {"reqidel", in_proxies, kw_legacy},
    {"reqdeny", in_proxies, kw_legacy},     {"reqideny", in_proxies, kw_legacy},
    {"reqallow", in_proxies, kw_legacy},    {"reqiallow", in_proxies, kw_legacy},
    {"reqadd", in_proxies, kw_legacy},      {"rsprep", in_proxies, kw_legacy},
    {"rspirep", in_proxies, kw_legacy},     {"rspdel", in_proxies, kw_legacy},
    {"rspidel", in_proxies, kw_legacy},     {"rspdeny", in_proxies, kw_legacy},
    {"rspideny", in_proxies, kw_legacy},    {"rspadd", in_proxies, kw_legacy},
    {"block", in_proxies, kw_block},        {"reqpass", in_proxies, kw_removed},
    {"reqipass", in_proxies, kw_removed},   {"reqtarpit", in_proxies, kw_removed},
    {"reqitarpit", in_proxies, kw_removed}, {"reqsetbe", in_proxies, kw_removed},
    {"reqisetbe", in_proxies, kw_removed},
};

}  // namespace

std::span<const keyword> legacy_keywords() {
  return table;
}

}  // namespace sluice::master::config
