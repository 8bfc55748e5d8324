#include "master/config/acl.h"

#include <array>
#include <sstream>

#include "master/config/address.h"
#include "master/config/keywords.h"
#include "master/config/lexer.h"
#include "master/config/loader.h"
#include "master/config/suggest.h"
#include "master/config/units.h"
#include "worker/route/fetches.h"

namespace sluice::master::config {

namespace {

namespace pb = sluice::config;

using worker::route::fetch_arg;
using worker::route::fetch_def;
using worker::route::fetch_scope;
using worker::route::find_fetch;

struct suffix_def {
  std::string_view suffix;
  pb::Match match;
};

constexpr suffix_def suffixes[] = {
    {"beg", pb::MATCH_BEG}, {"end", pb::MATCH_END}, {"sub", pb::MATCH_SUB},
    {"reg", pb::MATCH_REG}, {"dom", pb::MATCH_DOM}, {"dir", pb::MATCH_DIR},
    {"len", pb::MATCH_LEN}, {"ip", pb::MATCH_IP},   {"found", pb::MATCH_FOUND},
};

struct match_name {
  std::string_view name;
  pb::Match match;
};

constexpr match_name match_names[] = {
    {"str", pb::MATCH_STR}, {"beg", pb::MATCH_BEG}, {"end", pb::MATCH_END},
    {"sub", pb::MATCH_SUB}, {"reg", pb::MATCH_REG}, {"found", pb::MATCH_FOUND},
    {"len", pb::MATCH_LEN}, {"dom", pb::MATCH_DOM}, {"dir", pb::MATCH_DIR},
    {"ip", pb::MATCH_IP},   {"int", pb::MATCH_INT}, {"bool", pb::MATCH_BOOL},
};

pb::Match default_match(pb::SampleType t) {
  switch (t) {
    case pb::SAMPLE_INT: return pb::MATCH_INT;
    case pb::SAMPLE_IP: return pb::MATCH_IP;
    case pb::SAMPLE_BOOL: return pb::MATCH_BOOL;
    default: return pb::MATCH_STR;
  }
}

// Fetch names as written may carry a derived-match suffix: `path_beg`, `hdr_end(host)`.
struct resolved_fetch {
  const fetch_def* def = nullptr;
  pb::Match match = pb::MATCH_STR;
};

resolved_fetch resolve_fetch(std::string_view name) {
  resolved_fetch r;
  if ((r.def = find_fetch(name)) != nullptr) {
    r.match = default_match(r.def->type);
    return r;
  }
  size_t us = name.rfind('_');
  if (us == std::string_view::npos) return r;
  std::string_view base = name.substr(0, us), suffix = name.substr(us + 1);
  const fetch_def* def = find_fetch(base);
  if (def == nullptr || def->type != pb::SAMPLE_STR) return r;
  for (const auto& s : suffixes) {
    if (s.suffix == suffix) {
      r.def = def;
      r.match = s.match;
      return r;
    }
  }
  return r;
}

std::vector<std::string_view> fetch_names() {
  std::vector<std::string_view> names;
  for (const auto& f : worker::route::fetch_catalogue()) names.push_back(f.name);
  for (auto n : {"path_beg", "path_end", "path_sub", "path_reg", "path_dir", "hdr_beg", "hdr_end",
                 "hdr_sub", "hdr_reg", "hdr_dom", "url_beg", "url_sub", "url_reg"}) {
    names.push_back(n);
  }
  return names;
}

bool parse_int_pattern(const line_context& ctx, const std::string& v, pb::IntRange& r) {
  auto one = [&](std::string_view s, int64_t& out) {
    auto n = parse_int(s, INT64_MIN / 2, INT64_MAX / 2);
    if (!n) {
      ctx.error("ACL integer pattern '" + v + "': " + n.error);
      return false;
    }
    out = n.value;
    return true;
  };
  size_t colon = v.find(':');
  int64_t a = 0, b = 0;
  if (colon == std::string::npos) {
    if (!one(v, a)) return false;
    r.set_has_min(true);
    r.set_min(a);
    r.set_has_max(true);
    r.set_max(a);
    return true;
  }
  std::string_view lo = std::string_view(v).substr(0, colon);
  std::string_view hi = std::string_view(v).substr(colon + 1);
  if (!lo.empty()) {
    if (!one(lo, a)) return false;
    r.set_has_min(true);
    r.set_min(a);
  }
  if (!hi.empty()) {
    if (!one(hi, b)) return false;
    r.set_has_max(true);
    r.set_max(b);
  }
  if (lo.empty() && hi.empty()) {
    ctx.error("ACL integer range ':' needs at least one bound");
    return false;
  }
  return true;
}

// Reads `-f FILE` patterns: one per line, blank lines and `#` comments skipped.
bool read_pattern_file(const line_context& ctx, const std::string& path,
                       std::vector<std::string>& out) {
  diagnostics local;
  std::string text;
  if (!ctx.st.files_allowed || !read_file(path, text, local)) {
    ctx.error("cannot read ACL pattern file '" + path + "'" +
              (ctx.st.files_allowed ? "" : ": file access is disabled"));
    return false;
  }
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    size_t a = line.find_first_not_of(" \t\r");
    if (a == std::string::npos || line[a] == '#') continue;
    size_t b = line.find_last_not_of(" \t\r");
    out.push_back(line.substr(a, b - a + 1));
  }
  return true;
}

}  // namespace

