#pragma once
// HTTP health checks (`option httpchk`, `http-check send|expect`): the request a check
// sends, and the verdict on what the server answered. No I/O here.

#include <string>
#include <string_view>

#include "proto/config.pb.h"

namespace sluice::health {

// The request bytes: request line, the configured headers, `Connection: close` (a check
// is one request per connection), and the body with its Content-Length.
std::string build_check_request(const sluice::config::HttpCheck& hc);

struct check_verdict {
  bool ok = false;
  bool complete = false;  // false: need more bytes before a verdict
  int status = 0;         // 0 when no status line was read
  std::string reason;     // why it failed, HAProxy-style ("Layer7 wrong status")
};

// Judges `response` (the bytes read so far; `closed` when the server has closed). Status
// expectations decide as soon as the status line is in; body expectations wait for the
// whole response (close) or the size cap.
check_verdict judge_check_response(const sluice::config::HttpCheck& hc, std::string_view response,
                                   bool closed);

}  // namespace sluice::health
