// sluicectl: the operator's client for the master's control socket.
#include <boost/program_options.hpp>
#include <iostream>

#include "sluice/version.h"

int main(int argc, char** argv) {
  namespace po = boost::program_options;
  po::options_description opts(
      "Usage: sluicectl -s SOCKET COMMAND...\n"
      "Commands (served by the master's 'stats socket'):\n"
      "  show info | show servers | show stat\n"
      "  set server BACKEND/SERVER state ready|drain|maint\n"
      "  set server BACKEND/SERVER weight N\n"
      "  reload\n"
      "Options");
  std::string socket;
  opts.add_options()("socket,s", po::value<std::string>(&socket), "control socket path")(
      "json", "print 'show' results as JSON")("version,v", "print the version and exit")(
      "help,h", "print this help and exit");
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(opts).allow_unregistered().run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "sluicectl: " << e.what() << "\n";
    return 2;
  }
  if (vm.count("help")) {
    std::cout << opts;
    return 0;
  }
  if (vm.count("version")) {
    std::cout << "sluicectl " << sluice::version << "\n";
    return 0;
  }
  std::cerr << "sluicectl: the control API is not implemented in this version yet; only --help "
               "and --version work.\n";
  return 2;
}
