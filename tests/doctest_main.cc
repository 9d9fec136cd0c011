// doctest's main for every test executable, with SIGPIPE ignored as larder
// itself does (app/cli.cc): a test that writes to a peer it just killed
// (hiredis to a stopped Redis node, a client to a closed larder) gets EPIPE,
// not a dead test process. Children get the default back (harness/process.cc).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <csignal>

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  return doctest::Context(argc, argv).run();
}
