// chunked-body = *chunk last-chunk trailer-section CRLF (RFC 9112 7.1), checked one byte at a
// time outside the payload so that any split of the input gives the same answer. Bare LF
// ends the size line and trailer lines, as HAProxy accepts; the CRLF after chunk data must
// be exact, since that is where a body's end is most often disputed.
#include "worker/http/chunked.h"

#include <algorithm>

#include "worker/http/bytes.h"

namespace sluice::worker::http {
namespace {

// More hex digits than this can only be padding or an attack.
constexpr unsigned max_size_digits = 16;

int hex_value(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

using bytes::is_tchar;
using bytes::is_value_byte;  // chunk extension values and trailer fields, as in heads

}  // namespace

bool chunked_decoder::fail(const char* why) {
  why_ = why;
  state_ = phase::failed;
  return false;
}

void chunked_decoder::end_size_line() {
  line_len_ = 0;
  digits_ = 0;
  state_ = remaining_ == 0 ? phase::trailer_start : phase::data;
}

bool chunked_decoder::byte(unsigned char c) {
  if (++line_len_ > max_line_) {
    return fail(state_ >= phase::trailer_start ? "trailer line too long" : "chunk line too long");
  }
  if (state_ >= phase::trailer_start && ++trailer_len_ > max_trailers_) {
    return fail("trailers too large");
  }
  switch (state_) {
    case phase::size: {
      int v = hex_value(c);
      if (v >= 0) {
        if (++digits_ > max_size_digits) return fail("chunk size too large");
        remaining_ = remaining_ << 4 | static_cast<uint64_t>(v);
        // Sizes stay below 2^63 like Content-Length, so every count fits a signed offset.
        if (remaining_ >> 63) return fail("chunk size too large");
        return true;
      }
      if (digits_ == 0) return fail("bad chunk size");
      [[fallthrough]];
    }
    case phase::size_bws:
      if (c == ' ' || c == '\t') {
        state_ = phase::size_bws;
      } else if (c == ';') {
        state_ = phase::extension;
      } else if (c == '\r') {
        state_ = phase::size_lf;
      } else if (c == '\n') {
        end_size_line();
      } else {
        return fail("bad chunk size");
      }
      return true;
    case phase::extension:
      if (c == '\r') {
        state_ = phase::size_lf;
      } else if (c == '\n') {
        end_size_line();
      } else if (!is_value_byte(c)) {
        return fail("bad chunk extension");
      }
      return true;
    case phase::size_lf:
      if (c != '\n') return fail("bad chunk size line end");
      end_size_line();
      return true;
    case phase::data_cr:
      if (c != '\r') return fail("bad chunk data end");
      state_ = phase::data_lf;
      return true;
    case phase::data_lf:
      if (c != '\n') return fail("bad chunk data end");
      state_ = phase::size;
      line_len_ = 0;
      return true;
    case phase::trailer_start:
      if (c == '\r') {
        state_ = phase::final_lf;
      } else if (c == '\n') {
        state_ = phase::done;
      } else if (c == ' ' || c == '\t') {
        // obs-fold continues the previous trailer field.
        if (!saw_trailer_) return fail("bad trailer field");
        state_ = phase::trailer_value;
      } else if (is_tchar(c)) {
        saw_trailer_ = true;
        state_ = phase::trailer_name;
      } else {
        return fail("bad trailer field");
      }
      return true;
    case phase::trailer_name:
      if (c == ':') {
        state_ = phase::trailer_value;
      } else if (!is_tchar(c)) {
        return fail("bad trailer field");
      }
      return true;
    case phase::trailer_value:
      if (c == '\r') {
        state_ = phase::trailer_lf;
      } else if (c == '\n') {
        state_ = phase::trailer_start;
        line_len_ = 0;
      } else if (!is_value_byte(c)) {
        return fail("bad trailer field");
      }
      return true;
    case phase::trailer_lf:
      if (c != '\n') return fail("bad trailer field");
      state_ = phase::trailer_start;
      line_len_ = 0;
      return true;
    case phase::final_lf:
      if (c != '\n') return fail("bad final line end");
      state_ = phase::done;
      return true;
    case phase::data:
    case phase::done:
    case phase::failed: break;
  }
  return fail("bad chunk state");
}

chunked_decoder::result chunked_decoder::feed(std::string_view in) {
  if (state_ == phase::done) return {status::done, 0};
  if (state_ == phase::failed) return {status::error, 0};
  size_t i = 0;
  while (i < in.size()) {
    if (state_ == phase::data) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, in.size() - i));
      i += n;
      remaining_ -= n;
      payload_ += n;
      if (remaining_ == 0) state_ = phase::data_cr;
      continue;
    }
    if (!byte(static_cast<unsigned char>(in[i++]))) return {status::error, i};
    if (state_ == phase::done) return {status::done, i};
  }
  return {status::more, in.size()};
}

}  // namespace sluice::worker::http
