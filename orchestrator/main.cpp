// The hqsweep executable.
#include "orchestrator/cli/cli.h"

int main(int argc, char** argv) {
  return hqsweep::run_cli(argc, argv);
}
