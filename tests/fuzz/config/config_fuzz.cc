// Fuzzes the whole config compiler (lexer, parser, ACLs, rules, resolution) on arbitrary
// text. File access is off so inputs cannot make it read the disk.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "master/config/compiler.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto env = [](const std::string& name) -> std::optional<std::string> {
    if (name == "PORT") return std::string("8080");
    if (name == "LIST") return std::string("a b  c");
    return std::nullopt;
  };
  auto result = sluice::master::config::compile_text(text, "fuzz.cfg", env, false);
  for (const auto& d : result.diag.all()) (void)sluice::master::config::format(d);
  if (result.ok()) (void)result.config.ByteSizeLong();
  return 0;
}
