// Test helper: appends results to a store in a loop and prints each run_id once append() has
// returned, so the test that SIGKILLs it knows which runs were acknowledged.
//   store_crash_writer RESULTS.h5 PREFIX COUNT [deferred]
// deferred: as `hqsweep run` stores results (orchestrator/run/result_sink.h): batches of three
// appended to the journal only, the HDF5 file updated in slices of one run behind them.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/error.h"
#include "store/result_store.h"
#include "tests/store/store_test_util.h"

int main(int argc, char** argv) {
  if (argc != 4 && argc != 5) {
    std::fprintf(stderr, "usage: store_crash_writer RESULTS.h5 PREFIX COUNT [deferred]\n");
    return 2;
  }
  try {
    hqsweep::ResultStore store = hqsweep::ResultStore::open_for_writing(argv[1]);
    std::printf("open\n");
    std::fflush(stdout);
    const int count = std::atoi(argv[3]);
    const bool deferred = argc == 5 && std::string(argv[4]) == "deferred";
    const int batch = deferred ? 3 : 1;
    for (int i = 0; i < count; i += batch) {
      std::vector<hqsweep::RunResult> results;
      for (int j = i; j < i + batch; ++j) {
        results.push_back(
            hqsweep::testing::make_result(std::string(argv[2]) + "-" + std::to_string(j), j));
      }
      std::vector<std::string> ids;
      for (const auto& r : results) ids.push_back(r.run_id);
      if (deferred) {
        store.append_all(std::move(results), hqsweep::AppendMode::normal,
                         hqsweep::FileUpdate::deferred);
      } else {
        store.append(std::move(results[0]));
      }
      for (const std::string& id : ids) std::printf("%s\n", id.c_str());
      std::fflush(stdout);
      if (deferred) store.update_file(1e-6);  // one run per slice: the file stays behind
    }
  } catch (const hqsweep::Error& error) {
    std::fprintf(stderr, "store_crash_writer: %s\n", error.what());
    return 1;
  }
  return 0;
}
