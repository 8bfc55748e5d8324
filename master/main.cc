// sluice: the master process entry point.
#include <google/protobuf/text_format.h>

#include <iostream>

#include "master/cli.h"
#include "master/config/compiler.h"
#include "sluice/version.h"
#include "worker/core/runtime.h"

namespace {

using namespace sluice::master;

void print_diagnostics(const config::diagnostics& diag, bool quiet) {
  for (const auto& d : diag.all()) {
    if (quiet && d.level != config::severity::error) continue;
    std::cerr << config::format(d) << "\n";
  }
}

}  // namespace

int main(int argc, char** argv) {
  cli_options opts;
  if (!parse_cli(argc, argv, opts)) return exit_usage;
  if (opts.help) {
    std::cout << opts.help_text;
    return exit_ok;
  }
  if (opts.version) {
    std::cout << "sluice " << sluice::version << "\n";
    return exit_ok;
  }
  if (opts.config_paths.empty()) {
    std::cerr << "sluice: no configuration given (use -f FILE or -f FOLDER)\n"
              << "Try 'sluice --help'.\n";
    return exit_usage;
  }
  config::compile_result result = config::compile_files(opts.config_paths);
  print_diagnostics(result.diag, opts.quiet);
  if (!result.ok()) {
    std::cerr << "Configuration is invalid: " << result.diag.error_count()
              << (result.diag.error_count() == 1 ? " error\n" : " errors\n");
    return exit_config_invalid;
  }
  if (opts.dump_config) {
    std::string text;
    google::protobuf::TextFormat::PrintToString(result.config, &text);
    std::cout << text;
    return exit_ok;
  }
  if (opts.check) {
    if (!opts.quiet) std::cout << "Configuration file is valid\n";
    return exit_ok;
  }
  // Until the process model lands, one in-process worker serves the configuration.
  sluice::worker::runtime rt(result.config);
  std::vector<std::string> errors;
  if (!rt.start(errors)) {
    for (const auto& e : errors) std::cerr << e << "\n";
    std::cerr << "sluice: cannot start\n";
    return exit_config_invalid;
  }
  if (!opts.quiet) std::cerr << "sluice " << sluice::version << ": serving\n";
  rt.run();
  return exit_ok;
}
