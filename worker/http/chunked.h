#pragma once
// Validates a chunked body as it streams by, so the session knows where the message ends
// and can forward the bytes unchanged. No I/O, no allocation; fed any split of the input.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sluice::worker::http {

class chunked_decoder {
 public:
  enum class status { more, done, error };
  struct result {
    status st = status::more;
    // Bytes of `in` that belong to the body (all of them for `more`; up to and including
    // the final CRLF after the trailers for `done`; unspecified for `error`).
    size_t consumed = 0;
  };

  // `max_line` bounds a chunk-size line (extensions included) and each trailer line;
  // `max_trailers` bounds the whole trailer section.
  explicit chunked_decoder(size_t max_line = 4096, size_t max_trailers = 15360)
      : max_line_(max_line), max_trailers_(max_trailers) {}

  result feed(std::string_view in);

  uint64_t payload_bytes() const { return payload_; }
  const char* why() const { return why_; }  // after an error: "bad chunk size", ...
  void reset() { *this = chunked_decoder(max_line_, max_trailers_); }

 private:
  enum class phase : uint8_t {
    size,       // chunk-size digits
    size_bws,   // whitespace after the digits
    extension,  // `;...` up to the line end
    size_lf,    // CR seen at the end of the size line
    data,       // `remaining_` payload bytes left
    data_cr,    // CRLF after the payload
    data_lf,
    trailer_start,  // first byte of a trailer line (or of the final empty line)
    trailer_name,
    trailer_value,
    trailer_lf,
    final_lf,  // CR of the final empty line seen
    done,
    failed,
  };

  // Consumes one byte outside the payload; false on error.
  bool byte(unsigned char c);
  bool fail(const char* why);
  void end_size_line();

  size_t max_line_;
  size_t max_trailers_;
  uint64_t payload_ = 0;
  phase state_ = phase::size;
  uint64_t remaining_ = 0;  // size line: the size read so far; data: bytes left
  size_t line_len_ = 0;
  size_t trailer_len_ = 0;
  unsigned digits_ = 0;
  bool saw_trailer_ = false;  // obs-fold needs a field to continue
  const char* why_ = "";
};

}  // namespace sluice::worker::http
