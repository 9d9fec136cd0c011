// `larder explain`: asks a running larder's admin API why a URL is a HIT, a
// MISS or a BYPASS (admin/explain.h) and prints the answer readably, or as
// the API's JSON with --json. Exits 0 on an answer, 1 when the admin API
// cannot be reached or refuses, 2 on bad usage.
//
//   larder explain URL [-H 'Field: value']... [-X METHOD] [--json]
//                  [--admin HOST:PORT] [--token-file FILE] [-c FILE]
//
// The admin address and token are found as `larder purge` finds them
// (app/admin_client.h).
#pragma once

namespace larder::app {

// argv[0] is "larder", argv[1] is "explain".
int runExplainCommand(int argc, char** argv);

}  // namespace larder::app