std::string_view predefined_acl(std::string_view name) {
  static constexpr std::pair<std::string_view, std::string_view> defs[] = {
      {"TRUE", "always_true"},
      {"FALSE", "always_false"},
      {"HTTP", "req.proto_http"},
      {"HTTP_1.0", "req.ver 1.0"},
      {"HTTP_1.1", "req.ver 1.1"},
      {"HTTP_2.0", "req.ver 2.0"},
      {"HTTP_CONTENT", "req.hdr_val(content-length) gt 0"},
      {"HTTP_URL_ABS", "url_reg ^[^/:]*://"},
      {"HTTP_URL_SLASH", "url_beg /"},
      {"HTTP_URL_STAR", "url *"},
      {"LOCALHOST", "src 127.0.0.1/8 ::1"},
      {"METH_CONNECT", "method CONNECT"},
      {"METH_DELETE", "method DELETE"},
      {"METH_GET", "method GET HEAD"},
      {"METH_HEAD", "method HEAD"},
      {"METH_OPTIONS", "method OPTIONS"},
      {"METH_POST", "method POST"},
      {"METH_PUT", "method PUT"},
      {"METH_TRACE", "method TRACE"},
      {"REQ_CONTENT", "req.len gt 0"},
  };
  for (const auto& [n, d] : defs) {
    if (n == name) return d;
  }
  return {};
}

