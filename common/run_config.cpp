// Canonical JSON -> RunConfig.
#include "common/run_config.h"

#include "common/config_schema.h"
#include "common/error.h"

namespace hqsweep {

namespace {

using nlohmann::json;

// A canonical config's value at `path`, or the schema's default where the key does not apply.
class Reader {
 public:
  explicit Reader(const json& canonical) : flat_(flatten_config(canonical)) {}

  template <typename T>
  T get(const std::string& path) const {
    auto it = flat_.find(path);
    if (it != flat_.end()) return it->second.get<T>();
    const ConfigKey* key = find_config_key(path);
    HQSWEEP_CHECK(key != nullptr, "no config key " << path);
    if (key->default_value.is_null()) return T{};  // required where it applies, absent here
    return key->default_value.get<T>();
  }

 private:
  FlatConfig flat_;
};

// The program part of a program run's config.
ProgramConfig program_config(const json& canonical) {
  const json& p = canonical.at("program");
  ProgramConfig out;
  out.command = p.at("command").get<std::vector<std::string>>();
  out.cwd = p.at("cwd").get<std::string>();
  if (p.contains("env")) out.env = p["env"].get<std::map<std::string, std::string>>();
  out.memory_mib = p.at("memory").get<int64_t>();
  out.epochs = p.at("epochs").get<int64_t>();
  return out;
}

}  // namespace

int64_t RunConfig::full_epochs() const {
  if (is_probe) return probe.epochs;
  if (is_program) return program.epochs;
  return train.epochs;
}

RunConfig run_config_from_canonical(const json& canonical) {
  const Reader r(canonical);
  RunConfig c;
  c.canonical = canonical;
  c.run_id = run_id(canonical);
  c.seed = r.get<uint64_t>("seed");
  if (canonical.contains("program")) {
    c.is_program = true;
    c.program = program_config(canonical);
    return c;
  }
  const std::string backbone = r.get<std::string>("model.backbone");
  c.is_probe = !backbone.empty() && backbone_info(backbone).kind == BackboneKind::probe;

  DatasetConfig& d = c.dataset;
  d.name = r.get<std::string>("dataset.name");
  d.info = d.name.empty() ? nullptr : &dataset_info(d.name);
  d.path = r.get<std::string>("dataset.path");
  d.image_size = r.get<int64_t>("dataset.image_size");
  d.channels = r.get<int64_t>("dataset.channels");
  d.classes = r.get<std::vector<int64_t>>("dataset.classes");
  d.per_class_limit = r.get<int64_t>("dataset.per_class_limit");
  d.val_fraction = r.get<double>("dataset.val_fraction");
  d.test_fraction = r.get<double>("dataset.test_fraction");
  d.augment = r.get<bool>("dataset.augment");
  d.normalize = r.get<bool>("dataset.normalize");

  ModelConfig& m = c.model;
  m.fusion = fusion_info(r.get<std::string>("model.fusion")).fusion;
  if (fusion_info(m.fusion).uses_backbone) {
    m.backbone = backbone;
    m.backbone_info = backbone.empty() ? nullptr : &backbone_info(backbone);
  }
  m.width = r.get<double>("model.width");
  m.small_input = r.get<bool>("model.small_input");
  m.hidden = r.get<std::vector<int64_t>>("model.hidden");
  m.head_hidden = r.get<int64_t>("model.head_hidden");
  m.dropout = r.get<double>("model.dropout");
  m.weights = r.get<std::string>("model.weights");
  m.freeze = r.get<bool>("model.freeze");
  m.attention_heads = r.get<int64_t>("model.attention_heads");

  QuantumConfig& q = c.quantum;
  q.qubits = r.get<int>("quantum.qubits");
  q.layers = r.get<int>("quantum.layers");
  q.ansatz = r.get<std::string>("quantum.ansatz");
  q.embedding = r.get<std::string>("quantum.embedding");
  q.reupload = r.get<bool>("quantum.reupload");
  q.scaling = r.get<std::string>("quantum.scaling");
  q.measure = r.get<std::string>("quantum.measure");
  q.trainable = !fusion_info(m.fusion).caches_features && r.get<bool>("quantum.trainable");
  q.lr = r.get<double>("quantum.lr");
  q.shots = r.get<int64_t>("quantum.shots");

  TrainConfig& t = c.train;
  t.epochs = r.get<int64_t>("train.epochs");
  t.batch_size = r.get<int64_t>("train.batch_size");
  t.lr = r.get<double>("train.lr");
  t.optimizer = r.get<std::string>("train.optimizer");
  t.momentum = r.get<double>("train.momentum");
  t.nesterov = r.get<bool>("train.nesterov");
  t.weight_decay = r.get<double>("train.weight_decay");
  t.schedule = r.get<std::string>("train.schedule");
  t.step_size = r.get<int64_t>("train.step_size");
  t.gamma = r.get<double>("train.gamma");
  t.milestones = r.get<std::vector<int64_t>>("train.milestones");
  t.warmup_epochs = r.get<int64_t>("train.warmup_epochs");
  t.grad_clip = r.get<double>("train.grad_clip");
  t.class_weighting = r.get<std::string>("train.class_weighting");
  t.sampler = r.get<std::string>("train.sampler");
  t.patience = r.get<int64_t>("train.patience");
  t.monitor = r.get<std::string>("train.monitor");
  t.threshold = r.get<std::string>("train.threshold");

  c.extract.trains_like_run = r.get<std::string>("extract.training") == "run";
  c.extract.epochs = r.get<int64_t>("extract.epochs");
  c.extract.lr = r.get<double>("extract.lr");
  c.extract.batch_size = r.get<int64_t>("extract.batch_size");

  c.probe.duration_ms = r.get<double>("probe.duration_ms");
  c.probe.failure = r.get<std::string>("probe.failure");
  c.probe.epochs = r.get<int64_t>("probe.epochs");
  c.probe.objective = r.get<std::string>("probe.objective");
  c.probe.x = r.get<double>("probe.x");
  c.probe.y = r.get<double>("probe.y");
  c.probe.seed_shift = r.get<double>("probe.seed_offset") * static_cast<double>(c.seed);
  return c;
}

RunConfig make_run_config(const json& config) {
  return run_config_from_canonical(canonical_config(config));
}

}  // namespace hqsweep
