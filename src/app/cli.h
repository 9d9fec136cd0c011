// The command line: larder [-c FILE] [--check-config] [--version] [--help],
// and larder purge ... (app/purge_command.h).
#pragma once

namespace larder::app {

int runMain(int argc, char** argv);

}  // namespace larder::app
