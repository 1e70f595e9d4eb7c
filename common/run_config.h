// A run's configuration as typed structs, built once from its canonical JSON. Every value comes
// from the canonical config; a key that does not apply to this run (quantum.* of a classical
// model) holds the schema's default, so no reader restates a default.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/catalogue.h"

namespace hqsweep {

struct DatasetConfig {
  const DatasetInfo* info = nullptr;     // the catalogue's entry; null for a probe
  std::string name, path;                // path "" = the set's usual file
  int64_t image_size = 0, channels = 0;  // 0 = as stored
  std::vector<int64_t> classes;          // [] = all
  int64_t per_class_limit = 0;
  double val_fraction = 0, test_fraction = 0;
  bool augment = false, normalize = false;
};

struct ModelConfig {
  const BackboneInfo* backbone_info = nullptr;  // null for fusion quantum
  std::string backbone;                         // "" for fusion quantum
  Fusion fusion = Fusion::classical;
  double width = 0;
  bool small_input = false;
  std::vector<int64_t> hidden;
  int64_t head_hidden = 0;
  double dropout = 0;
  std::string weights;
  bool freeze = false;
  int64_t attention_heads = 0;
};

struct QuantumConfig {
  int qubits = 0, layers = 0;
  std::string ansatz, embedding, scaling, measure;
  bool reupload = false;
  bool trainable = false;  // false for shf, whose circuit is always fixed
  double lr = 0;           // 0 = train.lr
  int64_t shots = 0;
};

struct TrainConfig {
  int64_t epochs = 0, batch_size = 0;
  double lr = 0;
  std::string optimizer;
  double momentum = 0;
  bool nesterov = false;
  double weight_decay = 0;
  std::string schedule;
  int64_t step_size = 0;
  std::vector<int64_t> milestones;  // multistep: epochs after which lr *= gamma
  double gamma = 0;
  int64_t warmup_epochs = 0;
  double grad_clip = 0;
  std::string class_weighting, sampler;
  int64_t patience = 0;
  std::string monitor, threshold;
};

struct ExtractConfig {
  bool trains_like_run = false;  // extract.training = run: the run's own train.*
  int64_t epochs = 0;
  double lr = 0;
  int64_t batch_size = 0;
};

struct ProbeConfig {
  double duration_ms = 0;
  std::string failure;
  int64_t epochs = 0;     // per-epoch reports of the objective; 0: none
  std::string objective;  // sphere or branin, of (x, y)
  double x = 0, y = 0;
  double seed_shift = 0;  // added to the objective: probe.seed_offset x the run's seed
};

// A program run (docs/programs.md): the user's command and its limits; placeholders are filled
// in by the worker.
struct ProgramConfig {
  std::vector<std::string> command;
  std::string cwd;
  std::map<std::string, std::string> env;
  int64_t memory_mib = 0;  // 0: no limit
  int64_t epochs = 0;      // a full-length run's epochs; 0: not said
};

struct RunConfig {
  nlohmann::json canonical;  // what is stored and hashed
  std::string run_id;
  uint64_t seed = 0;
  bool is_probe = false;    // model.backbone probe: the synthetic task, nothing else applies
  bool is_program = false;  // program.command: the user's program; only `program` applies
  DatasetConfig dataset;
  ModelConfig model;
  QuantumConfig quantum;
  TrainConfig train;
  ExtractConfig extract;
  ProbeConfig probe;
  ProgramConfig program;

  bool is_builtin() const { return !is_probe && !is_program; }
  bool uses_backbone() const { return is_builtin() && fusion_info(model.fusion).uses_backbone; }
  bool uses_quantum() const { return is_builtin() && fusion_info(model.fusion).uses_quantum; }
  bool caches_features() const { return is_builtin() && fusion_info(model.fusion).caches_features; }
  // The epochs of a full-length run (train.epochs, probe.epochs or program.epochs; 0: unknown).
  int64_t full_epochs() const;
};

// Canonicalises `config` (common/config_schema.h; throws Error naming the key) and reads it.
RunConfig make_run_config(const nlohmann::json& config);
// Reads a config that is canonical already (from a sweep's expansion or a results file).
RunConfig run_config_from_canonical(const nlohmann::json& canonical);

}  // namespace hqsweep
