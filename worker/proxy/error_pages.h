#pragma once
// The responses the proxy generates itself: HAProxy's built-in error pages (same status
// lines and texts, so monitoring that greps them keeps working), replaced by a proxy's
// `errorfile` when it has one for the status.

#include <string>

#include "proto/config.pb.h"
#include "worker/route/http_rules.h"

namespace sluice::worker::proxy {

// The built-in page for `status` as a complete response. `close` adds `connection: close`.
std::string builtin_error(unsigned status, bool close);

// The errorfile for `status` from the backend (when the request reached one) or the
// frontend, else the built-in page.
std::string error_response(unsigned status, const sluice::config::Frontend& fe,
                           const sluice::config::Backend* be, bool close);

// Serializes a reply produced by rules (deny, return, redirect) for an HTTP/1.x client.
std::string render_reply(const route::reply& r, const sluice::config::Frontend& fe,
                         const sluice::config::Backend* be, bool close);

}  // namespace sluice::worker::proxy
