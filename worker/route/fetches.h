#pragma once
// The sample fetches Sluice knows, in one table: what the config compiler accepts in ACLs
// and formats, and what the data path asks of a fetch (is it the request's, does it need
// HTTP). Adding a fetch is one line here plus its case in sample.cc.

#include <span>
#include <string_view>

#include "proto/config.pb.h"

namespace sluice::worker::route {

enum class fetch_arg { none, optional, required };
// When a fetch has a value: from the connection on, while the request is there (gone once
// the response is processed, as in HAProxy), or while the response is.
enum class fetch_scope { connection, request, response };

struct fetch_def {
  std::string_view name;
  sluice::config::Fetch fetch;
  sluice::config::SampleType type;
  fetch_arg arg;
  fetch_scope scope;
  bool http;         // needs an HTTP proxy
  bool whole_field;  // req.fhdr / res.fhdr: header values are not split at commas
};

std::span<const fetch_def> fetch_catalogue();

// The entry named `name` (aliases are entries of their own), or nullptr.
const fetch_def* find_fetch(std::string_view name);

// What every name of `f` shares (scope, http); `f` must be in the catalogue.
const fetch_def& fetch_info(sluice::config::Fetch f);

// A fetch that reads the request: it yields nothing while a response is processed.
inline bool request_only(sluice::config::Fetch f) {
  return fetch_info(f).scope == fetch_scope::request;
}

}  // namespace sluice::worker::route
