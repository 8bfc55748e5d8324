#pragma once
// Reads HAProxy-language text section by section into the parse state: each line is split
// into words, its keyword looked up in the tables of the current section, and parsed.

#include <string>
#include <string_view>

#include "master/config/draft.h"

namespace sluice::master::config {

void parse_text(parse_state& st, std::string_view text, const std::string& file);

// Ends the section being read (called at a new section and at the end of every file).
void close_section(parse_state& st);

}  // namespace sluice::master::config
