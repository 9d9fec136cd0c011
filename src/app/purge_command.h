// `larder purge`: asks a running larder's admin API to purge, prints its
// JSON answer and exits 0 on success, 1 on failure, 2 on bad usage.
//
//   larder purge namespace NAME | url URL | all
//               [--soft] [--admin HOST:PORT] [--token-file FILE] [-c FILE]
//
// --soft marks the entries stale instead of invalid (cache/soft_purge.h):
// they are served within their stale windows while one request refreshes
// each.
// The admin address and token come from --admin / --token-file, else from
// the configuration file (-c, default /etc/larder/larder.yaml if it exists),
// else 127.0.0.1:9091 without a token.
#pragma once

namespace larder::app {

// argv[0] is "larder", argv[1] is "purge".
int runPurgeCommand(int argc, char** argv);

}  // namespace larder::app
