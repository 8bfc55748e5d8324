#include "master/config/loader.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace sluice::master::config {

std::vector<std::string> expand_config_paths(const std::vector<std::string>& paths,
                                             diagnostics& diag) {
  namespace fs = std::filesystem;
  std::vector<std::string> files;
  for (const auto& p : paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<std::string> in_dir;
      for (const auto& entry : fs::directory_iterator(p, ec)) {
        if (entry.path().extension() == ".cfg" && !entry.is_directory()) {
          in_dir.push_back(entry.path().string());
        }
      }
      if (ec) diag.error({p, 0}, "cannot list folder " + p + ": " + ec.message());
      std::sort(in_dir.begin(), in_dir.end());
      files.insert(files.end(), in_dir.begin(), in_dir.end());
    } else {
      files.push_back(p);
    }
  }
  return files;
}

namespace {

// Reads `path` into `out`. On failure, what was being done ("open", "read") and why.
struct read_failure {
  const char* doing = nullptr;  // null: the file was read
  std::string why;
};

read_failure read_regular_file(const std::string& path, std::string& out, uint64_t max_bytes) {
  namespace fs = std::filesystem;
  std::error_code ec;
  auto status = fs::status(path, ec);
  if (ec) return {"open", ec.message()};
  if (!fs::is_regular_file(status)) return {"read", "not a regular file"};
  if (fs::file_size(path, ec) > max_bytes) {
    return {"read", "larger than " + std::to_string(max_bytes) + " bytes"};
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return {"open", std::strerror(errno)};
  std::ostringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return {};
}

}  // namespace

bool read_file(const std::string& path, std::string& out, diagnostics& diag, uint64_t max_bytes) {
  const read_failure f = read_regular_file(path, out, max_bytes);
  if (f.doing == nullptr) return true;
  diag.error({}, std::string("cannot ") + f.doing + " '" + path + "': " + f.why);
  return false;
}

bool read_file(const std::string& path, std::string& out, std::string& why, uint64_t max_bytes) {
  read_failure f = read_regular_file(path, out, max_bytes);
  if (f.doing == nullptr) return true;
  why = std::move(f.why);
  return false;
}

}  // namespace sluice::master::config
