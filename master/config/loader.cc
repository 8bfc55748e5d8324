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

bool read_file(const std::string& path, std::string& out, diagnostics& diag, uint64_t max_bytes) {
  namespace fs = std::filesystem;
  std::error_code ec;
  auto status = fs::status(path, ec);
  if (ec) {
    diag.error({}, "cannot open '" + path + "': " + ec.message());
    return false;
  }
  if (!fs::is_regular_file(status)) {
    diag.error({}, "cannot read '" + path + "': not a regular file");
    return false;
  }
  if (fs::file_size(path, ec) > max_bytes) {
    diag.error({},
               "cannot read '" + path + "': larger than " + std::to_string(max_bytes) + " bytes");
    return false;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    diag.error({}, "cannot open '" + path + "': " + std::strerror(errno));
    return false;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return true;
}

bool read_file(const std::string& path, std::string& out, std::string& why, uint64_t max_bytes) {
  diagnostics local;
  if (read_file(path, out, local, max_bytes)) return true;
  // The messages above are "cannot ... 'PATH': WHY".
  const std::string& m = local.all().empty() ? std::string() : local.all().front().message;
  const size_t at = m.find("': ");
  why = at == std::string::npos ? m : m.substr(at + 3);
  return false;
}

}  // namespace sluice::master::config
