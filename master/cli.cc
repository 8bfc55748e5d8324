#include "master/cli.h"

#include <boost/program_options.hpp>
#include <iostream>
#include <sstream>

namespace sluice::master {

bool parse_cli(int argc, char** argv, cli_options& out) {
  namespace po = boost::program_options;
  po::options_description visible("Usage: sluice -f FILE|DIR [-f ...] [options]\nOptions");
  visible.add_options()(
      "config,f", po::value<std::vector<std::string>>(&out.config_paths),
      "configuration file, or folder whose *.cfg files load in name order (repeatable)")(
      "check,c", po::bool_switch(&out.check), "check the configuration and exit")(
      "dump-config", po::bool_switch(&out.dump_config),
      "print the compiled configuration (protobuf text format) and exit")(
      "pidfile,p", po::value<std::string>(&out.pidfile), "write the master's pid to this file")(
      "quiet,q", po::bool_switch(&out.quiet), "print errors only")(
      "version,v", po::bool_switch(&out.version), "print the version and exit")(
      "help,h", po::bool_switch(&out.help), "print this help and exit");
  std::string listen_fds;
  po::options_description hidden;
  auto add_hidden = hidden.add_options();
  add_hidden("role", po::value<std::string>(&out.role));
  add_hidden("slot", po::value<uint32_t>(&out.slot));
  add_hidden("generation", po::value<uint64_t>(&out.generation));
  add_hidden("config-fd", po::value<int>(&out.config_fd));
  add_hidden("ready-fd", po::value<int>(&out.ready_fd));
  add_hidden("table-fd", po::value<int>(&out.table_fd));
  add_hidden("counters-fd", po::value<int>(&out.counters_fd));
  add_hidden("tickets-fd", po::value<int>(&out.tickets_fd));
  add_hidden("output-fd", po::value<int>(&out.output_fd));
  add_hidden("counters-slot", po::value<int>(&out.counters_slot));
  add_hidden("listen-fds", po::value<std::string>(&listen_fds));
  po::options_description all;
  all.add(visible).add(hidden);
  std::ostringstream help;
  help << visible << "\nExit codes: 0 success, 1 invalid configuration, 2 usage error.\n";
  out.help_text = help.str();
  try {
    po::variables_map vm;
    po::store(po::command_line_parser(argc, argv).options(all).run(), vm);
    po::notify(vm);
    std::istringstream fds(listen_fds);
    for (std::string item; std::getline(fds, item, ',');) {
      size_t colon = item.find(':');
      if (colon == std::string::npos) throw std::invalid_argument(item);
      out.listen_fds.emplace_back(std::stoul(item.substr(0, colon)),
                                  std::stoi(item.substr(colon + 1)));
    }
  } catch (const std::invalid_argument&) {
    std::cerr << "sluice: bad --listen-fds\n";
    return false;
  } catch (const po::error& e) {
    std::cerr << "sluice: " << e.what() << "\n"
              << "Try 'sluice --help'.\n";
    return false;
  }
  return true;
}

}  // namespace sluice::master
