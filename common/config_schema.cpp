// The table of config keys and the canonical form built from it.
#include "common/config_schema.h"

#include <algorithm>
#include <cctype>
#include <cinttypes>
#include <cmath>
#include <cstdio>

#include "common/catalogue.h"
#include "common/error.h"
#include "common/placeholders.h"
#include "common/text.h"

namespace hqsweep {

namespace {

using nlohmann::json;

const json* find_value(const FlatConfig& config, const std::string& path) {
  auto it = config.find(path);
  return it == config.end() ? nullptr : &it->second;
}

bool equals(const FlatConfig& config, const std::string& path, const char* value) {
  const json* v = find_value(config, path);
  return v != nullptr && v->is_string() && v->get<std::string>() == value;
}

const std::string* text_value(const FlatConfig& config, const std::string& path) {
  const json* v = find_value(config, path);
  return v != nullptr && v->is_string() ? v->get_ptr<const std::string*>() : nullptr;
}

const DatasetInfo* dataset_of(const FlatConfig& c) {
  const std::string* name = text_value(c, "dataset.name");
  return name != nullptr ? find_dataset(*name) : nullptr;
}
const BackboneInfo* backbone_of(const FlatConfig& c) {
  const std::string* name = text_value(c, "model.backbone");
  return name != nullptr ? find_backbone(*name) : nullptr;
}
const FusionInfo* fusion_of(const FlatConfig& c) {
  const std::string* name = text_value(c, "model.fusion");
  return name != nullptr ? find_fusion(*name) : nullptr;
}

bool starts_with(const std::string& text, const std::string& prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}

bool is_program(const FlatConfig& c) {
  return is_program_config(c);
}

// The keys a program run has: its seed, program.* and params.*.
bool program_key(const std::string& path) {
  return path == "seed" || starts_with(path, "program.") || starts_with(path, "params.");
}

bool is_probe(const FlatConfig& c) {
  const BackboneInfo* backbone = backbone_of(c);
  return backbone != nullptr && backbone->kind == BackboneKind::probe;
}
bool not_probe(const FlatConfig& c) {
  return !is_probe(c);
}

bool uses_backbone(const FlatConfig& c) {
  const FusionInfo* fusion = fusion_of(c);
  return fusion == nullptr || fusion->uses_backbone;
}

bool uses_quantum(const FlatConfig& c) {
  const FusionInfo* fusion = fusion_of(c);
  return not_probe(c) && (fusion == nullptr || fusion->uses_quantum);
}

bool dataset_is_image(const FlatConfig& c) {
  const DatasetInfo* dataset = dataset_of(c);
  return not_probe(c) && dataset != nullptr && dataset->kind == DataKind::image;
}

// Data sets without an official validation split get one carved from training data.
bool needs_val_split(const FlatConfig& c) {
  const DatasetInfo* dataset = dataset_of(c);
  return not_probe(c) && (dataset == nullptr || !dataset->official_val_split);
}

// Data sets without an official test split get one carved out as well.
bool needs_test_split(const FlatConfig& c) {
  const DatasetInfo* dataset = dataset_of(c);
  return not_probe(c) && dataset != nullptr && !dataset->official_test_split;
}

bool is_conv_backbone(const FlatConfig& c) {
  const BackboneInfo* backbone = backbone_of(c);
  return not_probe(c) && uses_backbone(c) && backbone != nullptr && backbone->convolutional;
}

bool is_torchvision_backbone(const FlatConfig& c) {
  const BackboneInfo* backbone = backbone_of(c);
  return uses_backbone(c) && backbone != nullptr && backbone->torchvision_family;
}

bool is_mlp(const FlatConfig& c) {
  const BackboneInfo* backbone = backbone_of(c);
  return uses_backbone(c) && backbone != nullptr && backbone->kind == BackboneKind::tabular;
}
bool uses_weights(const FlatConfig& c) {
  return not_probe(c) && uses_backbone(c);
}
bool is_cross_attention(const FlatConfig& c) {
  return not_probe(c) && equals(c, "model.fusion", "cross_attention");
}
bool is_sgd(const FlatConfig& c) {
  return not_probe(c) && equals(c, "train.optimizer", "sgd");
}
bool is_shf(const FlatConfig& c) {
  const FusionInfo* fusion = fusion_of(c);
  return not_probe(c) && fusion != nullptr && fusion->caches_features;
}
// SHF caches the circuit's outputs before its head trains, so its circuit is always fixed.
// SHF's own extraction keys apply unless the classical model trains with the run's train.*.
bool has_own_extraction(const FlatConfig& c) {
  return is_shf(c) && !equals(c, "extract.training", "run");
}
bool has_trainable_circuit(const FlatConfig& c) {
  return uses_quantum(c) && !is_shf(c);
}
bool has_decay_schedule(const FlatConfig& c) {
  return not_probe(c) &&
         (equals(c, "train.schedule", "step") || equals(c, "train.schedule", "plateau"));
}
bool has_gamma(const FlatConfig& c) {
  return has_decay_schedule(c) || (not_probe(c) && equals(c, "train.schedule", "multistep"));
}
bool is_multistep(const FlatConfig& c) {
  return not_probe(c) && equals(c, "train.schedule", "multistep");
}

// A condition under which a key applies, with the words the documentation shows for it.
struct Condition {
  bool (*test)(const FlatConfig&);
  const char* text;
};

const Condition kAlways{nullptr, ""};
const Condition kNotProbe{not_probe, "backbone is not probe"};
const Condition kUsesBackbone{uses_backbone, "fusion is not quantum"};
const Condition kUsesQuantum{uses_quantum, "fusion is not classical"};
const Condition kImageData{dataset_is_image, "image data set"};
const Condition kNeedsValSplit{needs_val_split, "no official validation split (not MedMNIST)"};
const Condition kNeedsTestSplit{needs_test_split, "tabular or image_folder data set"};
const Condition kConvBackbone{is_conv_backbone, "convolutional backbone"};
const Condition kTorchvisionBackbone{is_torchvision_backbone, "resnet* or efficientnet* backbone"};
const Condition kMlp{is_mlp, "backbone is mlp"};
const Condition kUsesWeights{uses_weights, "a backbone that is not probe"};
const Condition kCrossAttention{is_cross_attention, "fusion is cross_attention"};
const Condition kSgd{is_sgd, "optimizer is sgd"};
const Condition kShf{is_shf, "fusion is shf"};
const Condition kOwnExtraction{has_own_extraction, "fusion is shf and extract.training is extract"};
const Condition kTrainableCircuit{has_trainable_circuit, "fusion is not classical or shf"};
const Condition kDecaySchedule{has_decay_schedule, "schedule is step or plateau"};
const Condition kGamma{has_gamma, "schedule is step, plateau or multistep"};
const Condition kMultistep{is_multistep, "schedule is multistep"};
const Condition kProbe{is_probe, "backbone is probe"};
const Condition kProgram{is_program, "a program run (program.command)"};

ConfigKey key(std::string path, ValueKind kind, json default_value, std::string help,
              Condition applies = kAlways) {
  ConfigKey k;
  k.path = std::move(path);
  k.kind = kind;
  k.default_value = std::move(default_value);
  k.help = std::move(help);
  k.applies = applies.test;
  k.applies_when = applies.text;
  return k;
}

ConfigKey ranged(ConfigKey k, double minimum, double maximum, bool minimum_exclusive = false) {
  k.minimum = minimum;
  k.maximum = maximum;
  k.minimum_exclusive = minimum_exclusive;
  return k;
}

ConfigKey choice(std::string path, std::vector<std::string> choices, json default_value,
                 std::string help, Condition applies = kAlways) {
  ConfigKey k =
      key(std::move(path), ValueKind::choice, std::move(default_value), std::move(help), applies);
  k.choices = std::move(choices);
  return k;
}

std::vector<ConfigKey> build_keys() {
  using K = ValueKind;
  const json required;  // null
  return {
      ranged(key("seed", K::integer, 0,
                 "seed for weights, data order, augmentation and fixed circuits"),
             0, 2147483647),

      choice("dataset.name", dataset_names(), required, "data set", kNotProbe),
      key("dataset.path", K::string, "",
          "file or folder, relative to the data directory; \"\" = the set's usual file name",
          kNotProbe),
      ranged(key("dataset.image_size", K::integer, 0, "resize images to this size; 0 = as stored",
                 kImageData),
             0, 1024),
      ranged(key("dataset.channels", K::integer, 0, "1 or 3 (replicate grey to RGB); 0 = as stored",
                 kImageData),
             0, 3),
      ranged(key("dataset.classes", K::integer_list, json::array(),
                 "keep only these class labels (relabelled 0..k-1); [] = all", kNotProbe),
             0, 1000),
      ranged(key("dataset.per_class_limit", K::integer, 0,
                 "at most this many training samples per class; 0 = all", kNotProbe),
             0, 100000000),
      ranged(
          key("dataset.val_fraction", K::number, 0.15,
              "stratified validation share of the training data (sets without an official split)",
              kNeedsValSplit),
          0, 0.9, true),
      ranged(key("dataset.test_fraction", K::number, 0.2,
                 "stratified test share (sets without an official test split)", kNeedsTestSplit),
             0, 0.9, true),
      key("dataset.augment", K::boolean, false,
          "random flip, small rotation, padded crop in training", kImageData),
      key("dataset.normalize", K::boolean, true, "standardise with training-split statistics",
          kNotProbe),

      choice("model.backbone", backbone_names(), required,
             "classical branch (probe: a synthetic task for testing a scheduler or an allocation)",
             kUsesBackbone),
      choice("model.fusion", fusion_names(), "classical",
             "how the quantum branch joins the classical one", kNotProbe),
      ranged(key("model.width", K::number, 1.0, "channel width multiplier for cheap CPU sweeps",
                 kConvBackbone),
             0.03125, 4),
      key("model.small_input", K::boolean, true,
          "3x3 stride-1 stem without max-pool for small images", kTorchvisionBackbone),
      ranged(key("model.hidden", K::integer_list, json::array({64, 32}),
                 "hidden layer sizes of mlp", kMlp),
             1, 65536),
      ranged(key("model.head_hidden", K::integer, 32,
                 "hidden units of the classifier head; 0 = linear", kNotProbe),
             0, 65536),
      ranged(key("model.dropout", K::number, 0.1, "dropout in the head", kNotProbe), 0, 0.95),
      key("model.weights", K::string, "", "start the backbone from this checkpoint", kUsesWeights),
      key("model.freeze", K::boolean, false, "do not train the backbone", kUsesWeights),
      ranged(key("model.attention_heads", K::integer, 2, "heads of the cross-attention block",
                 kCrossAttention),
             1, 64),

      ranged(key("quantum.qubits", K::integer, 4, "qubits of the circuit", kUsesQuantum), 1, 20),
      ranged(key("quantum.layers", K::integer, 2, "ansatz depth", kUsesQuantum), 1, 100),
      choice("quantum.ansatz",
             {"hardware_efficient", "strongly_entangling", "basic_entangler", "qft"},
             "hardware_efficient", "variational template", kUsesQuantum),
      choice("quantum.embedding",
             {"angle_rx", "angle_ry", "angle_rz", "amplitude", "zz_feature_map"}, "angle_ry",
             "how features enter the circuit", kUsesQuantum),
      key("quantum.reupload", K::boolean, false, "re-encode the inputs before every layer",
          kUsesQuantum),
      choice("quantum.scaling", {"pi_tanh", "arctan", "none"}, "pi_tanh",
             "squashing of projected features into angles", kUsesQuantum),
      choice("quantum.measure", {"z", "z_zz"}, "z",
             "z: Z expectation of each qubit; z_zz: also Z_i Z_i+1 of neighbours", kUsesQuantum),
      key("quantum.trainable", K::boolean, true,
          "false: a fixed circuit drawn from the seed (shf: always fixed)", kTrainableCircuit),
      ranged(key("quantum.lr", K::number, 0.0, "learning rate of circuit parameters; 0 = train.lr",
                 kTrainableCircuit),
             0, 10),
      ranged(key("quantum.shots", K::integer, 0, "sampled measurement at evaluation; 0 = exact",
                 kUsesQuantum),
             0, 100000000),

      ranged(key("train.epochs", K::integer, 10, "training epochs", kNotProbe), 1, 100000),
      ranged(key("train.batch_size", K::integer, 32, "samples per step", kNotProbe), 1, 65536),
      ranged(key("train.lr", K::number, 1e-3, "learning rate", kNotProbe), 0, 10, true),
      choice("train.optimizer", {"adam", "adamw", "sgd"}, "adam", "optimiser", kNotProbe),
      ranged(key("train.momentum", K::number, 0.9, "SGD momentum", kSgd), 0, 0.999),
      key("train.nesterov", K::boolean, false, "Nesterov momentum", kSgd),
      ranged(key("train.weight_decay", K::number, 0.0, "weight decay", kNotProbe), 0, 1),
      choice("train.schedule", {"none", "cosine", "step", "plateau", "multistep"}, "none",
             "learning-rate schedule", kNotProbe),
      ranged(key("train.step_size", K::integer, 10,
                 "step: epochs between decays; plateau: epochs without improvement before one",
                 kDecaySchedule),
             1, 100000),
      ranged(key("train.gamma", K::number, 0.1,
                 "decay factor of step, plateau and multistep schedules", kGamma),
             0, 1, true),
      ranged(key("train.milestones", K::integer_list, json::array({50, 75}),
                 "multistep: epochs after which the learning rate is multiplied by gamma "
                 "(PyTorch's MultiStepLR; MedMNIST's recipe: [50, 75] of 100)",
                 kMultistep),
             1, 100000),
      ranged(key("train.warmup_epochs", K::integer, 0, "linear warm-up epochs", kNotProbe), 0,
             100000),
      ranged(key("train.grad_clip", K::number, 0.0, "clip the gradient norm to this; 0 = off",
                 kNotProbe),
             0, 1e6),
      choice("train.class_weighting", {"none", "balanced"}, "none",
             "loss weights for imbalanced sets", kNotProbe),
      choice("train.sampler", {"uniform", "balanced"}, "uniform",
             "balanced: class-balanced batches", kNotProbe),
      ranged(key("train.patience", K::integer, 0, "early stopping after this many epochs; 0 = off",
                 kNotProbe),
             0, 100000),
      choice("train.monitor", {"val_loss", "val_acc", "val_auc", "val_f1"}, "val_auc",
             "validation metric for early stopping and best-epoch restore", kNotProbe),
      choice("train.threshold", {"f1", "youden"}, "f1",
             "how the binary decision threshold is tuned on validation", kNotProbe),

      choice("extract.training", {"extract", "run"}, "extract",
             "SHF: how the classical model whose backbone gives the cached features trains: "
             "extract = extract.epochs, extract.lr, extract.batch_size (other training keys at "
             "their defaults); run = the run's own train.*, so that the model is the classical "
             "control of the same recipe and seed",
             kShf),
      ranged(key("extract.epochs", K::integer, 10,
                 "SHF: epochs of the classical model whose backbone gives the cached features; "
                 "0 = the backbone as loaded (model.weights) or initialised",
                 kOwnExtraction),
             0, 100000),
      ranged(key("extract.lr", K::number, 1e-3, "SHF: learning rate (Adam) of that model",
                 kOwnExtraction),
             0, 10, true),
      ranged(key("extract.batch_size", K::integer, 32, "SHF: batch size of that model",
                 kOwnExtraction),
             1, 65536),

      ranged(key("probe.duration_ms", K::number, 0.0, "how long the probe task runs", kProbe), 0,
             1e8),
      choice("probe.failure", {"none", "error", "segfault", "abort", "hang", "diverge"}, "none",
             "how the probe task ends", kProbe),
      ranged(key("probe.epochs", K::integer, 0,
                 "epochs of the probe task, each reporting probe_objective (0: none)", kProbe),
             0, 100000),
      choice("probe.objective", {"sphere", "branin"}, "sphere",
             "the function of (probe.x, probe.y) the probe reports, for testing studies", kProbe),
      ranged(key("probe.x", K::number, 0.0, "the probe objective's first argument", kProbe), -1e6,
             1e6),
      ranged(key("probe.y", K::number, 0.0, "the probe objective's second argument", kProbe), -1e6,
             1e6),
      ranged(key("probe.seed_offset", K::number, 0.0,
                 "added to the probe objective once per seed number (seed x this), so that seeds "
                 "differ, for testing studies over seeds",
                 kProbe),
             -1e6, 1e6),

      key("program.command", K::string_list, required,
          "the user's program as argv (run directly, no shell), with placeholders such as "
          "{params.lr} and {run_dir} (docs/programs.md)",
          kProgram),
      key("program.cwd", K::string, ".",
          "the program's working directory (placeholders allowed), relative to hqsweep's",
          kProgram),
      key("program.env.*", K::string, required,
          "an environment variable for the program (placeholders allowed)", kProgram),
      ranged(key("program.memory", K::integer, 0,
                 "MiB of resident memory the program's processes may use together; past it the "
                 "task is killed and fails; 0 = no limit",
                 kProgram),
             0, 1e9),
      ranged(key("program.epochs", K::integer, 0,
                 "epochs of a full-length run, when the program reports epochs (Hyperband's "
                 "brackets and the study report need it); 0 = not said",
                 kProgram),
             0, 100000),
      key("params.*", K::free, required,
          "the program's own settings: numbers, booleans, strings or lists, typed by their values",
          kProgram),
  };
}

std::string kind_name(const ConfigKey& key) {
  switch (key.kind) {
    case ValueKind::integer:
      return "an integer";
    case ValueKind::number:
      return "a number";
    case ValueKind::boolean:
      return "true or false";
    case ValueKind::string:
      return "a string";
    case ValueKind::choice:
      return "a string";
    case ValueKind::integer_list:
      return "a list of integers";
    case ValueKind::string_list:
      return "a list of strings";
    case ValueKind::free:
      return "a number, boolean, string or list";
  }
  return "a value";
}

std::string format_number(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.10g", value);
  return buffer;
}

std::string range_text(const ConfigKey& key) {
  return format_number(key.minimum) + (key.minimum_exclusive ? " (exclusive)" : "") + ".." +
         format_number(key.maximum);
}

std::string check_range(const ConfigKey& key, double value, const json& shown) {
  bool below = key.minimum_exclusive ? value <= key.minimum : value < key.minimum;
  if (below || value > key.maximum) {
    return shown.dump() + " is out of range " + range_text(key);
  }
  return "";
}

std::string check_integer(const ConfigKey& key, const json& value, json* normalized) {
  if (value.is_number_integer()) {
    *normalized = value.get<std::int64_t>();
  } else if (value.is_number_float() && std::isfinite(value.get<double>()) &&
             value.get<double>() == std::floor(value.get<double>()) &&
             std::fabs(value.get<double>()) < 9e15) {
    *normalized = static_cast<std::int64_t>(value.get<double>());
  } else {
    return "expected an integer, found " + value.dump();
  }
  return check_range(key, normalized->get<double>(), value);
}

// Levenshtein distance, for suggestions.
std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

void flatten_into(const json& value, const std::string& prefix, FlatConfig& out) {
  if (value.is_object()) {
    for (const auto& [k, v] : value.items()) {
      flatten_into(v, prefix.empty() ? k : prefix + "." + k, out);
    }
  } else {
    out[prefix] = value;
  }
}

bool is_family(const ConfigKey& key) {
  return key.path.size() > 2 && key.path.compare(key.path.size() - 2, 2, ".*") == 0;
}

// Refuses a placeholder in `text` that names neither a run fact nor one of the config's keys.
void check_placeholders(const std::string& where, const std::string& text,
                        const FlatConfig& canonical) {
  std::vector<std::string> names;
  try {
    names = placeholders_in(text);
  } catch (const Error& e) {
    throw Error(where + ": " + e.what());
  }
  const std::vector<std::string>& facts = program_run_facts();
  for (const std::string& name : names) {
    if (canonical.count(name) || std::find(facts.begin(), facts.end(), name) != facts.end())
      continue;
    std::vector<std::string> known;
    for (const std::string& fact : facts) known.push_back("{" + fact + "}");
    for (const auto& entry : canonical) {
      if (starts_with(entry.first, "params.")) known.push_back("{" + entry.first + "}");
    }
    throw Error(where + ": unknown placeholder {" + name + "}; known: " + join(known, ", "));
  }
}

bool is_environment_name(const std::string& name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  for (unsigned char c : name) {
    if (!std::isalnum(c) && c != '_') return false;
  }
  return true;
}

// A program run's canonical form: its seed, program.* and params.*; placeholders checked.
json canonical_program_config(const FlatConfig& config) {
  FlatConfig canonical;
  for (const ConfigKey& key : config_keys()) {
    if (!program_key(key.path) || is_family(key)) continue;
    auto it = config.find(key.path);
    if (it != config.end()) {
      json normalized;
      const std::string problem = check_config_value(key, it->second, &normalized);
      if (!problem.empty()) throw Error(key.path + ": " + problem);
      canonical[key.path] = normalized;
    } else if (!key.default_value.is_null()) {
      canonical[key.path] = key.default_value;
    } else {
      throw Error(key.path + ": required, but not given (" + key.help + ")");
    }
  }
  for (const auto& [path, value] : config) {
    const ConfigKey& key = *find_config_key(path);
    if (!is_family(key)) continue;
    json normalized;
    const std::string problem = check_config_value(key, value, &normalized);
    if (!problem.empty()) throw Error(path + ": " + problem);
    canonical[path] = normalized;
  }
  const std::vector<std::string> command = canonical["program.command"];
  if (command.front().empty()) throw Error("program.command: the program's name is empty");
  for (std::size_t i = 0; i < command.size(); ++i)
    check_placeholders("program.command[" + std::to_string(i) + "]", command[i], canonical);
  check_placeholders("program.cwd", canonical["program.cwd"].get<std::string>(), canonical);
  for (const auto& [path, value] : canonical) {
    if (!starts_with(path, "program.env.")) continue;
    const std::string name = path.substr(std::string("program.env.").size());
    if (!is_environment_name(name))
      throw Error(path + ": \"" + name + "\" is not an environment variable name");
    if (starts_with(name, "HQSWEEP_"))
      throw Error(path + ": HQSWEEP_* variables are set by hqsweep (docs/programs.md)");
    check_placeholders(path, value.get<std::string>(), canonical);
  }
  return unflatten_config(canonical);
}

}  // namespace

const std::vector<ConfigKey>& config_keys() {
  static const std::vector<ConfigKey> keys = build_keys();
  return keys;
}

const ConfigKey* find_config_key(const std::string& path) {
  for (const auto& key : config_keys()) {
    if (key.path == path) return &key;
  }
  for (const auto& key : config_keys()) {
    if (key.path.size() < 2 || key.path.compare(key.path.size() - 2, 2, ".*") != 0) continue;
    const std::string family = key.path.substr(0, key.path.size() - 1);  // "params."
    if (path.size() > family.size() && starts_with(path, family)) return &key;
  }
  return nullptr;
}

std::string closest_config_key(const std::string& path) {
  std::string best;
  std::size_t best_distance = 4;  // more edits than this is not a typo
  for (const auto& key : config_keys()) {
    std::size_t d = edit_distance(path, key.path);
    // A right leaf under a wrong section ("qubits" for "quantum.qubits") counts as close too.
    std::string leaf = key.path.substr(key.path.rfind('.') + 1);
    if (path == leaf ||
        (path.size() > leaf.size() &&
         path.compare(path.size() - leaf.size() - 1, std::string::npos, "." + leaf) == 0)) {
      d = std::min<std::size_t>(d, 1);
    }
    if (d < best_distance) {
      best_distance = d;
      best = key.path;
    }
  }
  return best;
}

std::string config_keys_markdown() {
  std::string out =
      "| key | type | default | allowed | applies when | meaning |\n"
      "|---|---|---|---|---|---|\n";
  for (const ConfigKey& k : config_keys()) {
    std::string type, allowed;
    switch (k.kind) {
      case ValueKind::integer:
        type = "integer";
        allowed = range_text(k);
        break;
      case ValueKind::number:
        type = "number";
        allowed = range_text(k);
        break;
      case ValueKind::boolean:
        type = "boolean";
        break;
      case ValueKind::string:
        type = "string";
        break;
      case ValueKind::integer_list:
        type = "integer list";
        allowed = "elements " + range_text(k);
        break;
      case ValueKind::string_list:
        type = "string list";
        break;
      case ValueKind::free:
        type = "any";
        break;
      case ValueKind::choice:
        type = "choice";
        for (const auto& c : k.choices) allowed += (allowed.empty() ? "" : ", ") + c;
        break;
    }
    std::string fallback =
        k.default_value.is_null() ? "required" : "`" + k.default_value.dump() + "`";
    out += "| `" + k.path + "` | " + type + " | " + fallback + " | " + allowed + " | " +
           (k.applies_when.empty() ? "always" : k.applies_when) + " | " + k.help + " |\n";
  }
  return out;
}

std::string check_config_value(const ConfigKey& key, const json& value, json* normalized) {
  switch (key.kind) {
    case ValueKind::integer:
      return check_integer(key, value, normalized);
    case ValueKind::number:
      if (!value.is_number() || !std::isfinite(value.get<double>())) {
        return "expected a number, found " + value.dump();
      }
      *normalized = value.get<double>();
      return check_range(key, value.get<double>(), value);
    case ValueKind::boolean:
      if (!value.is_boolean()) return "expected true or false, found " + value.dump();
      *normalized = value;
      return "";
    case ValueKind::string:
      if (!value.is_string()) return "expected a string, found " + value.dump();
      *normalized = value;
      return "";
    case ValueKind::choice: {
      std::string allowed;
      for (const auto& c : key.choices) allowed += (allowed.empty() ? "" : ", ") + c;
      if (!value.is_string() || std::find(key.choices.begin(), key.choices.end(),
                                          value.get<std::string>()) == key.choices.end()) {
        return value.dump() + " is not one of " + allowed;
      }
      *normalized = value;
      return "";
    }
    case ValueKind::integer_list: {
      if (!value.is_array()) return "expected a list of integers, found " + value.dump();
      json out = json::array();
      for (std::size_t i = 0; i < value.size(); ++i) {
        json element;
        std::string problem = check_integer(key, value[i], &element);
        if (!problem.empty()) return "element " + std::to_string(i) + ": " + problem;
        out.push_back(element);
      }
      *normalized = out;
      return "";
    }
    case ValueKind::string_list: {
      if (!value.is_array() || value.empty())
        return "expected a non-empty list of strings, found " + value.dump();
      for (std::size_t i = 0; i < value.size(); ++i) {
        if (!value[i].is_string())
          return "element " + std::to_string(i) + ": expected a string, found " + value[i].dump();
      }
      *normalized = value;
      return "";
    }
    case ValueKind::free: {
      auto scalar = [](const json& v) {
        return v.is_boolean() || v.is_string() || (v.is_number() && std::isfinite(v.get<double>()));
      };
      bool ok = scalar(value);
      if (value.is_array()) {
        ok = true;
        for (const json& element : value) ok = ok && scalar(element);
      }
      if (!ok) return "expected a number, boolean, string or list of them, found " + value.dump();
      *normalized = value;
      return "";
    }
  }
  return "unsupported value " + value.dump() + " (" + kind_name(key) + " expected)";
}

std::string config_value_text(const FlatConfig& config, const std::string& key) {
  auto it = config.find(key);
  if (it == config.end()) return "-";
  return it->second.is_string() ? it->second.get<std::string>() : it->second.dump();
}

FlatConfig flatten_config(const json& config) {
  FlatConfig out;
  if (!config.is_object()) throw Error("a config must be a JSON object, found " + config.dump());
  flatten_into(config, "", out);
  return out;
}

json unflatten_config(const FlatConfig& flat) {
  json out = json::object();
  for (const auto& [path, value] : flat) {
    std::string pointer = "/" + path;
    std::replace(pointer.begin(), pointer.end(), '.', '/');
    out[json::json_pointer(pointer)] = value;
  }
  return out;
}

bool is_program_config(const FlatConfig& config) {
  for (const auto& entry : config) {
    if (starts_with(entry.first, "program.")) return true;
  }
  return false;
}

bool key_applies(const std::string& path, const FlatConfig& partial) {
  const ConfigKey* target = find_config_key(path);
  if (target == nullptr) return false;
  if (is_program_config(partial)) return program_key(path);
  if (program_key(path) && path != "seed") return false;
  if (target->applies == nullptr) return true;
  FlatConfig filled;
  for (const auto& key : config_keys()) {
    auto it = partial.find(key.path);
    json normalized;
    if (it != partial.end() && check_config_value(key, it->second, &normalized).empty()) {
      filled[key.path] = normalized;
    } else if (!key.default_value.is_null()) {
      filled[key.path] = key.default_value;
    }
  }
  return target->applies(filled);
}

json canonical_config(const FlatConfig& config) {
  const bool program = is_program_config(config);
  for (const auto& [path, value] : config) {
    if (find_config_key(path) == nullptr) {
      std::string suggestion = closest_config_key(path);
      throw Error(path + ": unknown key" +
                  (suggestion.empty() ? "" : "; did you mean \"" + suggestion + "\"?"));
    }
    if (program && !program_key(path)) {
      throw Error(path +
                  ": a program run (program.command) has no built-in model keys; give the "
                  "program's own settings as params.* (docs/programs.md)");
    }
    if (!program && program_key(path) && path != "seed") {
      throw Error(path + ": params.* are a program run's settings; give program.command too " +
                  "(docs/programs.md)");
    }
  }
  if (program) return canonical_program_config(config);
  // Fill in defaults first: whether a key applies depends on other keys' final values.
  FlatConfig filled;
  for (const auto& key : config_keys()) {
    if (program_key(key.path) && key.path != "seed") continue;  // a program run's keys
    auto it = config.find(key.path);
    if (it != config.end()) {
      json normalized;
      std::string problem = check_config_value(key, it->second, &normalized);
      if (!problem.empty()) throw Error(key.path + ": " + problem);
      filled[key.path] = normalized;
    } else if (!key.default_value.is_null()) {
      filled[key.path] = key.default_value;
    }
  }
  FlatConfig canonical;
  for (const auto& key : config_keys()) {
    if (key.applies != nullptr && !key.applies(filled)) continue;
    auto it = filled.find(key.path);
    if (it == filled.end()) throw Error(key.path + ": required, but not given (" + key.help + ")");
    canonical[key.path] = it->second;
  }

  // Rules across keys.
  auto text = [&](const char* path) {
    auto it = canonical.find(path);
    return it == canonical.end() ? std::string() : it->second.get<std::string>();
  };
  const std::string dataset = text("dataset.name");
  const std::string backbone = text("model.backbone");
  if (!dataset.empty() && !backbone.empty()) {
    const DataKind data = dataset_info(dataset).kind;
    const BackboneKind takes = backbone_info(backbone).kind;
    if (data == DataKind::tabular && takes == BackboneKind::image) {
      throw Error("model.backbone: \"" + backbone + "\" takes images, but dataset \"" + dataset +
                  "\" is tabular; use \"mlp\"");
    }
    if (data == DataKind::image && takes == BackboneKind::tabular) {
      throw Error("model.backbone: \"" + backbone + "\" takes tabular data, but dataset \"" +
                  dataset + "\" holds images");
    }
  }
  if (!dataset.empty() && dataset_info(dataset).usual_file.empty() &&
      text("dataset.path").empty()) {
    throw Error("dataset.path: required for dataset \"" + dataset + "\"");
  }
  if (canonical.count("dataset.channels") && canonical["dataset.channels"] == 2) {
    throw Error("dataset.channels: 2 is not allowed; use 0 (as stored), 1 or 3");
  }
  return unflatten_config(canonical);
}

json canonical_config(const json& config) {
  return canonical_config(flatten_config(config));
}

std::string run_id(const json& canonical) {
  // FNV-1a, 64 bit: simple enough to recompute from Python (see docs/sweep-format.md).
  std::uint64_t hash = 14695981039346656037ULL;
  for (unsigned char c : canonical.dump()) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  char buffer[17];
  std::snprintf(buffer, sizeof buffer, "%016" PRIx64, hash);
  return buffer;
}

}  // namespace hqsweep
