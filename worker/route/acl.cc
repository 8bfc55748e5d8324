#include "worker/route/acl.h"

#include <algorithm>
#include <cstring>

namespace sluice::worker::route {

namespace pb = sluice::config;

namespace {

bool eq(std::string_view a, std::string_view b, bool icase) {
  return icase ? http::iequals(a, b) : a == b;
}

size_t find(std::string_view hay, std::string_view needle, bool icase, size_t from = 0) {
  if (!icase) return hay.find(needle, from);
  if (needle.size() > hay.size()) return std::string_view::npos;
  for (size_t i = from; i + needle.size() <= hay.size(); ++i) {
    if (eq(hay.substr(i, needle.size()), needle, true)) return i;
  }
  return std::string_view::npos;
}

// `-m dom` / `-m dir`: the pattern must appear as whole delimited components.
bool delimited_match(std::string_view v, std::string_view p, bool icase, std::string_view delims) {
  auto is_delim = [&](char c) { return delims.find(c) != std::string_view::npos; };
  // Surrounding delimiters in the pattern are not part of what is looked up.
  while (!p.empty() && is_delim(p.front())) p.remove_prefix(1);
  while (!p.empty() && is_delim(p.back())) p.remove_suffix(1);
  if (p.empty()) return false;
  for (size_t at = find(v, p, icase); at != std::string_view::npos;
       at = find(v, p, icase, at + 1)) {
    bool left = at == 0 || is_delim(v[at - 1]);
    size_t end = at + p.size();
    bool right = end == v.size() || is_delim(v[end]);
    if (left && right) return true;
  }
  return false;
}

bool in_range(const pb::IntRange& r, int64_t n) {
  return (!r.has_min() || n >= r.min()) && (!r.has_max() || n <= r.max());
}

// An IPv4 network also matches a client seen as ::ffff:a.b.c.d on a dual-stack socket.
bool net_contains(const pb::IpNet& net, const peer& raw) {
  peer p = unmapped(raw);
  const std::string& a = net.address();
  if ((a.size() == 16) != p.v6) return false;
  uint32_t bits = net.prefix();
  size_t full = bits / 8;
  if (std::memcmp(a.data(), p.addr.data(), full) != 0) return false;
  if (bits % 8 == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - bits % 8));
  return (static_cast<uint8_t>(a[full]) & mask) == (p.addr[full] & mask);
}

}  // namespace

bool in_networks(const google::protobuf::RepeatedPtrField<pb::IpNet>& nets, const peer& p) {
  for (const auto& net : nets) {
    if (net_contains(net, p)) return true;
  }
  return false;
}

bool value_matches(const pb::AclTerm& term, const std::vector<regex>& regexes,
                   const sample_value& v) {
  const bool icase = term.ignore_case();
  switch (term.match()) {
    case pb::MATCH_FOUND: return true;
    case pb::MATCH_BOOL: return v.type == pb::SAMPLE_STR ? !v.str.empty() : v.num != 0;
    case pb::MATCH_INT: {
      int64_t n = v.type == pb::SAMPLE_STR ? to_int(v.str) : v.num;
      for (const auto& r : term.ints()) {
        if (in_range(r, n)) return true;
      }
      return false;
    }
    case pb::MATCH_LEN: {
      if (v.type != pb::SAMPLE_STR) return false;
      for (const auto& r : term.ints()) {
        if (in_range(r, static_cast<int64_t>(v.str.size()))) return true;
      }
      return false;
    }
    case pb::MATCH_IP: {
      peer p = v.ip;
      if (v.type == pb::SAMPLE_STR && !parse_ip(v.str, p)) return false;
      if (v.type != pb::SAMPLE_STR && v.type != pb::SAMPLE_IP) return false;
      return in_networks(term.nets(), p);
    }
    default: break;
  }
  // String matchers; integers compare through their decimal text as in HAProxy.
  std::string text;
  std::string_view s = v.str;
  if (v.type != pb::SAMPLE_STR) {
    text = std::to_string(v.num);
    s = text;
  }
  if (term.match() == pb::MATCH_REG) {
    for (const auto& re : regexes) {
      if (re.matches(s)) return true;
    }
    return false;
  }
  for (const auto& p : term.values()) {
    switch (term.match()) {
      case pb::MATCH_STR:
        if (eq(s, p, icase)) return true;
        break;
      case pb::MATCH_BEG:
        if (s.size() >= p.size() && eq(s.substr(0, p.size()), p, icase)) return true;
        break;
      case pb::MATCH_END:
        if (s.size() >= p.size() && eq(s.substr(s.size() - p.size()), p, icase)) return true;
        break;
      case pb::MATCH_SUB:
        if (find(s, p, icase) != std::string_view::npos) return true;
        break;
      case pb::MATCH_DOM:
        if (delimited_match(s, p, icase, "/?.:")) return true;
        break;
      case pb::MATCH_DIR:
        if (delimited_match(s, p, icase, "/?")) return true;
        break;
      default: return false;
    }
  }
  return false;
}

acl_set::acl_set(const google::protobuf::RepeatedPtrField<pb::Acl>& acls, std::string* error) {
  acls_.reserve(static_cast<size_t>(acls.size()));
  for (const auto& a : acls) {
    acl compiled;
    for (const auto& t : a.terms()) {
      term tm{&t, {}};
      if (t.match() == pb::MATCH_REG) {
        for (const auto& p : t.values()) {
          std::string why;
          if (auto re = regex::compile(p, t.ignore_case(), why)) {
            tm.regexes.push_back(std::move(*re));
          } else if (error != nullptr) {
            *error = "acl '" + a.name() + "': regex '" + p + "': " + why;
          }
        }
      }
      compiled.terms.push_back(std::move(tm));
    }
    acls_.push_back(std::move(compiled));
  }
}

bool acl_set::term_matches(const term& tm, const txn& t) const {
  values_.clear();
  fetch(tm.cfg->sample(), t, values_, scratch_);
  const bool no_patterns = tm.cfg->values().empty() && tm.cfg->ints().empty() &&
                           tm.cfg->nets().empty() && tm.cfg->match() != pb::MATCH_FOUND;
  for (const auto& v : values_) {
    // A boolean fetch without patterns (`acl x ssl_fc`) matches when it is true.
    if (no_patterns) {
      if (tm.cfg->match() == pb::MATCH_BOOL || v.type == pb::SAMPLE_BOOL) {
        if (v.num != 0) return true;
      }
      continue;
    }
    if (value_matches(*tm.cfg, tm.regexes, v)) return true;
  }
  return false;
}

bool acl_set::matches(uint32_t index, const txn& t) const {
  if (index >= acls_.size()) return false;
  for (const auto& tm : acls_[index].terms) {
    if (term_matches(tm, t)) return true;
  }
  return false;
}

bool acl_set::holds(const pb::Condition& c, const txn& t) const {
  bool any = false;
  for (const auto& conj : c.any()) {
    bool all = true;
    for (const auto& term : conj.terms()) {
      if (matches(term.acl(), t) == term.negate()) {
        all = false;
        break;
      }
    }
    if (all) {
      any = true;
      break;
    }
  }
  return c.unless() ? !any : any;
}

}  // namespace sluice::worker::route
