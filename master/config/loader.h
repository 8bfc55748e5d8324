#pragma once
// Turns the `-f` arguments into the ordered list of files to read: a file as given, a
// folder as its `*.cfg` files in name order (HAProxy's rule).

#include <string>
#include <vector>

#include "master/config/diagnostics.h"

namespace sluice::master::config {

std::vector<std::string> expand_config_paths(const std::vector<std::string>& paths,
                                             diagnostics& diag);

// Reads a whole file; on failure reports "cannot read FILE: why" and returns false.
bool read_file(const std::string& path, std::string& out, diagnostics& diag);

}  // namespace sluice::master::config
