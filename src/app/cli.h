// The command line: larder [-c FILE] [--check-config] [--version] [--help].
#pragma once

namespace larder::app {

int runMain(int argc, char** argv);

}  // namespace larder::app
