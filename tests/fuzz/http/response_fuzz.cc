// Fuzzes the response head parser. The first byte picks the request it answers (HEAD,
// CONNECT) and the limits; the rest is the head. Traps on broken promises as the request
// target does, and on any error status other than 502.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "worker/http/parser.h"

using namespace sluice::worker::http;

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  request_context ctx;
  ctx.head = data[0] & 2;
  ctx.connect = data[0] & 4;
  limits lim;
  if (data[0] & 1) {
    lim.max_head = 16 + data[0];
    lim.max_headers = 1 + (data[0] >> 3) % 8;
  }
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);

  response resp;
  parse_result r = parse_response(in, lim, ctx, resp);
  switch (r.status) {
    case parse_status::incomplete: check(in.size() <= lim.max_head); break;
    case parse_status::error:
      check(r.http_status == 502);
      check(r.why != nullptr && r.why[0] != '\0');
      break;
    case parse_status::complete: {
      check(r.consumed <= in.size() && r.consumed <= lim.max_head);
      check(resp.status >= 100 && resp.status <= 599);
      check(resp.body != body_kind::until_close || !resp.keep_alive);
      if (ctx.head || resp.status < 200 || resp.status == 204 || resp.status == 304) {
        check(resp.body == body_kind::none);
      }
      response scratch;
      for (size_t n : {r.consumed - 1, r.consumed / 2}) {
        check(parse_response(in.substr(0, n), lim, ctx, scratch).status ==
              parse_status::incomplete);
      }

      std::string out;
      serialize(resp, out);
      limits roomy = lim;
      roomy.max_head = out.size();
      response again;
      parse_result r2 = parse_response(out, roomy, ctx, again);
      check(r2.status == parse_status::complete && r2.consumed == out.size());
      check(again.status == resp.status && again.reason == resp.reason);
      check(again.body == resp.body && again.content_length == resp.content_length);
      check(again.headers.fields.size() == resp.headers.fields.size());
      for (size_t i = 0; i < resp.headers.fields.size(); ++i) {
        check(again.headers.fields[i].name == resp.headers.fields[i].name);
        check(again.headers.fields[i].value == resp.headers.fields[i].value);
      }
      break;
    }
  }
  return 0;
}
