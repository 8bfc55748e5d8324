#include "master/config/diagnostics.h"

#include <algorithm>

namespace sluice::master::config {

std::string format(const diagnostic& d) {
  std::string out;
  if (!d.where.file.empty()) {
    out = d.where.file + ":" + std::to_string(d.where.line) + ": ";
  }
  out += d.level == severity::error ? "error: " : "warning: ";
  out += d.message;
  return out;
}

void diagnostics::error(const location& where, std::string message) {
  list_.push_back({severity::error, where, std::move(message)});
  ++errors_;
}

void diagnostics::warning(const location& where, std::string message) {
  list_.push_back({severity::warning, where, std::move(message)});
}

void diagnostics::sort(const std::vector<std::string>& file_order) {
  auto rank = [&](const diagnostic& d) {
    auto it = std::find(file_order.begin(), file_order.end(), d.where.file);
    return std::pair{static_cast<size_t>(it - file_order.begin()), d.where.line};
  };
  std::stable_sort(list_.begin(), list_.end(),
                   [&](const diagnostic& a, const diagnostic& b) { return rank(a) < rank(b); });
}

}  // namespace sluice::master::config
