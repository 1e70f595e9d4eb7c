// `hqsweep describe CONFIG_OR_SWEEP`.
#include "orchestrator/model_commands.h"

#include <iostream>
#include <set>

#include <fmt/format.h>
#include <boost/program_options.hpp>

#include "common/config_schema.h"
#include "common/error.h"
#include "common/json_source.h"
#include "orchestrator/command_options.h"
#include "orchestrator/sweep.h"
#include "orchestrator/text_table.h"

namespace hqsweep {

namespace {

namespace po = boost::program_options;

// The runs of a sweep file, or the one run a config file describes.
std::vector<nlohmann::json> configs_in(const std::string& path) {
  std::vector<nlohmann::json> configs;
  for (const RunSpec& run : read_runs(path)) configs.push_back(run.config);
  return configs;
}

std::string text_of(const FlatConfig& flat, const std::string& key) {
  auto it = flat.find(key);
  if (it == flat.end()) return "-";
  return it->second.is_string() ? it->second.get<std::string>() : it->second.dump();
}

std::string count_text(int64_t count) {
  if (count >= 1000000) return fmt::format("{:.2f}M", count / 1e6);
  if (count >= 10000) return fmt::format("{:.1f}k", count / 1e3);
  return std::to_string(count);
}

}  // namespace

InputShape nominal_input(const nlohmann::json& config, int64_t classes, int64_t features) {
  const FlatConfig flat = flatten_config(config);
  const std::string dataset = text_of(flat, "dataset.name");
  InputShape shape;
  struct Known {
    const char* name;
    int64_t channels, size, features, classes;
  } known[] = {{"breastmnist", 1, 28, 0, 2}, {"fashion_mnist", 1, 28, 0, 10},
               {"mnist", 1, 28, 0, 10},      {"wdbc", 0, 0, 30, 2},
               {"wine", 0, 0, 13, 3},        {"digits", 0, 0, 64, 10}};
  bool found = false;
  for (const Known& k : known) {
    if (dataset != k.name) continue;
    shape = InputShape{k.channels, k.size, k.features, k.classes};
    found = true;
  }
  if (!found) {
    if (is_tabular_dataset(dataset)) {
      if (features < 1 || classes < 2) {
        throw Error("dataset " + dataset +
                    ": its shape comes from the file; give --features N and --classes K");
      }
      shape.features = features;
    } else {
      if (classes < 2) {
        throw Error("dataset " + dataset +
                    ": its class count comes from the file; give --classes K");
      }
      shape.channels = 1;
      shape.image_size = 28;
    }
  }
  if (!shape.tabular()) {
    if (flat.count("dataset.image_size") && flat.at("dataset.image_size").get<int64_t>() > 0)
      shape.image_size = flat.at("dataset.image_size").get<int64_t>();
    if (flat.count("dataset.channels") && flat.at("dataset.channels").get<int64_t>() > 0)
      shape.channels = flat.at("dataset.channels").get<int64_t>();
  }
  if (flat.count("dataset.classes") && !flat.at("dataset.classes").empty())
    shape.classes = static_cast<int64_t>(flat.at("dataset.classes").size());
  if (classes > 0) shape.classes = classes;
  if (features > 0 && shape.tabular()) shape.features = features;
  return shape;
}

int describe_command(const std::string& name, const std::vector<std::string>& args) {
  po::options_description options(
      "Build the model of a config (or of every distinct model of a sweep) and show its\n"
      "architecture and trainable parameter counts by part. Nothing is trained.\n\nOptions");
  std::string path;
  std::size_t run = 0;
  int64_t classes = 0, features = 0;
  options.add_options()("help,h", "show this help")("file", po::value(&path)->required(),
                                                    "a config file (one run) or a sweep file")(
      "run", po::value(&run), "describe run N (1-based, as `validate` numbers them) in detail")(
      "classes", po::value(&classes), "class count, for data sets whose shape is in the file")(
      "features", po::value(&features), "features per row, for csv data sets");
  po::positional_options_description positional;
  positional.add("file", 1);
  po::variables_map vm;
  if (!parse_arguments(name, "CONFIG_OR_SWEEP [--run N] [--classes K] [--features N]", options,
                       positional, args, vm))
    return 0;

  std::vector<nlohmann::json> configs = configs_in(path);
  if (run > configs.size()) {
    throw Error(path + " has " + std::to_string(configs.size()) + " runs; --run " +
                std::to_string(run) + " does not exist");
  }
  if (configs.size() == 1 || run > 0) {
    const nlohmann::json& config = configs[run > 0 ? run - 1 : 0];
    InputShape input = nominal_input(config, classes, features);
    BuiltModel built = build_model(config, input);
    const ModelSummary& s = built.summary;
    std::cout << "run " << run_id(config) << ": "
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
    return 0;
  }

  // Several runs: one row per distinct model (data set, model and quantum keys).
  std::vector<std::vector<std::string>> rows;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < configs.size(); ++i) {
    FlatConfig flat = flatten_config(configs[i]);
    FlatConfig model_part;
    for (const auto& [key, value] : flat)
      if (key.rfind("dataset.", 0) == 0 || key.rfind("model.", 0) == 0 ||
          key.rfind("quantum.", 0) == 0)
        model_part[key] = value;
    if (!seen.insert(nlohmann::json(model_part).dump()).second) continue;
    BuiltModel built = build_model(configs[i], nominal_input(configs[i], classes, features));
    const ModelSummary& s = built.summary;
    rows.push_back({std::to_string(i + 1), text_of(flat, "dataset.name"),
                    text_of(flat, "model.backbone"), text_of(flat, "model.fusion"),
                    text_of(flat, "quantum.qubits"), count_text(s.classical_parameters),
                    count_text(s.quantum_parameters), count_text(s.fusion_parameters),
                    count_text(s.frozen_parameters), count_text(s.trainable())});
  }
  std::cout << format_table({"run", "dataset", "backbone", "fusion", "qubits", "classical",
                             "quantum", "fusion", "frozen", "trainable"},
                            rows);
  std::cout << path << ": " << configs.size() << " runs, " << rows.size()
            << " distinct models (--run N for one in detail)\n";
  return 0;
}

}  // namespace hqsweep
