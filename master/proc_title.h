#pragma once
// Process titles, so `ps` tells which process is which ("sluice: worker 1 (gen 3)"), as
// nginx and HAProxy do: the title overwrites the argv area (environ is moved out of the
// way first) and the short name is set for top/pidof.

#include <string>

namespace sluice::master {

// Call once at the start of main, before anything reads argv or environ.
void proc_title_init(int argc, char** argv);

void set_proc_title(const std::string& title);

}  // namespace sluice::master
