#pragma once
// HTTP/1.x messages as the data path sees them: the head (start line and header fields)
// of a request or a response, owned, so rules can rewrite it before it is serialized
// again. Bodies are never held here; they stream through the session.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::worker::http {

struct header_field {
  std::string name;   // as received (case kept); compared case-insensitively
  std::string value;  // leading and trailing whitespace removed
};

// How the body that follows a head is delimited.
enum class body_kind {
  none,         // no body (GET without length, HEAD response, 1xx/204/304)
  length,       // Content-Length bytes
  chunked,      // Transfer-Encoding: chunked (final coding)
  until_close,  // responses only: everything until the server closes
};

// Header list operations shared by requests and responses. Names compare
// case-insensitively (ASCII). Removed fields keep their buffers for the next ones, so a
// connection's requests reuse the same memory instead of allocating per header.
struct header_list {
  std::vector<header_field> fields;

  // Index of the first field named `name` at or after `from`, or npos.
  size_t find(std::string_view name, size_t from = 0) const;
  // The value of the first field named `name`, or nullptr.
  const std::string* get(std::string_view name) const;
  size_t count(std::string_view name) const;
  // Removes every field named `name`; returns how many were removed.
  size_t remove(std::string_view name);
  void add(std::string_view name, std::string_view value);
  // Replaces every field named `name` with one `name: value` at the first one's place
  // (at the end when there was none).
  void set(std::string_view name, std::string_view value);

  // Empties the list, keeping every field's buffers for reuse.
  void clear();

  static constexpr size_t npos = static_cast<size_t>(-1);

 private:
  header_field& fresh_field();
  std::vector<header_field> spare_;
  std::string scratch_;
};

struct request {
  std::string method;
  std::string target;          // request-target as sent (origin-form, absolute-form, ...)
  unsigned version_minor = 1;  // HTTP/1.<minor>; only 0 and 1 are accepted
  header_list headers;

  body_kind body = body_kind::none;
  uint64_t content_length = 0;   // body == length
  bool keep_alive = true;        // the client wants the connection kept after this one
  bool expect_continue = false;  // Expect: 100-continue (HTTP/1.1 only)
  bool upgrade = false;          // Connection: upgrade with an Upgrade header
  // Content-Length and Transfer-Encoding were both present: chunked wins, the
  // Content-Length field was removed, and the connection closes after the response.
  bool close_after = false;

  // Back to an empty request, keeping buffers for the next one on the connection.
  void reset();

  // The path part of the target (no query), "" for `*` or authority-form.
  std::string_view path() const;
  // The query string without '?', "" when there is none.
  std::string_view query() const;
  bool has_query() const;
  // host[:port] of an absolute-form target (userinfo included, as sent), the whole target
  // in authority-form; "" for origin-form and `*`.
  std::string_view authority() const;
};

struct response {
  unsigned status = 0;
  std::string reason;
  unsigned version_minor = 1;
  header_list headers;

  body_kind body = body_kind::none;
  uint64_t content_length = 0;
  bool keep_alive = true;  // the server keeps the connection after this response
  bool close_after = false;

  void reset();
};

// Appends the serialized head (start line, fields, empty line) to `out`, CRLF line ends.
void serialize(const request& r, std::string& out);
void serialize(const response& r, std::string& out);

// ASCII lower case, for header names, tokens and host names (no locale).
constexpr char ascii_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}
void ascii_lower(std::string& s);

// ASCII case-insensitive equality, for header names and tokens.
bool iequals(std::string_view a, std::string_view b);

// The standard reason phrase for a status ("Not Found"), "" when unknown.
std::string_view reason_phrase(unsigned status);

}  // namespace sluice::worker::http
