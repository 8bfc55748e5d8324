// Fuzzes the chunked-body validator. The first byte picks the limits and a cut pattern;
// the answer (status, bytes consumed, payload counted) must not depend on how the input
// is cut, down to one byte at a time.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "worker/http/chunked.h"

using sluice::worker::http::chunked_decoder;

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

struct outcome {
  chunked_decoder::status st = chunked_decoder::status::more;
  size_t consumed = 0;
  uint64_t payload = 0;
};

outcome run(std::string_view in, size_t step, size_t max_line, size_t max_trailers) {
  chunked_decoder d(max_line, max_trailers);
  outcome o;
  size_t from = 0;
  while (true) {
    size_t n = std::min(step, in.size() - from);
    auto r = d.feed(in.substr(from, n));
    if (r.st != chunked_decoder::status::more) {
      o.st = r.st;
      o.consumed = from + r.consumed;
      if (r.st == chunked_decoder::status::done) check(r.consumed <= n);
      if (r.st == chunked_decoder::status::error) check(d.why()[0] != '\0');
      break;
    }
    check(r.consumed == n);
    from += n;
    o.consumed = from;
    if (from == in.size()) break;
  }
  o.payload = d.payload_bytes();
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  size_t max_line = 4096, max_trailers = 15360;
  if (data[0] & 1) {
    max_line = 4 + (data[0] >> 1) % 32;
    max_trailers = 8 + data[0];
  }
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);

  outcome whole = run(in, in.size() + 1, max_line, max_trailers);
  for (size_t step : {size_t{1}, size_t{2} + data[0] % 7}) {
    outcome cut = run(in, step, max_line, max_trailers);
    check(cut.st == whole.st);
    check(cut.payload == whole.payload);
    if (whole.st != chunked_decoder::status::error) check(cut.consumed == whole.consumed);
  }
  return 0;
}
