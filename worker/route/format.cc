#include "worker/route/format.h"

#include <arpa/inet.h>
#include <unistd.h>

#include "worker/route/fetches.h"
#include "worker/route/sample.h"

namespace sluice::worker::route {

namespace pb = sluice::config;

namespace {

void append_value(const sample_value& v, std::string& out) {
  switch (v.type) {
    case pb::SAMPLE_STR: out.append(v.str); break;
    case pb::SAMPLE_IP: append_ip(v.ip, out); break;
    default: out += std::to_string(v.num); break;
  }
}

}  // namespace

bool parse_sample_expr(std::string_view expr, pb::Sample& out) {
  std::string_view name = expr, args;
  size_t open = expr.find('(');
  if (open != std::string_view::npos) {
    if (expr.back() != ')') return false;
    name = expr.substr(0, open);
    args = expr.substr(open + 1, expr.size() - open - 2);
  }
  const fetch_def* def = find_fetch(name);
  if (def == nullptr) return false;
  out.Clear();
  out.set_fetch(def->fetch);
  out.set_type(def->type);
  out.set_whole_field(def->whole_field);
  size_t comma = args.find(',');
  out.set_name(std::string(args.substr(0, comma)));
  // As a sample (not an ACL), a header fetch gives its last occurrence unless told.
  bool header = def->fetch == pb::FETCH_REQ_HDR || def->fetch == pb::FETCH_RES_HDR;
  if (header) out.set_occurrence(-1);
  if (comma != std::string_view::npos) {
    out.set_occurrence(static_cast<int32_t>(to_int(args.substr(comma + 1))));
  }
  if (header && !def->whole_field && out.occurrence() == 0) out.set_occurrence(-1);
  return true;
}

format::format(std::string_view text) {
  std::string lit;
  auto flush = [&] {
    if (lit.empty()) return;
    part p;
    p.text = std::move(lit);
    parts_.push_back(std::move(p));
    lit.clear();
  };
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c != '%' || i + 1 == text.size()) {
      lit += c;
      continue;
    }
    if (text[i + 1] == '%') {
      lit += '%';
      ++i;
      continue;
    }
    part p;
    size_t j = i + 1;
    if (text[j] == '{') {
      size_t close = text.find('}', j);
      if (close == std::string_view::npos) {
        lit += text.substr(i);
        break;
      }
      p.quote = text.substr(j, close - j).find("+Q") != std::string_view::npos;
      j = close + 1;
    }
    if (j < text.size() && text[j] == '[') {
      size_t close = text.find(']', j);
      if (close == std::string_view::npos) {
        lit += text.substr(i);
        break;
      }
      std::string_view expr = text.substr(j + 1, close - j - 1);
      // Converters follow the fetch, comma-separated, outside its parentheses.
      size_t paren = expr.find(')');
      size_t conv_at = expr.find(',', paren == std::string_view::npos ? 0 : paren);
      std::string_view fetch_expr = expr.substr(0, conv_at);
      p.k = kind::sample;
      if (!parse_sample_expr(fetch_expr, p.sample)) p.sample.set_fetch(pb::FETCH_UNSPECIFIED);
      while (conv_at != std::string_view::npos) {
        size_t next = expr.find(',', conv_at + 1);
        std::string_view cv = expr.substr(conv_at + 1, next - conv_at - 1);
        if (cv == "lower") p.convs.push_back(conv::lower);
        if (cv == "upper") p.convs.push_back(conv::upper);
        conv_at = next;
      }
      flush();
      parts_.push_back(std::move(p));
      i = close;
      continue;
    }
    size_t end = j;
    while (end < text.size() &&
           ((text[end] >= 'a' && text[end] <= 'z') || (text[end] >= 'A' && text[end] <= 'Z'))) {
      ++end;
    }
    std::string_view name = text.substr(j, end - j);
    i = end - 1;
    // Constant for the worker's life: part of the literal text.
    if (name == "pid" || name == "H") {
      char host[256] = {};
      if (name == "H") ::gethostname(host, sizeof host - 1);
      if (p.quote) lit += '"';
      lit += name == "pid" ? std::to_string(::getpid()) : std::string(host);
      if (p.quote) lit += '"';
      continue;
    }
    static constexpr std::pair<std::string_view, alias> names[] = {
        {"ci", alias::client_ip},     {"cp", alias::client_port}, {"fi", alias::frontend_ip},
        {"fp", alias::frontend_port}, {"f", alias::frontend},     {"ft", alias::frontend},
        {"b", alias::backend},        {"s", alias::server},       {"HM", alias::method},
        {"HU", alias::uri},           {"HP", alias::path},        {"HQ", alias::query},
        {"sslv", alias::ssl_version}, {"sslc", alias::ssl_cipher}};
    p.k = kind::alias;
    for (const auto& [n, a] : names) {
      if (n == name) p.a = a;
    }
    flush();
    parts_.push_back(std::move(p));
  }
  flush();
}

void format::render(const txn& t, std::string& out) const {
  thread_local std::vector<sample_value> values;
  thread_local std::string scratch;
  for (const auto& p : parts_) {
    size_t start = out.size();
    if (p.quote) out += '"';
    switch (p.k) {
      case kind::text: out += p.text; break;
      case kind::sample: {
        values.clear();
        fetch(p.sample, t, values, scratch);
        if (!values.empty()) append_value(values.back(), out);
        break;
      }
      case kind::alias:
        switch (p.a) {
          case alias::client_ip: append_ip(t.src, out); break;
          case alias::client_port: out += std::to_string(t.src.port); break;
          case alias::frontend_ip: append_ip(t.dst, out); break;
          case alias::frontend_port: out += std::to_string(t.dst.port); break;
          case alias::frontend: out += t.frontend_name; break;
          case alias::backend: out += t.backend_name; break;
          case alias::server: out += t.server_name; break;
          case alias::method:
            if (t.req != nullptr) out += t.req->method;
            break;
          case alias::uri:
            if (t.req != nullptr) out += t.req->target;
            break;
          case alias::path:
            if (t.req != nullptr) out += t.req->path();
            break;
          case alias::query:
            if (t.req != nullptr && t.req->has_query()) {
              out += '?';
              out += t.req->query();
            }
            break;
          // "-" without TLS, as HAProxy's log fields.
          case alias::ssl_version: out += t.tls != nullptr ? t.tls->protocol : "-"; break;
          case alias::ssl_cipher: out += t.tls != nullptr ? t.tls->cipher : "-"; break;
          case alias::unknown: break;
        }
        break;
    }
    for (conv c : p.convs) {
      for (size_t k = start; k < out.size(); ++k) {
        char& ch = out[k];
        if (c == conv::lower) ch = http::ascii_lower(ch);
        if (c == conv::upper && ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 32);
      }
    }
    if (p.quote) out += '"';
  }
}

}  // namespace sluice::worker::route