bool parse_acl_term(const line_context& ctx, std::span<const std::string> words, pb::AclTerm& out) {
  if (words.empty()) {
    ctx.error("ACL is missing its fetch (e.g. 'path_beg /api')");
    return false;
  }
  *out.mutable_origin() = ctx.origin();
  // FETCH[(ARG[,OCC])][,converter...]
  std::string spec = words[0];
  size_t scan_from = 0;
  if (size_t open = spec.find('('); open != std::string::npos) {
    size_t close = spec.find(')', open);
    scan_from = close == std::string::npos ? spec.size() : close;
  }
  if (size_t comma = spec.find(',', scan_from); comma != std::string::npos) {
    ctx.error("sample converters ('" + spec.substr(comma + 1) + "') are not supported by sluice");
    return false;
  }
  std::string name = spec, args;
  bool has_args = false;
  if (size_t open = spec.find('('); open != std::string::npos) {
    if (spec.back() != ')') {
      ctx.error("missing ')' in fetch '" + spec + "'");
      return false;
    }
    name = spec.substr(0, open);
    args = spec.substr(open + 1, spec.size() - open - 2);
    has_args = true;
  }
  resolved_fetch rf = resolve_fetch(name);
  if (rf.def == nullptr) {
    ctx.error("unknown fetch method '" + name + "' in ACL" + did_you_mean(name, fetch_names()));
    return false;
  }
  const fetch_def& def = *rf.def;
  pb::Sample& sample = *out.mutable_sample();
  sample.set_fetch(def.fetch);
  sample.set_type(def.type);
  sample.set_response(def.scope == fetch_scope::response);
  sample.set_whole_field(def.whole_field);
  if (has_args && def.arg == fetch_arg::none) {
    ctx.error("fetch '" + name + "' takes no argument");
    return false;
  }
  if ((!has_args || args.empty()) && def.arg == fetch_arg::required) {
    ctx.error("fetch '" + name + "' needs an argument, e.g. '" + name + "(name)'");
    return false;
  }
  if (has_args) {
    size_t comma = args.find(',');
    sample.set_name(args.substr(0, comma));
    if (comma != std::string::npos) {
      auto occ = parse_int(std::string_view(args).substr(comma + 1), -1000, 1000);
      if (!occ) {
        ctx.error("occurrence in '" + spec + "': " + occ.error);
        return false;
      }
      sample.set_occurrence(static_cast<int32_t>(occ.value));
    }
  }
  pb::Match match = rf.match;
  // Flags.
  size_t i = 1;
  std::vector<std::string> values;
  for (; i < words.size(); ++i) {
    const std::string& f = words[i];
    if (f.size() < 2 || f[0] != '-') break;
    if (def.type == pb::SAMPLE_INT && f[1] >= '0' && f[1] <= '9') break;  // a negative value
    if (f == "--") {
      ++i;
      break;
    }
    if (f == "-i") {
      out.set_ignore_case(true);
    } else if (f == "-n") {
    } else if (f == "-m") {
      if (i + 1 >= words.size()) {
        ctx.error(
            "'-m' expects a match method (str, beg, end, sub, reg, found, len, dom, dir, "
            "ip, int, bool)");
        return false;
      }
      const std::string& m = words[++i];
      bool found = false;
      for (const auto& mn : match_names) {
        if (mn.name == m) {
          match = mn.match;
          found = true;
        }
      }
      if (!found) {
        ctx.error("unknown match method '" + m +
                  "' after '-m' (expected str, beg, end, sub, reg, "
                  "found, len, dom, dir, ip, int, bool)");
        return false;
      }
    } else if (f == "-f") {
      if (i + 1 >= words.size()) {
        ctx.error("'-f' expects a file name");
        return false;
      }
      if (!read_pattern_file(ctx, words[++i], values)) return false;
    } else if (f == "-u") {
      ++i;
    } else if (f == "-M") {
      ctx.error("ACL flag '-M' (map files) is not supported by sluice");
      return false;
    } else {
      ctx.error("unknown ACL flag '" + f + "' (expected -i, -f, -m, -n or --)");
      return false;
    }
  }
  out.set_match(match);
  for (; i < words.size(); ++i) values.push_back(words[i]);

  switch (match) {
    case pb::MATCH_FOUND:
    case pb::MATCH_BOOL:
      if (!values.empty()) {
        ctx.error(std::string("match '") + (match == pb::MATCH_FOUND ? "found" : "bool") +
                  "' takes no pattern, but '" + values[0] + "' was given");
        return false;
      }
      break;
    case pb::MATCH_INT:
    case pb::MATCH_LEN: {
      // Operators: eq ge gt le lt N.
      for (size_t k = 0; k < values.size(); ++k) {
        pb::IntRange r;
        const std::string& v = values[k];
        if (v == "eq" || v == "ge" || v == "gt" || v == "le" || v == "lt") {
          if (k + 1 >= values.size()) {
            ctx.error("operator '" + v + "' expects a number");
            return false;
          }
          auto n = parse_int(values[++k], INT64_MIN / 2, INT64_MAX / 2);
          if (!n) {
            ctx.error("ACL integer pattern: " + n.error);
            return false;
          }
          int64_t x = n.value;
          if (v == "eq") r.set_has_min(true), r.set_min(x), r.set_has_max(true), r.set_max(x);
          if (v == "ge") r.set_has_min(true), r.set_min(x);
          if (v == "gt") r.set_has_min(true), r.set_min(x + 1);
          if (v == "le") r.set_has_max(true), r.set_max(x);
          if (v == "lt") r.set_has_max(true), r.set_max(x - 1);
        } else if (!parse_int_pattern(ctx, v, r)) {
          return false;
        }
        *out.add_ints() = r;
      }
      break;
    }
    case pb::MATCH_IP:
      for (const auto& v : values) {
        auto net = parse_ip_net(v);
        if (!net) {
          ctx.error("ACL IP pattern: " + net.error);
          return false;
        }
        *out.add_nets() = net.value;
      }
      break;
    case pb::MATCH_REG:
      for (const auto& v : values) {
        if (!check_regex(ctx, v, out.ignore_case(), "ACL pattern")) return false;
        out.add_values(v);
      }
      break;
    default:
      for (auto& v : values) out.add_values(v);
  }
  bool needs_values = match != pb::MATCH_FOUND && match != pb::MATCH_BOOL;
  if (needs_values && out.values_size() == 0 && out.ints_size() == 0 && out.nets_size() == 0) {
    ctx.warning("ACL on '" + spec + "' has no pattern to match against, so it never matches");
  }
  return true;
}

