// Test helper: appends results to a store in a loop and prints each run_id once append() has
// returned, so the test that SIGKILLs it knows which runs were acknowledged.
//   store_crash_writer RESULTS.h5 PREFIX COUNT
#include <cstdio>
#include <cstdlib>
#include <string>

#include "common/error.h"
#include "store/result_store.h"
#include "tests/store/store_test_util.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: store_crash_writer RESULTS.h5 PREFIX COUNT\n");
    return 2;
  }
  try {
    hqsweep::ResultStore store = hqsweep::ResultStore::open_for_writing(argv[1]);
    std::printf("open\n");
    std::fflush(stdout);
    int count = std::atoi(argv[3]);
    for (int i = 0; i < count; ++i) {
      std::string run_id = std::string(argv[2]) + "-" + std::to_string(i);
      store.append(hqsweep::testing::make_result(run_id, i));
      std::printf("%s\n", run_id.c_str());
      std::fflush(stdout);
    }
  } catch (const hqsweep::Error& error) {
    std::fprintf(stderr, "store_crash_writer: %s\n", error.what());
    return 1;
  }
  return 0;
}
