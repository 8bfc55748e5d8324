#pragma once
// Strict HTTP/1.x head parsers (request smuggling defence). They do no I/O: given the bytes
// received so far they say "need more", "here is the head, it took N bytes", or "bad
// message, answer with status S". Bodies are not touched; see chunked.h.
//
// What is refused and with which status follows HAProxy 2.6 unless docs/http.md says
// otherwise (responses: the session turns every error into a 502).

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "worker/http/message.h"

namespace sluice::worker::http {

struct limits {
  size_t max_head = 16384 - 1024;  // tune.bufsize - tune.maxrewrite
  uint32_t max_headers = 101;      // tune.http.maxhdr
};

enum class parse_status { incomplete, complete, error };

struct parse_result {
  parse_status status = parse_status::incomplete;
  size_t consumed = 0;       // complete: size of the head, empty line included
  unsigned http_status = 0;  // error: what to answer (400, 414, 501, 505, ...)
  const char* why = "";      // error: a short static text for the log ("bad header name")
};

// Parses a request head at the start of `data`. Empty lines before the request line are
// skipped (counted in `consumed`). On `complete`, `out` is filled; otherwise what it holds
// is unspecified. On `incomplete`, call again with more bytes (everything from the start).
parse_result parse_request(std::string_view data, const limits& lim, request& out);

// What the response answers: decides whether a body follows (HEAD, CONNECT).
struct request_context {
  bool head = false;
  bool connect = false;
};

parse_result parse_response(std::string_view data, const limits& lim, const request_context& req,
                            response& out);

}  // namespace sluice::worker::http
