#include "master/config/parser.h"

#include <algorithm>
#include <array>

#include "master/config/keywords.h"
#include "master/config/suggest.h"

namespace sluice::master::config {

unsigned section_bit(section s) {
  switch (s) {
    case section::global: return in_global;
    case section::defaults: return in_defaults;
    case section::frontend: return in_frontend;
    case section::backend: return in_backend;
    case section::listen: return in_listen;
    default: return 0;
  }
}

const char* section_name(section s) {
  switch (s) {
    case section::global: return "global";
    case section::defaults: return "defaults";
    case section::frontend: return "frontend";
    case section::backend: return "backend";
    case section::listen: return "listen";
    default: return "?";
  }
}

std::string line_context::keyword(size_t n) const {
  std::string k;
  for (size_t i = 0; i < n && i < words.size(); ++i) {
    if (i) k += ' ';
    k += words[i];
  }
  return k;
}

bool line_context::expect_args(size_t first_arg, size_t min, size_t max, const char* usage) const {
  size_t got = words.size() > first_arg ? words.size() - first_arg : 0;
  if (got >= min && got <= max) return true;
  std::string msg = "'" + keyword(first_arg) + "' expects ";
  if (min == max) {
    msg += std::to_string(min) + (min == 1 ? " argument" : " arguments");
  } else if (max == SIZE_MAX) {
    msg += "at least " + std::to_string(min) + (min == 1 ? " argument" : " arguments");
  } else {
    msg += std::to_string(min) + " to " + std::to_string(max) + " arguments";
  }
  if (usage != nullptr && *usage != 0) msg += std::string(" (") + usage + ")";
  msg += ", got " + std::to_string(got);
  error(std::move(msg));
  return false;
}

namespace {

constexpr std::array<std::string_view, 14> unsupported_sections = {
    "resolvers", "peers",    "userlist",  "mailers",     "program", "http-errors",    "ring",
    "cache",     "fcgi-app", "crt-store", "log-forward", "traces",  "namespace_list", "acme"};

bool valid_proxy_name(std::string_view n) {
  return !n.empty() && std::all_of(n.begin(), n.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == ':';
  });
}

const std::vector<std::span<const keyword>>& proxy_tables() {
  static const std::vector<std::span<const keyword>> tables = {proxy_keywords(), server_keywords(),
                                                               rule_keywords(), legacy_keywords()};
  return tables;
}

const keyword* find_keyword(std::span<const keyword> table, std::string_view word) {
  for (const auto& k : table) {
    if (k.name == word) return &k;
  }
  return nullptr;
}

void start_global(parse_state& st, const line_context& ctx) {
  ctx.expect_args(1, 0, 0, "");
  st.current = section::global;
  st.proxy = nullptr;
}

// `defaults [NAME] [from NAME]`, `frontend NAME [from D]`, `backend NAME [from D]`,
// `listen NAME [ADDR:PORT] [from D]`.
void start_proxy(parse_state& st, const line_context& ctx, section kind) {
  const auto& w = ctx.words;
  std::string name;
  std::string from;
  std::string listen_addr;
  size_t i = 1;
  if (i < w.size() && w[i] != "from") name = w[i++];
  if (kind == section::listen && i < w.size() && w[i] != "from") listen_addr = w[i++];
  if (i < w.size() && w[i] == "from") {
    if (i + 1 >= w.size()) {
      ctx.error("'from' needs the name of a defaults section");
    } else {
      from = w[i + 1];
    }
    i += 2;
  }
  if (i < w.size()) {
    ctx.error("unexpected '" + w[i] + "' after '" + ctx.keyword(i) + "'");
  }

  auto draft = std::make_unique<proxy_draft>();
  draft->kind = kind;
  draft->where = ctx.where;
  draft->name = name;
  if (kind != section::defaults) {
    if (name.empty()) {
      ctx.error(std::string("'") + section_name(kind) + "' needs a name");
      draft->name = "<unnamed>";
    } else if (!valid_proxy_name(name)) {
      ctx.error(std::string(section_name(kind)) + " name '" + name +
                "' may only contain letters, digits, '-', '_', '.' and ':'");
    }
  }
  // A proxy starts as a copy of the defaults it follows (or names with `from`).
  if (!from.empty()) {
    auto it = st.named_defaults.find(from);
    if (it == st.named_defaults.end()) {
      std::vector<std::string_view> names;
      for (const auto& [n, _] : st.named_defaults) names.push_back(n);
      ctx.error("no defaults section named '" + from + "'" + did_you_mean(from, names));
      draft->s = st.last_defaults;
    } else {
      draft->s = it->second;
      const auto& seen = st.defaults_declared[from];
      if (seen.size() > 1) {
        ctx.error("ambiguous defaults section name '" + from + "': declared at " + seen[0].file +
                  ":" + std::to_string(seen[0].line) + " and " + seen[1].file + ":" +
                  std::to_string(seen[1].line));
      }
    }
  } else {
    draft->s = st.last_defaults;
  }

  if (kind == section::defaults) {
    st.defaults = std::move(draft);
    st.proxy = st.defaults.get();
  } else {
    // Names are unique per capability: frontends among frontends, backends among backends.
    bool fe = kind != section::backend, be = kind != section::frontend;
    for (const auto& p : st.proxies) {
      if (p->name == draft->name && ((fe && p->is_frontend()) || (be && p->is_backend()))) {
        ctx.error(std::string(section_name(kind)) + " '" + draft->name + "' has the same name as " +
                  section_name(p->kind) + " '" + p->name + "' declared at " + p->where.file + ":" +
                  std::to_string(p->where.line));
        break;
      }
    }
    st.proxies.push_back(std::move(draft));
    st.proxy = st.proxies.back().get();
  }
  st.current = kind;

  if (!listen_addr.empty()) {
    ctx.warning(
        "an address on the 'listen' line is an old form (HAProxy 2.x rejects it); "
        "write 'bind " +
        listen_addr + "' inside the section");
    // The old `listen NAME ADDR:PORT` form is a `bind` line.
    std::vector<std::string> bind_words = {"bind", listen_addr};
    line_context bind_ctx{st, ctx.where, bind_words};
    if (const keyword* k = find_keyword(proxy_keywords(), "bind")) k->parse(bind_ctx);
  }
}

void dispatch(parse_state& st, const line_context& ctx) {
  const std::string& word = ctx.words[0];
  unsigned bit = section_bit(st.current);
  if (st.current == section::global) {
    if (const keyword* k = find_keyword(global_keywords(), word)) {
      k->parse(ctx);
      return;
    }
  } else {
    for (auto table : proxy_tables()) {
      const keyword* k = find_keyword(table, word);
      if (k == nullptr) continue;
      if ((k->sections & bit) == 0) {
        std::string where;
        for (auto [s, name] : {std::pair{in_defaults, "defaults"},
                               {in_frontend, "frontend"},
                               {in_backend, "backend"},
                               {in_listen, "listen"}}) {
          if (k->sections & s) where += std::string(where.empty() ? "" : ", ") + name;
        }
        ctx.error("'" + word + "' is not allowed in a '" + section_name(st.current) +
                  "' section (allowed in: " + where + ")");
        return;
      }
      k->parse(ctx);
      return;
    }
    // A global keyword in a proxy section is a common slip; say so.
    if (!is_unsupported_haproxy_keyword(word) && find_keyword(global_keywords(), word) != nullptr) {
      ctx.error("'" + word + "' belongs in the 'global' section, not in '" +
                section_name(st.current) + "'");
      return;
    }
  }
  if (is_unsupported_haproxy_keyword(word)) {
    ctx.error("'" + word + "' is not supported by sluice");
    return;
  }
  std::vector<std::string_view> candidates;
  if (st.current == section::global) {
    for (const auto& k : global_keywords()) candidates.push_back(k.name);
  } else {
    for (auto table : proxy_tables()) {
      for (const auto& k : table) {
        if (k.sections & bit) candidates.push_back(k.name);
      }
    }
  }
  ctx.error("unknown keyword '" + word + "' in '" + section_name(st.current) + "' section" +
            did_you_mean(word, candidates));
}

}  // namespace