void kw_acl(const line_context& ctx) {
  const auto& w = ctx.words;
  if (w.size() < 3) {
    ctx.error("'acl' expects a name, a fetch and patterns (e.g. 'acl is_api path_beg /api')");
    return;
  }
  const std::string& name = w[1];
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.' || c == ':';
    if (!ok) {
      ctx.error("ACL name '" + name + "' may only contain letters, digits, '-', '_', '.', ':'");
      return;
    }
  }
  pb::AclTerm term;
  auto& p = ctx.proxy();
  if (!parse_acl_term(ctx, std::span(w).subspan(2), term)) {
    p.failed_acls.emplace(name, ctx.where);
    return;
  }
  auto it = p.acl_index.find(name);
  if (it == p.acl_index.end()) {
    pb::Acl acl;
    acl.set_name(name);
    p.acl_index.emplace(name, static_cast<uint32_t>(p.acls.size()));
    p.acls.push_back(std::move(acl));
    it = p.acl_index.find(name);
  }
  *p.acls[it->second].add_terms() = std::move(term);
}

namespace {

// The ACL a condition term names: a declared one, else a predefined one (compiled into the
// proxy on first use).
std::optional<uint32_t> lookup_acl(const line_context& ctx, const std::string& name) {
  auto& p = ctx.proxy();
  if (auto it = p.acl_index.find(name); it != p.acl_index.end()) return it->second;
  if (auto it = p.failed_acls.find(name); it != p.failed_acls.end()) {
    // Its own line was reported already; one error, not one per use.
    return std::nullopt;
  }
  std::string_view def = predefined_acl(name);
  if (def.empty()) {
    std::vector<std::string_view> names;
    for (const auto& a : p.acls) names.push_back(a.name());
    for (auto n : {"TRUE", "FALSE", "HTTP", "METH_GET", "METH_POST", "LOCALHOST"}) {
      names.push_back(n);
    }
    ctx.error("unknown ACL '" + name +
              "' in condition (ACLs must be declared before the line "
              "that uses them)" +
              did_you_mean(name, names));
    return std::nullopt;
  }
  lexed_line body = split_words(def);
  pb::AclTerm term;
  if (!parse_acl_term(ctx, body.words, term)) return std::nullopt;
  pb::Acl acl;
  acl.set_name(name);
  *acl.add_terms() = std::move(term);
  uint32_t index = static_cast<uint32_t>(p.acls.size());
  p.acl_index.emplace(name, index);
  p.acls.push_back(std::move(acl));
  return index;
}

bool acl_is_response_only(const pb::Acl& acl) {
  for (const auto& t : acl.terms()) {
    if (!t.sample().response()) return false;
  }
  return acl.terms_size() > 0;
}

bool acl_is_request_only(const pb::Acl& acl) {
  for (const auto& t : acl.terms()) {
    if (!worker::route::request_only(t.sample().fetch())) return false;
  }
  return acl.terms_size() > 0;
}

bool acl_needs_http(const pb::Acl& acl) {
  for (const auto& t : acl.terms()) {
    if (worker::route::fetch_info(t.sample().fetch()).http) return true;
  }
  return false;
}

}  // namespace

