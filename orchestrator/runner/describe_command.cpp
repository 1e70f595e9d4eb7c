// `hqsweep describe CONFIG_OR_SWEEP`.
#include "orchestrator/runner/runner_commands.h"

#include <iostream>
#include <set>

#include <fmt/format.h>
#include <boost/program_options.hpp>

#include "common/config_schema.h"
#include "common/error.h"
#include "common/json_source.h"
#include "common/run_config.h"
#include "models/model_factory.h"
#include "orchestrator/cli/command_line.h"
#include "orchestrator/report/text_table.h"
#include "orchestrator/sweep/sweep.h"

namespace hqsweep {

namespace {

namespace po = boost::program_options;

// The runs of a sweep file, or the one run a config file describes.
std::vector<RunConfig> configs_in(const std::string& path, std::size_t max_runs) {
  std::vector<RunConfig> configs;
  for (const RunSpec& run : read_runs(path, SweepOptions{{}, max_runs})) {
    configs.push_back(run_config_from_canonical(run.config));
  }
  return configs;
}

std::string count_text(int64_t count) {
  if (count >= 1000000) return fmt::format("{:.2f}M", count / 1e6);
  if (count >= 10000) return fmt::format("{:.1f}k", count / 1e3);
  return std::to_string(count);
}

// The input a run's data set nominally has (before the data are read): images of the data set's
// stored or configured size, or its tabular width, and its class count. `classes` and `features`
// given on the command line override; data sets of unknown shape (csv, image_folder, medmnist)
// need them, and the error says so.
InputShape nominal_input(const RunConfig& config, int64_t classes, int64_t features) {
  if (config.is_program) {
    throw Error("run " + config.run_id +
                " is a program run (program.command): its model is the program's, not hqsweep's");
  }
  if (config.dataset.info == nullptr) {
    throw Error("model.backbone probe is a synthetic scheduler task and builds no model");
  }
  const DatasetInfo& info = *config.dataset.info;
  InputShape shape;
  shape.classes = info.classes;
  if (info.kind == DataKind::tabular) {
    shape.features = features > 0 ? features : info.features;
    if (shape.features < 1 || (info.classes < 2 && classes < 2)) {
      throw Error("dataset " + info.name +
                  ": its shape comes from the file; give --features N and --classes K");
    }
  } else {
    if (info.classes < 2 && classes < 2) {
      throw Error("dataset " + info.name +
                  ": its class count comes from the file; give --classes K");
    }
    shape.channels = config.dataset.channels > 0 ? config.dataset.channels
                                                 : (info.channels > 0 ? info.channels : 1);
    shape.image_size = config.dataset.image_size > 0 ? config.dataset.image_size
                                                     : (info.image_size > 0 ? info.image_size : 28);
  }
  if (!config.dataset.classes.empty()) {
    shape.classes = static_cast<int64_t>(config.dataset.classes.size());
  }
  if (classes > 0) shape.classes = classes;
  return shape;
}

// One model in detail: its modules and the parameter counts by part.
void describe_one(const RunConfig& config, int64_t classes, int64_t features) {
  const InputShape input = nominal_input(config, classes, features);
  const BuiltModel built = build_model(config, input);
  const ModelSummary& s = built.summary;
  std::cout << "run " << config.run_id << ": "
            << (input.tabular() ? fmt::format("{} features", input.features)
                                : fmt::format("{}x{}x{} images", input.channels, input.image_size,
                                              input.image_size))
            << ", " << input.classes << " classes\n\n"
            << built.model->describe() << "\n";
  std::cout << format_table(
      {"part", "trainable parameters", "features out"},
      {{"classical (backbone)", std::to_string(s.classical_parameters),
        std::to_string(s.backbone_features)},
       {"quantum (projection + circuit)", std::to_string(s.quantum_parameters),
        std::to_string(s.quantum_features)},
       {"fusion (head and the rest)", std::to_string(s.fusion_parameters),
        std::to_string(s.fused_features)},
       {"frozen or fixed", std::to_string(s.frozen_parameters), ""},
       {"total trainable", std::to_string(s.trainable()), ""}});
}

// One row per distinct model (data set, model and quantum keys) of many runs.
// Returns how many distinct models there were.
std::size_t describe_distinct_models(const std::vector<RunConfig>& configs, int64_t classes,
                                     int64_t features) {
  std::vector<std::vector<std::string>> rows;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < configs.size(); ++i) {
    const FlatConfig flat = flatten_config(configs[i].canonical);
    FlatConfig model_part;
    for (const auto& [key, value] : flat) {
      if (key.rfind("dataset.", 0) == 0 || key.rfind("model.", 0) == 0 ||
          key.rfind("quantum.", 0) == 0) {
        model_part[key] = value;
      }
    }
    if (!seen.insert(nlohmann::json(model_part).dump()).second) continue;
    const BuiltModel built = build_model(configs[i], nominal_input(configs[i], classes, features));
    const ModelSummary& s = built.summary;
    rows.push_back({std::to_string(i + 1), config_value_text(flat, "dataset.name"),
                    config_value_text(flat, "model.backbone"),
                    config_value_text(flat, "model.fusion"),
                    config_value_text(flat, "quantum.qubits"), count_text(s.classical_parameters),
                    count_text(s.quantum_parameters), count_text(s.fusion_parameters),
                    count_text(s.frozen_parameters), count_text(s.trainable())});
  }
  std::cout << format_table({"run", "dataset", "backbone", "fusion", "qubits", "classical",
                             "quantum", "fusion", "frozen", "trainable"},
                            rows);
  return rows.size();
}

}  // namespace

int describe_command(const std::string& name, const std::vector<std::string>& args) {
  po::options_description options(
      "Build the model of a config (or of every distinct model of a sweep) and show its\n"
      "architecture and trainable parameter counts by part. Nothing is trained.\n\nOptions");
  std::string path;
  std::size_t run = 0;
  int64_t classes = 0, features = 0;
  std::size_t max_runs = kDefaultMaxRuns;
  options.add_options()("help,h", "show this help")("file", po::value(&path)->required(),
                                                    "a config file (one run) or a sweep file")(
      "run", po::value(&run), "describe run N (1-based, as `validate` numbers them) in detail")(
      "classes", po::value(&classes), "class count, for data sets whose shape is in the file")(
      "features", po::value(&features), "features per row, for csv data sets")(
      "max-runs", po::value(&max_runs)->default_value(max_runs), "refuse sweeps with more runs");
  po::positional_options_description positional;
  positional.add("file", 1);
  po::variables_map vm;
  if (!parse_arguments(name, "CONFIG_OR_SWEEP [--run N] [--classes K] [--features N]", options,
                       positional, args, vm))
    return 0;

  const std::vector<RunConfig> configs = configs_in(path, max_runs);
  if (run > configs.size()) {
    throw Error(path + " has " + std::to_string(configs.size()) + " runs; --run " +
                std::to_string(run) + " does not exist");
  }
  if (configs.size() == 1 || run > 0) {
    describe_one(configs[run > 0 ? run - 1 : 0], classes, features);
  } else {
    const std::size_t models = describe_distinct_models(configs, classes, features);
    std::cout << path << ": " << configs.size() << " runs, " << models
              << " distinct models (--run N for one in detail)\n";
  }
  return 0;
}

}  // namespace hqsweep
