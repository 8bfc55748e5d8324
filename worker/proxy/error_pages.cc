#include "worker/proxy/error_pages.h"

#include <string_view>

#include "worker/http/message.h"

namespace sluice::worker::proxy {

namespace {

std::string_view page_text(unsigned status) {
  switch (status) {
    case 200: return "Service ready.";
    case 400: return "Your browser sent an invalid request.";
    case 401: return "You need a valid user and password to access this content.";
    case 403: return "Request forbidden by administrative rules.";
    case 404: return "The resource could not be found.";
    case 405:
      return "A request was made of a resource using a request method not supported by that "
             "resource";
    case 407: return "You need a valid user and password to access this content.";
    case 408: return "Your browser didn't send a complete request in time.";
    case 410: return "The resource is no longer available and will not be available again.";
    case 413: return "The request is too large.";
    case 414: return "The request URI is too long.";
    case 425: return "Your browser sent early data.";
    case 429: return "You have sent too many requests in a given amount of time.";
    case 431: return "The request header fields are too large.";
    case 500: return "An internal server error occurred.";
    case 501:
      return "The server does not support the functionality required to fulfill the request.";
    case 502: return "The server returned an invalid or incomplete response.";
    case 503: return "No server is available to handle this request.";
    case 504: return "The server didn't respond in time.";
    case 505: return "The HTTP version used in the request is not supported.";
    default: return "";
  }
}

const std::string* find_errorfile(
    unsigned status, const google::protobuf::RepeatedPtrField<sluice::config::ErrorFile>& files) {
  for (const auto& f : files) {
    if (f.status() == status) return &f.contents();
  }
  return nullptr;
}

}  // namespace

std::string builtin_error(unsigned status, bool close) {
  std::string_view reason = http::reason_phrase(status);
  std::string body = "<html><body><h1>" + std::to_string(status) + " " + std::string(reason) +
                     "</h1>\n" + std::string(page_text(status)) + "\n</body></html>\n";
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) + "\r\n";
  out += "content-length: " + std::to_string(body.size()) + "\r\n";
  out += "cache-control: no-cache\r\ncontent-type: text/html\r\n";
  if (close) out += "connection: close\r\n";
  out += "\r\n";
  out += body;
  return out;
}

std::string error_response(unsigned status, const sluice::config::Frontend& fe,
                           const sluice::config::Backend* be, bool close) {
  const std::string* file = be != nullptr ? find_errorfile(status, be->errorfiles()) : nullptr;
  if (file == nullptr) file = find_errorfile(status, fe.errorfiles());
  if (file != nullptr) return *file;
  return builtin_error(status, close);
}

std::string render_reply(const route::reply& r, const sluice::config::Frontend& fe,
                         const sluice::config::Backend* be, bool close) {
  if (!r.raw.empty()) return r.raw;
  if (r.error_page && r.headers.empty()) return error_response(r.status, fe, be, close);
  std::string_view reason = http::reason_phrase(r.status);
  std::string out = "HTTP/1.1 " + std::to_string(r.status) + " " + std::string(reason) + "\r\n";
  std::string body = r.body;
  std::string type = r.content_type;
  if (r.error_page && body.empty()) {
    // deny with extra headers: the built-in page's body, the rule's headers.
    std::string page = builtin_error(r.status, false);
    body = page.substr(page.find("\r\n\r\n") + 4);
    type = "text/html";
  }
  out += "content-length: " + std::to_string(body.size()) + "\r\n";
  if (!type.empty()) out += "content-type: " + type + "\r\n";
  for (const auto& [n, v] : r.headers) out += n + ": " + v + "\r\n";
  if (close) out += "connection: close\r\n";
  out += "\r\n";
  out += body;
  return out;
}

}  // namespace sluice::worker::proxy
