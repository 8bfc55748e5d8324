#include "worker/route/format.h"

#include <arpa/inet.h>
#include <unistd.h>

#include "worker/route/sample.h"

namespace sluice::worker::route {

namespace pb = sluice::config;

namespace {

struct sample_name {
  std::string_view name;
  pb::Fetch fetch;
  pb::SampleType type;
};

constexpr sample_name sample_names[] = {
    {"hdr", pb::FETCH_REQ_HDR, pb::SAMPLE_STR},
    {"req.hdr", pb::FETCH_REQ_HDR, pb::SAMPLE_STR},
    {"req.fhdr", pb::FETCH_REQ_HDR, pb::SAMPLE_STR},
    {"res.hdr", pb::FETCH_RES_HDR, pb::SAMPLE_STR},
    {"shdr", pb::FETCH_RES_HDR, pb::SAMPLE_STR},
    {"res.fhdr", pb::FETCH_RES_HDR, pb::SAMPLE_STR},
    {"path", pb::FETCH_PATH, pb::SAMPLE_STR},
    {"url", pb::FETCH_URL, pb::SAMPLE_STR},
    {"query", pb::FETCH_QUERY, pb::SAMPLE_STR},
    {"base", pb::FETCH_BASE, pb::SAMPLE_STR},
    {"url_param", pb::FETCH_URL_PARAM, pb::SAMPLE_STR},
    {"urlp", pb::FETCH_URL_PARAM, pb::SAMPLE_STR},
    {"method", pb::FETCH_METHOD, pb::SAMPLE_STR},
    {"req.ver", pb::FETCH_REQ_VER, pb::SAMPLE_STR},
    {"res.ver", pb::FETCH_RES_VER, pb::SAMPLE_STR},
    {"status", pb::FETCH_STATUS, pb::SAMPLE_INT},
    {"src", pb::FETCH_SRC, pb::SAMPLE_IP},
    {"dst", pb::FETCH_DST, pb::SAMPLE_IP},
    {"src_port", pb::FETCH_SRC_PORT, pb::SAMPLE_INT},
    {"dst_port", pb::FETCH_DST_PORT, pb::SAMPLE_INT},
    {"cook", pb::FETCH_REQ_COOK, pb::SAMPLE_STR},
    {"req.cook", pb::FETCH_REQ_COOK, pb::SAMPLE_STR},
    {"nbsrv", pb::FETCH_NBSRV, pb::SAMPLE_INT},
    {"ssl_fc", pb::FETCH_SSL_FC, pb::SAMPLE_BOOL},
    {"hdr_cnt", pb::FETCH_REQ_HDR_CNT, pb::SAMPLE_INT},
    {"req.hdr_cnt", pb::FETCH_REQ_HDR_CNT, pb::SAMPLE_INT},
    {"req.len", pb::FETCH_REQ_LEN, pb::SAMPLE_INT},
};

void append_ip(const peer& p, std::string& out) {
  char buf[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(p.v6 ? AF_INET6 : AF_INET, p.addr.data(), buf, sizeof buf);
  out += buf;
}

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
  for (const auto& s : sample_names) {
    if (s.name != name) continue;
    out.Clear();
    out.set_fetch(s.fetch);
    out.set_type(s.type);
    size_t comma = args.find(',');
    out.set_name(std::string(args.substr(0, comma)));
    bool header = s.fetch == pb::FETCH_REQ_HDR || s.fetch == pb::FETCH_RES_HDR;
    if (header) out.set_occurrence(-1);
    out.set_whole_field(name.find("fhdr") != std::string_view::npos);
    if (comma != std::string_view::npos) {
      out.set_occurrence(static_cast<int32_t>(to_int(args.substr(comma + 1))));
    }
    if (header && name.find("fhdr") == std::string_view::npos && out.occurrence() == 0) {
      out.set_occurrence(-1);
    }
    return true;
  }
  return false;
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
    p.k = kind::alias;
    p.text = std::string(text.substr(j, end - j));
    flush();
    parts_.push_back(std::move(p));
    i = end - 1;
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
      case kind::alias: {
        const std::string& a = p.text;
        if (a == "ci")
          append_ip(t.src, out);
        else if (a == "cp")
          out += std::to_string(t.src.port);
        else if (a == "fi")
          append_ip(t.dst, out);
        else if (a == "fp")
          out += std::to_string(t.dst.port);
        else if (a == "f" || a == "ft")
          out += t.frontend_name;
        else if (a == "b")
          out += t.backend_name;
        else if (a == "s")
          out += t.server_name;
        else if (a == "pid")
          out += std::to_string(::getpid());
        else if (a == "H") {
          char host[256] = {};
          ::gethostname(host, sizeof host - 1);
          out += host;
        } else if (a == "HM" && t.req != nullptr)
          out += t.req->method;
        else if (a == "HU" && t.req != nullptr)
          out += t.req->target;
        else if (a == "HP" && t.req != nullptr)
          out += t.req->path();
        else if (a == "HQ" && t.req != nullptr && t.req->has_query()) {
          out += '?';
          out += t.req->query();
        }
        break;
      }
    }
    for (conv c : p.convs) {
      for (size_t k = start; k < out.size(); ++k) {
        char& ch = out[k];
        if (c == conv::lower && ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch + 32);
        if (c == conv::upper && ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 32);
      }
    }
    if (p.quote) out += '"';
  }
}

}  // namespace sluice::worker::route