bool parse_condition(const line_context& ctx, size_t first, bool response, pb::Condition& out) {
  const auto& w = ctx.words;
  if (first >= w.size()) return true;
  if (w[first] != "if" && w[first] != "unless") {
    ctx.error("expected 'if' or 'unless' after '" + ctx.keyword(first) + "', got '" + w[first] +
              "'");
    return false;
  }
  out.set_unless(w[first] == "unless");
  *out.mutable_origin() = ctx.origin();
  if (first + 1 >= w.size()) {
    ctx.error("missing condition after '" + w[first] + "'");
    return false;
  }
  pb::Condition::Conjunction* conj = out.add_any();
  bool negate = false;
  auto& p = ctx.proxy();
  for (size_t i = first + 1; i < w.size(); ++i) {
    std::string word = w[i];
    if (word == "or" || word == "||") {
      if (conj->terms_size() == 0 || negate) {
        ctx.error("'" + word + "' must stand between two conditions");
        return false;
      }
      conj = out.add_any();
      continue;
    }
    if (word == "!") {
      negate = !negate;
      continue;
    }
    while (word.size() > 1 && word[0] == '!') {
      negate = !negate;
      word.erase(0, 1);
    }
    std::optional<uint32_t> index;
    if (word == "{") {
      size_t close = i + 1;
      while (close < w.size() && w[close] != "}") ++close;
      if (close >= w.size()) {
        ctx.error(
            "missing '}' to close the anonymous ACL (braces need spaces around them: "
            "'{ path_beg /api }')");
        return false;
      }
      pb::AclTerm term;
      if (!parse_acl_term(ctx, std::span(w).subspan(i + 1, close - i - 1), term)) return false;
      pb::Acl acl;
      acl.set_name("{anonymous:" + std::to_string(ctx.where.line) + "}");
      *acl.add_terms() = std::move(term);
      index = static_cast<uint32_t>(p.acls.size());
      p.acls.push_back(std::move(acl));
      i = close;
    } else if (word.starts_with("{") || word.ends_with("}")) {
      ctx.error(
          "anonymous ACL braces need spaces around them: write '{ " +
          std::string(word.starts_with("{") ? word.substr(1) : word.substr(0, word.size() - 1)) +
          " ... }'");
      return false;
    } else if (word == "if" || word == "unless") {
      ctx.error("unexpected '" + word + "' inside a condition");
      return false;
    } else {
      index = lookup_acl(ctx, word);
      if (!index) return false;
    }
    const pb::Acl& acl = p.acls[*index];
    if (!response && acl_is_response_only(acl)) {
      ctx.warning("ACL '" + acl.name() +
                  "' only involves response fetches, so it never matches "
                  "while processing a request");
    }
    if (response && acl_is_request_only(acl)) {
      ctx.warning("ACL '" + acl.name() +
                  "' only involves request fetches, which are gone once the response "
                  "arrives, so it never matches in a response rule");
    }
    if (acl_needs_http(acl)) note_http_only(ctx);
    auto* term = conj->add_terms();
    term->set_acl(*index);
    term->set_negate(negate);
    negate = false;
  }
  if (conj->terms_size() == 0 || negate) {
    ctx.error("condition ends without an ACL after '" + w.back() + "'");
    return false;
  }
  return true;
}

void note_http_only(const line_context& ctx) {
  ctx.proxy().note_http_only(ctx.where, ctx.words[0]);
}

}  // namespace sluice::master::config
