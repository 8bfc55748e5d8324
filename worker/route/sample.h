#pragma once
// Sample fetches: the values a `Sample` of the compiled config yields for a transaction.
// A fetch may yield several values (every occurrence of a header); ACLs match if any does.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "proto/config.pb.h"
#include "worker/route/txn.h"

namespace sluice::worker::route {

struct sample_value {
  sluice::config::SampleType type = sluice::config::SAMPLE_STR;
  std::string_view str;  // SAMPLE_STR (views into the transaction or `scratch`)
  int64_t num = 0;       // SAMPLE_INT, SAMPLE_BOOL
  peer ip;               // SAMPLE_IP
};

// Appends the values of `s` for `t` to `out`. A value that is not a view into the
// transaction (`base`) is built in `scratch`: at most one per call, so keep `scratch`
// unchanged while the values are used.
void fetch(const sluice::config::Sample& s, const txn& t, std::vector<sample_value>& out,
           std::string& scratch);

// The value of url parameter `name` in `query` (first occurrence), if present.
bool find_url_param(std::string_view query, std::string_view name, std::string_view& value);

// A cookie's value from `Cookie` header values, if present.
bool find_cookie(std::string_view cookie_header, std::string_view name, std::string_view& value);

// The IPv4 address an IPv4-mapped IPv6 one stands for (::ffff:10.0.0.1 -> 10.0.0.1);
// any other address unchanged.
peer unmapped(const peer& p);

// Appends the address of `p` as text (no port).
void append_ip(const peer& p, std::string& out);

// Parses a textual IPv4/IPv6 address.
bool parse_ip(std::string_view text, peer& out);

// HAProxy's integer conversion of a string: optional sign and leading digits.
int64_t to_int(std::string_view s);

}  // namespace sluice::worker::route
