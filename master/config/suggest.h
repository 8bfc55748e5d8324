#pragma once
// "did you mean": the closest candidate by edit distance, when it is close enough to help.

#include <string>
#include <string_view>
#include <vector>

namespace sluice::master::config {

// The candidate closest to `word`, or "" when none is within about a third of its length.
std::string closest(std::string_view word, const std::vector<std::string_view>& candidates);

// "; did you mean 'X'?" or "".
std::string did_you_mean(std::string_view word, const std::vector<std::string_view>& candidates);

}  // namespace sluice::master::config
