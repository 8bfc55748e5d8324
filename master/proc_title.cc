#include "master/proc_title.h"

#include <sys/prctl.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

extern char** environ;

namespace sluice::master {

namespace {

char* area_begin = nullptr;
size_t area_size = 0;

}  // namespace

void proc_title_init(int argc, char** argv) {
  if (argc == 0 || argv[0] == nullptr) return;
  // The argv strings and then the environ strings sit back to back; the title may use all
  // of that space once environ has been copied elsewhere.
  char* end = argv[0] + std::strlen(argv[0]) + 1;
  for (int i = 1; i < argc; ++i) {
    if (argv[i] == end) end = argv[i] + std::strlen(argv[i]) + 1;
  }
  size_t env_count = 0;
  while (environ[env_count] != nullptr) ++env_count;
  for (size_t i = 0; i < env_count; ++i) {
    if (environ[i] == end) end = environ[i] + std::strlen(environ[i]) + 1;
  }
  auto** moved = static_cast<char**>(std::malloc((env_count + 1) * sizeof(char*)));
  if (moved == nullptr) return;
  for (size_t i = 0; i < env_count; ++i) moved[i] = strdup(environ[i]);
  moved[env_count] = nullptr;
  environ = moved;  // kept for the life of the process
  area_begin = argv[0];
  area_size = static_cast<size_t>(end - argv[0]);
}

void set_proc_title(const std::string& title) {
  std::string short_name = title.substr(0, 15);
  prctl(PR_SET_NAME, short_name.c_str(), 0, 0, 0);
  if (area_begin == nullptr || area_size < 2) return;
  size_t n = std::min(title.size(), area_size - 1);
  std::memcpy(area_begin, title.data(), n);
  std::memset(area_begin + n, 0, area_size - n);
}

}  // namespace sluice::master
