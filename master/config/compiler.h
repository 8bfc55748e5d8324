#pragma once
// The config compiler's entry points: HAProxy-language files in, one resolved
// sluice.config.Config out, with every diagnostic (not only the first).

#include <string>
#include <string_view>
#include <vector>

#include "master/config/diagnostics.h"
#include "master/config/lexer.h"
#include "proto/config.pb.h"

namespace sluice::master::config {

struct compile_result {
  sluice::config::Config config;
  diagnostics diag;
  bool ok() const { return !diag.has_errors(); }
};

// `paths` as given to `-f`: files, or folders whose *.cfg files load in name order.
compile_result compile_files(const std::vector<std::string>& paths,
                             const env_lookup& env = process_env);

// Compiles text as if it were the file `name` (tests, fuzzing). With `files_allowed`
// false, keywords that read other files (errorfile, ACL -f) report an error instead.
compile_result compile_text(std::string_view text, const std::string& name = "<config>",
                            const env_lookup& env = process_env, bool files_allowed = true);

}  // namespace sluice::master::config
