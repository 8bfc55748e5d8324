#include "worker/route/sample.h"

#include <arpa/inet.h>

#include <cstring>

#include "worker/route/fetches.h"

namespace sluice::worker::route {

namespace pb = sluice::config;

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Header values as HAProxy's hdr() sees them: every comma-separated element of every
// field named `name` (all fields when `name` is empty), or only the Nth (negative: from
// the last) when `occurrence` says so.
void header_values(const http::header_list& h, const pb::Sample& s,
                   std::vector<sample_value>& out) {
  // Reused between calls: one worker thread, no allocation once it has grown.
  thread_local std::vector<std::string_view> all;
  all.clear();
  for (const auto& f : h.fields) {
    if (!s.name().empty() && !http::iequals(f.name, s.name())) continue;
    std::string_view v = f.value;
    if (s.whole_field()) {
      all.push_back(v);
      continue;
    }
    for (;;) {
      size_t comma = v.find(',');
      all.push_back(trim(v.substr(0, comma)));
      if (comma == std::string_view::npos) break;
      v.remove_prefix(comma + 1);
    }
  }
  auto push = [&](std::string_view v) {
    sample_value sv;
    sv.str = v;
    out.push_back(sv);
  };
  int32_t occ = s.occurrence();
  if (occ == 0) {
    for (auto v : all) push(v);
  } else if (occ > 0 && static_cast<size_t>(occ) <= all.size()) {
    push(all[static_cast<size_t>(occ) - 1]);
  } else if (occ < 0 && static_cast<size_t>(-occ) <= all.size()) {
    push(all[all.size() - static_cast<size_t>(-occ)]);
  }
}

size_t header_count(const http::header_list& h, std::string_view name) {
  size_t n = 0;
  for (const auto& f : h.fields) {
    if (!name.empty() && !http::iequals(f.name, name)) continue;
    std::string_view v = f.value;
    n += 1;
    for (char c : v) n += c == ',';
  }
  return n;
}

std::string_view version_text(unsigned minor) {
  return minor == 0 ? "1.0" : "1.1";
}

void push_str(std::vector<sample_value>& out, std::string_view v) {
  sample_value sv;
  sv.str = v;
  out.push_back(sv);
}

void push_int(std::vector<sample_value>& out, int64_t n, pb::SampleType t = pb::SAMPLE_INT) {
  sample_value sv;
  sv.type = t;
  sv.num = n;
  out.push_back(sv);
}

}  // namespace

int64_t to_int(std::string_view s) {
  s = trim(s);
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  int64_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') break;
    if (n > (INT64_MAX - 9) / 10) break;
    n = n * 10 + (c - '0');
  }
  return neg ? -n : n;
}

peer unmapped(const peer& p) {
  static constexpr uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (!p.v6 || std::memcmp(p.addr.data(), prefix, 12) != 0) return p;
  peer q;
  std::memcpy(q.addr.data(), p.addr.data() + 12, 4);
  q.port = p.port;
  return q;
}

