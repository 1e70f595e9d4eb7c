// Helpers shared by the store tests.
#include "tests/store/store_test_util.h"

#include <cstdlib>
#include <filesystem>
#include <random>

namespace hqsweep::testing {

TemporaryDirectory::TemporaryDirectory() {
  std::string pattern = (std::filesystem::temp_directory_path() / "hqsweep-store-XXXXXX").string();
  path_ = ::mkdtemp(pattern.data());
}

TemporaryDirectory::~TemporaryDirectory() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

RunResult make_result(const std::string& run_id, int seed, int test_samples) {
  std::mt19937 random(static_cast<unsigned>(seed));
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  RunResult result;
  result.run_id = run_id;
  result.config = {{"dataset", {{"name", "breastmnist"}}},
                   {"model", {{"backbone", "hqcnn"}, {"fusion", seed % 2 ? "dhf" : "classical"}}},
                   {"seed", seed}};
  result.status = RunStatus::done;
  result.host = "node-" + std::to_string(seed % 3);
  result.rank = 1 + seed % 2;
  result.start_time = 1.7e9 + seed;
  result.end_time = result.start_time + 10 + unit(random);
  result.parameters_total = 1000 + seed;
  result.parameters_trainable = 900 + seed;
  result.parameters_quantum = seed % 2 ? 24 : 0;
  result.metrics = {{"val_acc", unit(random)},  {"val_loss", unit(random)},
                    {"test_acc", unit(random)}, {"test_f1", unit(random)},
                    {"test_auc", unit(random)}, {"test_precision", unit(random)}};
  for (int epoch = 0; epoch < 5; ++epoch) {
    result.curves["train_loss"].push_back(unit(random));
    result.curves["val_acc"].push_back(unit(random));
  }
  result.classes = 2;
  result.confusion_matrix.assign(4, 0);
  for (int i = 0; i < test_samples; ++i) {
    float p = static_cast<float>(unit(random));
    result.test_probabilities.push_back(1 - p);
    result.test_probabilities.push_back(p);
    int label = static_cast<int>(random() % 2);
    result.test_labels.push_back(label);
    result.confusion_matrix[static_cast<std::size_t>(label * 2 + (p > 0.5f))] += 1;
  }
  return result;
}

}  // namespace hqsweep::testing
