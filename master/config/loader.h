#pragma once
// Turns the `-f` arguments into the ordered list of files to read: a file as given, a
// folder as its `*.cfg` files in name order (HAProxy's rule).

#include <cstdint>
#include <string>
#include <vector>

#include "master/config/diagnostics.h"

namespace sluice::master::config {

std::vector<std::string> expand_config_paths(const std::vector<std::string>& paths,
                                             diagnostics& diag);

// Reads a whole regular file of at most `max_bytes`; on failure reports why and returns
// false. Devices and FIFOs are refused so that a path like /dev/zero cannot hang a check.
bool read_file(const std::string& path, std::string& out, diagnostics& diag,
               uint64_t max_bytes = 64ull << 20);
// The same for files a keyword names: on failure `why` says what is wrong ("No such file
// or directory", "not a regular file"), for the keyword's own message.
bool read_file(const std::string& path, std::string& out, std::string& why, uint64_t max_bytes);

}  // namespace sluice::master::config
