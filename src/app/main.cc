#include "app/cli.h"

int main(int argc, char** argv) { return larder::app::runMain(argc, argv); }
