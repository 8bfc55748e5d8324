#pragma once
// Splits one config line into words with HAProxy's rules:
//  - words are separated by unescaped, unquoted spaces and tabs;
//  - `#` outside quotes starts a comment;
//  - a backslash escapes space, `#`, `\`, `'`, `"` (and `$` inside double quotes);
//    `\r`, `\n`, `\t` and `\xHH` give the control byte; any other backslash is kept
//    (so `\1` and `\.` reach regexes unchanged);
//  - single quotes: nothing is interpreted inside;
//  - double quotes: escapes and environment variables (`$NAME`, `${NAME}`,
//    `${NAME-default}`, `${NAME[*]}` which expands to several words) are interpreted;
//  - quoted parts and bare parts glue into one word: `"a b"'c'd` is one word.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::master::config {

struct lexed_line {
  std::vector<std::string> words;
  std::vector<std::string> warnings;
  std::optional<std::string> error;  // set when the line cannot be split
};

using env_lookup = std::function<std::optional<std::string>(const std::string&)>;

// The process environment.
std::optional<std::string> process_env(const std::string& name);

lexed_line split_words(std::string_view line, const env_lookup& env = process_env);

}  // namespace sluice::master::config
