// Test helper: writes the results file of a small made-up BreastMNIST study (2 backbones x
// classical, dhf and tshf x 4 and 8 qubits x 3 seeds) with curves and test probabilities, for the
// Python clients (scripts/plot.py, the report cross-check). Values are seeded, not measured.
//   report_fixture RESULTS.h5         that study
//   report_fixture RESULTS.h5 many    a sweep of many groups for the figures' layout: hqcnn and
//                                     resnet18 classical and dhf at 2..9 qubits, and the
//                                     circuit-only fusion (no backbone) at 2..9 qubits, 2 seeds
#include <cmath>
#include <cstdio>
#include <random>
#include <string>

#include <nlohmann/json.hpp>

#include "common/config_schema.h"
#include "common/error.h"
#include "store/result_store.h"

namespace {

using nlohmann::json;

hqsweep::RunResult make_run(const std::string& backbone, const std::string& fusion, int qubits,
                            int seed) {
  json config = {
      {"dataset", {{"name", "breastmnist"}}}, {"model", {{"fusion", fusion}}}, {"seed", seed}};
  if (!backbone.empty()) config["model"]["backbone"] = backbone;  // "": the circuit alone
  if (fusion != "classical") config["quantum"] = {{"qubits", qubits}};
  hqsweep::RunResult run;
  run.config = hqsweep::canonical_config(config);
  run.run_id = hqsweep::run_id(run.config);
  std::mt19937 random(static_cast<unsigned>(std::hash<std::string>{}(run.run_id)));
  std::normal_distribution<double> noise(0.0, 0.015);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  double skill = (backbone == "resnet18" ? 0.82 : 0.78) + (fusion == "classical" ? 0 : 0.02) +
                 (fusion == "tshf" ? 0.01 : 0) + 0.002 * qubits + noise(random);
  run.start_time = 1.7e9 + seed * 100;
  run.end_time = run.start_time + (backbone == "resnet18" ? 300 : 20) + 10 * unit(random);
  run.metrics = {{"val_acc", skill + noise(random)},
                 {"test_acc", skill},
                 {"test_f1", skill + 0.05 + noise(random)},
                 {"test_auc", skill + 0.08 + noise(random)}};
  const int epochs = 12;
  // A hybrid epoch costs 1.25 classical ones (what scripts/epoch_costs.py must find).
  const double seconds_per_epoch =
      (backbone == "resnet18" ? 24.0 : 2.0) * (fusion == "classical" ? 1.0 : 1.25);
  run.metrics["train_seconds"] = seconds_per_epoch * epochs;
  run.metrics["epochs_run"] = epochs;
  for (int epoch = 0; epoch < epochs; ++epoch) {
    double progress = 1 - std::exp(-0.4 * (epoch + 1));
    run.curves["train_loss"].push_back(0.7 - 0.4 * progress + 0.02 * unit(random));
    run.curves["val_loss"].push_back(0.7 - 0.3 * progress + 0.03 * unit(random));
    run.curves["train_acc"].push_back(0.6 + (skill + 0.05 - 0.6) * progress);
    run.curves["val_acc"].push_back(0.6 + (skill - 0.6) * progress + noise(random));
    run.curves["lr"].push_back(0.001);
  }
  run.classes = 2;
  run.confusion_matrix.assign(4, 0);
  for (int i = 0; i < 156; ++i) {
    int label = i < 42 ? 0 : 1;  // BreastMNIST's test split: 42 malignant, 114 benign
    double score =
        label ? 1 - std::pow(unit(random), 4 * skill) : std::pow(unit(random), 4 * skill);
    run.test_probabilities.push_back(static_cast<float>(1 - score));
    run.test_probabilities.push_back(static_cast<float>(score));
    run.test_labels.push_back(label);
    run.confusion_matrix[static_cast<std::size_t>(label * 2 + (score > 0.5))] += 1;
  }
  return run;
}

}  // namespace

int main(int argc, char** argv) {
  const bool many = argc == 3 && std::string(argv[2]) == "many";
  if (argc != 2 && !many) {
    std::fprintf(stderr, "usage: report_fixture RESULTS.h5 [many]\n");
    return 2;
  }
  try {
    std::remove(argv[1]);
    std::remove((std::string(argv[1]) + ".journal").c_str());
    hqsweep::ResultStore store = hqsweep::ResultStore::open_for_writing(argv[1]);
    hqsweep::SweepRecord sweep;
    sweep.name = "report-fixture";
    sweep.source = "sweeps/report-fixture.json";
    sweep.text = "{}";
    sweep.run_count = 30;
    sweep.command_line = "hqsweep run sweeps/report-fixture.json";
    sweep.varying_keys = {"model.backbone", "model.fusion", "quantum.qubits", "seed"};
    sweep.recorded_time = 1.7e9;
    store.record_sweep(sweep);
    if (many) {
      for (int seed = 0; seed < 2; ++seed) {
        for (const char* backbone : {"hqcnn", "resnet18"}) {
          store.append(make_run(backbone, "classical", 0, seed));
          for (int qubits = 2; qubits <= 9; ++qubits)
            store.append(make_run(backbone, "dhf", qubits, seed));
        }
        for (int qubits = 2; qubits <= 9; ++qubits)
          store.append(make_run("", "quantum", qubits, seed));
      }
      return 0;
    }
    for (const char* backbone : {"hqcnn", "resnet18"})
      for (const char* fusion : {"classical", "dhf", "tshf"})
        for (int qubits : {4, 8}) {
          if (std::string(fusion) == "classical" && qubits == 8) continue;
          for (int seed = 0; seed < 3; ++seed)
            store.append(make_run(backbone, fusion, qubits, seed));
        }
  } catch (const hqsweep::Error& error) {
    std::fprintf(stderr, "report_fixture: %s\n", error.what());
    return 1;
  }
  return 0;
}
