// Fuzzes the request head parser. The first byte picks the limits; the rest is the head.
// Besides crashes, it traps on broken promises: a complete head was "incomplete" at every
// shorter prefix, fits the limits, and parses again the same once serialized.
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
  limits lim;
  if (data[0] & 1) {
    lim.max_head = 16 + data[0];
    lim.max_headers = 1 + (data[0] >> 1) % 8;
  }
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);

  request req;
  parse_result r = parse_request(in, lim, req);
  switch (r.status) {
    case parse_status::incomplete: check(in.size() <= lim.max_head); break;
    case parse_status::error:
      check(r.http_status == 400 || r.http_status == 422 || r.http_status == 505);
      check(r.why != nullptr && r.why[0] != '\0');
      break;
    case parse_status::complete: {
      check(r.consumed <= in.size() && r.consumed <= lim.max_head);
      request scratch;
      for (size_t n : {r.consumed - 1, r.consumed / 2}) {
        check(parse_request(in.substr(0, n), lim, scratch).status == parse_status::incomplete);
      }
      (void)req.path();
      (void)req.query();
      (void)req.authority();
      check(req.body != body_kind::length || req.content_length > 0);

      std::string out;
      serialize(req, out);
      limits roomy = lim;
      roomy.max_head = out.size();
      request again;
      parse_result r2 = parse_request(out, roomy, again);
      check(r2.status == parse_status::complete && r2.consumed == out.size());
      check(again.method == req.method && again.target == req.target);
      check(again.version_minor == req.version_minor);
      check(again.body == req.body && again.content_length == req.content_length);
      check(again.keep_alive == req.keep_alive && again.upgrade == req.upgrade);
      check(again.headers.fields.size() == req.headers.fields.size());
      for (size_t i = 0; i < req.headers.fields.size(); ++i) {
        check(again.headers.fields[i].name == req.headers.fields[i].name);
        check(again.headers.fields[i].value == req.headers.fields[i].value);
      }
      break;
    }
  }
  return 0;
}