void append_ip(const peer& p, std::string& out) {
  char buf[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(p.v6 ? AF_INET6 : AF_INET, p.addr.data(), buf, sizeof buf);
  out += buf;
}

bool parse_ip(std::string_view text, peer& out) {
  char buf[64];
  if (text.size() >= sizeof buf) return false;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  out = peer{};
  if (::inet_pton(AF_INET, buf, out.addr.data()) == 1) return true;
  if (::inet_pton(AF_INET6, buf, out.addr.data()) == 1) {
    out.v6 = true;
    return true;
  }
  return false;
}

bool find_url_param(std::string_view query, std::string_view name, std::string_view& value) {
  while (!query.empty()) {
    size_t amp = query.find_first_of("&;");
    std::string_view pair = query.substr(0, amp);
    size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name) {
      value = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
      return true;
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return false;
}

bool find_cookie(std::string_view header, std::string_view name, std::string_view& value) {
  while (!header.empty()) {
    size_t semi = header.find(';');
    std::string_view pair = trim(header.substr(0, semi));
    size_t eq = pair.find('=');
    if (eq != std::string_view::npos && trim(pair.substr(0, eq)) == name) {
      value = trim(pair.substr(eq + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      return true;
    }
    if (semi == std::string_view::npos) break;
    header.remove_prefix(semi + 1);
  }
  return false;
}

void fetch(const pb::Sample& s, const txn& t, std::vector<sample_value>& out,
           std::string& scratch) {
  // As in HAProxy, the request's contents are gone once the response is being processed.
  if (t.res != nullptr && request_only(s.fetch())) return;
  const http::request* rq = t.req;
  const http::response* rs = t.res;
  switch (s.fetch()) {
    case pb::FETCH_REQ_HDR:
      if (rq != nullptr) header_values(rq->headers, s, out);
      break;
    case pb::FETCH_RES_HDR:
      if (rs != nullptr) header_values(rs->headers, s, out);
      break;
    case pb::FETCH_REQ_HDR_CNT:
      if (rq != nullptr) push_int(out, static_cast<int64_t>(header_count(rq->headers, s.name())));
      break;
    case pb::FETCH_RES_HDR_CNT:
      if (rs != nullptr) push_int(out, static_cast<int64_t>(header_count(rs->headers, s.name())));
      break;
    case pb::FETCH_REQ_HDR_VAL:
      if (rq != nullptr) {
        thread_local std::vector<sample_value> strs;
        strs.clear();
        header_values(rq->headers, s, strs);
        for (const auto& v : strs) push_int(out, to_int(v.str));
      }
      break;
    case pb::FETCH_PATH:
      if (rq != nullptr) push_str(out, rq->path());
      break;
    case pb::FETCH_URL:
      if (rq != nullptr) push_str(out, rq->target);
      break;
    case pb::FETCH_QUERY:
      if (rq != nullptr && rq->has_query()) push_str(out, rq->query());
      break;
    case pb::FETCH_BASE:
      if (rq != nullptr) {
        // Host header then path: what HAProxy calls the request's "base".
        const std::string* host = rq->headers.get("host");
        scratch.assign(host != nullptr ? *host : std::string());
        scratch.append(rq->path());
        push_str(out, scratch);
      }
      break;
    case pb::FETCH_URL_PARAM:
      if (rq != nullptr) {
        std::string_view v;
        if (find_url_param(rq->query(), s.name(), v)) push_str(out, v);
      }
      break;
    case pb::FETCH_REQ_COOK:
      if (rq != nullptr) {
        for (const auto& f : rq->headers.fields) {
          if (!http::iequals(f.name, "cookie")) continue;
          std::string_view v;
          if (find_cookie(f.value, s.name(), v)) push_str(out, v);
        }
      }
      break;
    case pb::FETCH_METHOD:
      if (rq != nullptr) push_str(out, rq->method);
      break;
    case pb::FETCH_REQ_VER:
      if (rq != nullptr) push_str(out, version_text(rq->version_minor));
      break;
    case pb::FETCH_RES_VER:
      if (rs != nullptr) push_str(out, version_text(rs->version_minor));
      break;
    case pb::FETCH_STATUS:
      if (rs != nullptr) push_int(out, rs->status);
      break;
    case pb::FETCH_SRC:
    case pb::FETCH_DST: {
      sample_value sv;
      sv.type = pb::SAMPLE_IP;
      sv.ip = s.fetch() == pb::FETCH_SRC ? t.src : t.dst;
      out.push_back(sv);
      break;
    }
    case pb::FETCH_SRC_PORT: push_int(out, t.src.port); break;
    case pb::FETCH_DST_PORT: push_int(out, t.dst.port); break;
    case pb::FETCH_SSL_FC: push_int(out, t.tls != nullptr ? 1 : 0, pb::SAMPLE_BOOL); break;
    case pb::FETCH_SSL_FC_SNI:
      if (t.tls != nullptr && !t.tls->sni.empty()) push_str(out, t.tls->sni);
      break;
    case pb::FETCH_SSL_FC_PROTOCOL:
      if (t.tls != nullptr) push_str(out, t.tls->protocol);
      break;
    case pb::FETCH_SSL_FC_CIPHER:
      if (t.tls != nullptr) push_str(out, t.tls->cipher);
      break;
    case pb::FETCH_SSL_FC_ALPN:
      if (t.tls != nullptr && !t.tls->alpn.empty()) push_str(out, t.tls->alpn);
      break;
    case pb::FETCH_SSL_FC_IS_RESUMED:
      if (t.tls != nullptr) push_int(out, t.tls->resumed ? 1 : 0, pb::SAMPLE_BOOL);
      break;
    case pb::FETCH_STR: push_str(out, s.name()); break;
    case pb::FETCH_REQ_LEN: push_int(out, static_cast<int64_t>(t.req_len)); break;
    case pb::FETCH_ALWAYS_TRUE: push_int(out, 1, pb::SAMPLE_BOOL); break;
    case pb::FETCH_ALWAYS_FALSE: push_int(out, 0, pb::SAMPLE_BOOL); break;
    case pb::FETCH_REQ_PROTO_HTTP: push_int(out, rq != nullptr ? 1 : 0, pb::SAMPLE_BOOL); break;
    case pb::FETCH_NBSRV:
      if (t.nbsrv) {
        int64_t n = t.nbsrv(s.name());
        if (n >= 0) push_int(out, n);
      }
      break;
    default: break;
  }
}

}  // namespace sluice::worker::route