void close_section(parse_state& st) {
  if (st.current == section::defaults && st.defaults) {
    st.last_defaults = st.defaults->s;
    if (!st.defaults->name.empty()) {
      st.named_defaults[st.defaults->name] = st.defaults->s;
      st.defaults_declared[st.defaults->name].push_back(st.defaults->where);
    }
    st.defaults.reset();
  }
  st.current = section::none;
  st.proxy = nullptr;
}

void parse_text(parse_state& st, std::string_view text, const std::string& file) {
  uint32_t line_no = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view raw = text.substr(pos, nl == std::string_view::npos ? text.npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
    ++line_no;
    location where{file, line_no};

    if (raw.find('\0') != std::string_view::npos) {
      st.diag.error(where, "NUL byte in configuration line");
      continue;
    }
    lexed_line lexed = split_words(raw, st.env);
    for (auto& w : lexed.warnings) st.diag.warning(where, w);
    if (lexed.error) {
      st.diag.error(where, *lexed.error);
      continue;
    }
    if (lexed.words.empty()) continue;
    line_context ctx{st, where, lexed.words};
    const std::string& word = lexed.words[0];

    if (word == "global" || word == "defaults" || word == "frontend" || word == "backend" ||
        word == "listen") {
      close_section(st);
      if (word == "global") {
        start_global(st, ctx);
      } else {
        section kind = word == "defaults"   ? section::defaults
                       : word == "frontend" ? section::frontend
                       : word == "backend"  ? section::backend
                                            : section::listen;
        start_proxy(st, ctx, kind);
      }
      continue;
    }
    if (std::find(unsupported_sections.begin(), unsupported_sections.end(), word) !=
        unsupported_sections.end()) {
      close_section(st);
      st.current = section::unsupported;
      ctx.error("section '" + word + "' is not supported by sluice; its lines are skipped");
      continue;
    }
    if (word.starts_with(".")) {
      ctx.error("conditional blocks and directives ('" + word + "') are not supported by sluice");
      continue;
    }
    switch (st.current) {
      case section::unsupported: continue;
      case section::none:
        ctx.error("'" + word +
                  "' appears outside of any section (start one with 'global', "
                  "'defaults', 'frontend', 'backend' or 'listen')");
        continue;
      default: dispatch(st, ctx);
    }
  }
  close_section(st);
}

}  // namespace sluice::master::config
