#pragma once
// Config diagnostics: every error and warning with the FILE:LINE it belongs to. The
// compiler accumulates them all (not only the first) so one `sluice -c` run shows every
// problem in a file.

#include <cstdint>
#include <string>
#include <vector>

namespace sluice::master::config {

struct location {
  std::string file;
  uint32_t line = 0;
};

enum class severity { error, warning };

struct diagnostic {
  severity level;
  location where;
  std::string message;
};

// "FILE:LINE: error: MESSAGE" (or without FILE:LINE when the location is unknown).
std::string format(const diagnostic& d);

class diagnostics {
 public:
  void error(const location& where, std::string message);
  void warning(const location& where, std::string message);

  bool has_errors() const { return errors_ > 0; }
  size_t error_count() const { return errors_; }
  const std::vector<diagnostic>& all() const { return list_; }

  // Orders diagnostics by file (in the given load order), then line; stable otherwise.
  void sort(const std::vector<std::string>& file_order);

 private:
  std::vector<diagnostic> list_;
  size_t errors_ = 0;
};

}  // namespace sluice::master::config
