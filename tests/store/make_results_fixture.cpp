// Test helper: writes a small results file with the C++ store (a recorded sweep, done runs of two
// fusions and seeds, one failed run), the same runs as JSON for clients to compare against, and,
// when asked, a feature-cache directory with one cache a run refers to and one orphan.
//   store_results_fixture RESULTS.h5 EXPECTED.json [CACHE_DIR]
#include <cstdio>
#include <fstream>

#include "common/error.h"
#include "store/feature_cache.h"
#include "store/result_store.h"
#include "tests/store/store_test_util.h"

int main(int argc, char** argv) {
  if (argc < 3 || argc > 4) {
    std::fprintf(stderr, "usage: store_results_fixture RESULTS.h5 EXPECTED.json [CACHE_DIR]\n");
    return 2;
  }
  try {
    std::remove(argv[1]);
    std::remove((std::string(argv[1]) + ".journal").c_str());
    hqsweep::ResultStore store = hqsweep::ResultStore::open_for_writing(argv[1]);
    hqsweep::SweepRecord sweep;
    sweep.name = "fixture";
    sweep.source = "sweeps/fixture.json";
    sweep.text = "{\"grid\": {\"model.fusion\": []}}";
    sweep.run_count = 5;
    sweep.command_line = "hqsweep run sweeps/fixture.json";
    sweep.varying_keys = {"model.fusion", "seed"};
    sweep.recorded_time = 1.7e9;
    store.record_sweep(sweep);
    nlohmann::json expected = nlohmann::json::array();
    for (int seed = 0; seed < 4; ++seed) {
      hqsweep::RunResult result = hqsweep::testing::make_result("run" + std::to_string(seed), seed);
      if (seed == 1) result.cache_key = "keep1";
      store.append(result);
      expected.push_back(hqsweep::to_json(store.get(result.run_id)));
    }
    hqsweep::RunResult failed = hqsweep::testing::make_result("run4", 4);
    failed.status = hqsweep::RunStatus::failed;
    failed.error = "task killed by signal 11 (Segmentation fault)\nstderr tail: boom";
    failed.metrics.clear();
    failed.curves.clear();
    failed.test_probabilities.clear();
    failed.test_labels.clear();
    failed.confusion_matrix.clear();
    store.append(failed);
    expected.push_back(hqsweep::to_json(store.get("run4")));
    std::ofstream(argv[2]) << expected.dump(2);
    if (argc == 4) {
      hqsweep::FeatureCache cache(argv[3]);
      hqsweep::FeatureSplit split{2, 1, {0.5f, 1.5f}, 0, {}, {0, 1}};
      hqsweep::CachedFeatures features{
          // What a real cache records: its extraction config (common/derived_configs.h).
          {{"classical",
            {{"dataset", {{"name", "breastmnist"}}}, {"model", {{"backbone", "resnet18"}}}}},
           {"quantum", {{"qubits", 4}}}},
          split,
          split,
          split};
      cache.write("keep1", features);
      cache.write("orphan", features);
    }
  } catch (const hqsweep::Error& error) {
    std::fprintf(stderr, "store_results_fixture: %s\n", error.what());
    return 1;
  }
  return 0;
}
