// The hybrid classifier: backbone, quantum branch and fusion heads (docs/models.md).
#include "models/hybrid_model.h"

#include <cmath>
#include <sstream>

#include <torch/torch.h>

#include "common/error.h"

namespace hqsweep {

namespace {

// Linear(in, hidden) + ReLU + Dropout + Linear(hidden, out), or Dropout + Linear when hidden is 0.
torch::nn::Sequential mlp_head(int64_t in, int64_t hidden, double dropout, int64_t out) {
  torch::nn::Sequential head;
  if (hidden > 0) {
    head->push_back(torch::nn::Linear(in, hidden));
    head->push_back(torch::nn::ReLU());
    head->push_back(torch::nn::Dropout(dropout));
    head->push_back(torch::nn::Linear(hidden, out));
  } else {
    head->push_back(torch::nn::Dropout(dropout));
    head->push_back(torch::nn::Linear(in, out));
  }
  return head;
}

int64_t count(const std::vector<torch::Tensor>& tensors) {
  int64_t total = 0;
  for (const torch::Tensor& t : tensors) total += t.numel();
  return total;
}

void freeze(torch::nn::Module& module) {
  for (torch::Tensor& parameter : module.parameters()) parameter.set_requires_grad(false);
}

std::string type_name(const torch::nn::Module& module) {
  std::string name = module.name();
  for (const char* prefix : {"hqsweep::", "torch::nn::"})
    if (name.rfind(prefix, 0) == 0) name = name.substr(std::string(prefix).size());
  if (name.size() > 4 && name.compare(name.size() - 4, 4, "Impl") == 0)
    name.resize(name.size() - 4);
  auto anonymous = name.find("(anonymous namespace)::");
  if (anonymous != std::string::npos) name.erase(anonymous, 23);
  return name;
}

void describe_module(std::ostringstream& out, const torch::nn::Module& module,
                     const std::string& name, int depth) {
  int64_t parameters = count(module.parameters());
  int64_t trainable = 0;
  for (const torch::Tensor& p : module.parameters())
    if (p.requires_grad()) trainable += p.numel();
  out << std::string(2 * static_cast<std::size_t>(depth), ' ') << name << ": " << type_name(module)
      << "  " << parameters << " parameters";
  if (trainable != parameters) out << " (" << trainable << " trainable)";
  out << "\n";
  if (depth >= 2) return;
  auto children = module.named_children();
  std::size_t shown = 0;
  for (const auto& child : children) {
    if (++shown > 12) {
      out << std::string(2 * static_cast<std::size_t>(depth + 1), ' ') << "... "
          << children.size() - 12 << " more\n";
      break;
    }
    describe_module(out, *child.value(), child.key(), depth + 1);
  }
}

}  // namespace

HybridModelImpl::HybridModelImpl(HybridModelOptions options) : options_(std::move(options)) {
  const FusionInfo& fusion = fusion_info(options_.fusion);
  if (fusion.uses_backbone) {
    backbone_ = register_module("backbone", make_backbone(options_.backbone));
    backbone_features_ = backbone_->feature_size();
    if (options_.freeze_backbone || fusion.caches_features) freeze(*backbone_);
  }
  if (fusion.uses_quantum) build_quantum_branch();
  build_fusion();
  // The dressed quantum circuit ends in a linear layer; every other fusion in an MLP head.
  head_ = register_module(
      "head",
      options_.fusion == Fusion::sequential
          ? torch::nn::Sequential(torch::nn::Linear(fused_features_, options_.classes))
          : mlp_head(fused_features_, options_.head_hidden, options_.dropout, options_.classes));
}

void HybridModelImpl::build_quantum_branch() {
  const bool caches_features = fusion_info(options_.fusion).caches_features;
  if (caches_features && options_.quantum.trainable) {
    throw Error(
        "model.fusion shf caches the circuit's outputs before the head is trained, so the "
        "circuit cannot be trained: set quantum.trainable to false");
  }
  circuit_ = register_module("circuit", QuantumLayer(options_.quantum));
  quantum_outputs_ = circuit_->output_count();
  const int64_t circuit_inputs = circuit_->input_count();
  int64_t projected_from = backbone_features_;
  if (options_.fusion == Fusion::quantum) {
    const BackboneOptions& input = options_.backbone;
    projected_from = input.input_features > 0
                         ? input.input_features
                         : input.channels * input.image_size * input.image_size;
  }
  projection_ = torch::nn::Sequential();
  if (options_.fusion == Fusion::parallel) {
    const int64_t hidden = options_.head_hidden > 0 ? options_.head_hidden : 32;
    projection_->push_back(torch::nn::Linear(projected_from, hidden));
    projection_->push_back(torch::nn::ReLU());
    projection_->push_back(torch::nn::Linear(hidden, circuit_inputs));
  } else {
    projection_->push_back(torch::nn::Linear(projected_from, circuit_inputs));
  }
  register_module("projection", projection_);
  if (caches_features) freeze(*projection_);
}

void HybridModelImpl::build_fusion() {
  switch (options_.fusion) {
    case Fusion::classical:
      fused_features_ = backbone_features_;
      return;
    case Fusion::quantum:
    case Fusion::sequential:
      fused_features_ = quantum_outputs_;
      return;
    case Fusion::parallel:
      side_ = register_module(
          "side",
          torch::nn::Sequential(torch::nn::Linear(backbone_features_, options_.parallel_units),
                                torch::nn::ReLU()));
      fused_features_ = quantum_outputs_ + options_.parallel_units;
      return;
    case Fusion::shf:
    case Fusion::dhf:
      fused_features_ = backbone_features_ + quantum_outputs_;
      return;
    case Fusion::tshf:
      fused_features_ = backbone_features_ + quantum_outputs_;
      log_temperature_ = register_parameter("log_temperature", torch::zeros({}));
      return;
    case Fusion::cross_attention: {
      const int64_t heads = options_.attention_heads;
      const int64_t dimension = 16 * heads;
      query_ = register_module("query", torch::nn::Linear(backbone_features_, dimension));
      token_weight_ = register_parameter(
          "token_weight", torch::randn({quantum_outputs_, dimension}) / std::sqrt(dimension));
      token_bias_ = register_parameter(
          "token_bias", torch::randn({quantum_outputs_, dimension}) / std::sqrt(dimension));
      attention_ = register_module(
          "attention",
          torch::nn::MultiheadAttention(torch::nn::MultiheadAttentionOptions(dimension, heads)));
      norm_ =
          register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dimension})));
      fused_features_ = dimension;
      return;
    }
  }
}

torch::Tensor HybridModelImpl::quantum_features(const torch::Tensor& classical_features) {
  torch::Tensor angles = projection_->forward(classical_features);
  if (options_.scaling == "pi_tanh") {
    angles = M_PI * torch::tanh(angles);
  } else if (options_.scaling == "arctan") {
    angles = torch::atan(angles);
  }
  return circuit_->forward(angles);
}

torch::Tensor HybridModelImpl::extract_features(const torch::Tensor& input) {
  if (options_.fusion == Fusion::quantum) return quantum_features(input.flatten(1));
  torch::Tensor f = backbone_->forward(input);
  if (options_.fusion == Fusion::classical) return f;
  torch::Tensor q = quantum_features(f);
  switch (options_.fusion) {
    case Fusion::sequential:
      return q;
    case Fusion::parallel:
      return torch::cat({q, side_->forward(f)}, 1);
    case Fusion::tshf:
      return torch::cat({f, q / torch::exp(log_temperature_)}, 1);
    case Fusion::cross_attention: {
      torch::Tensor query = query_->forward(f).unsqueeze(0);  // [1, batch, d]
      // One token per circuit output: its value times a learned vector plus a learned offset.
      torch::Tensor tokens = q.unsqueeze(-1) * token_weight_ + token_bias_;  // [batch, m, d]
      tokens = tokens.transpose(0, 1);                                       // [m, batch, d]
      torch::Tensor attended = std::get<0>(attention_->forward(query, tokens, tokens));
      return norm_->forward(query + attended).squeeze(0);
    }
    case Fusion::classical:  // returned above
    case Fusion::quantum:
    case Fusion::shf:
    case Fusion::dhf:
      break;
  }
  return torch::cat({f, q}, 1);
}

torch::Tensor HybridModelImpl::head_forward(const torch::Tensor& features) {
  return head_->forward(features);
}

torch::Tensor HybridModelImpl::forward(const torch::Tensor& input) {
  return head_forward(extract_features(input));
}

std::optional<double> HybridModelImpl::temperature() const {
  if (!log_temperature_.defined()) return std::nullopt;
  return std::exp(log_temperature_.item<double>());
}

std::vector<torch::Tensor> HybridModelImpl::circuit_parameters() const {
  if (circuit_.is_empty() || !options_.quantum.trainable) return {};
  return circuit_->parameters();
}

void HybridModelImpl::train(bool on) {
  torch::nn::Module::train(on);
  if (backbone_ && (options_.freeze_backbone || fusion_info(options_.fusion).caches_features)) {
    backbone_->eval();
  }
}

ModelSummary HybridModelImpl::summary() const {
  ModelSummary summary;
  summary.backbone_features = backbone_features_;
  summary.quantum_features = quantum_outputs_;
  summary.fused_features = fused_features_;
  for (const auto& item : named_parameters(/*recurse=*/true)) {
    const std::string& name = item.key();
    const int64_t size = item.value().numel();
    if (!item.value().requires_grad()) {
      summary.frozen_parameters += size;
    } else if (name.rfind("backbone.", 0) == 0) {
      summary.classical_parameters += size;
    } else if (name.rfind("projection.", 0) == 0 || name.rfind("circuit.", 0) == 0) {
      summary.quantum_parameters += size;
    } else {
      summary.fusion_parameters += size;
    }
  }
  if (!circuit_.is_empty() && !options_.quantum.trainable)
    summary.frozen_parameters += circuit_->weights().numel();  // a buffer, not a parameter
  return summary;
}

std::string HybridModelImpl::describe() const {
  std::ostringstream out;
  describe_module(out, *this, "model", 0);
  return out.str();
}

void save_model(const HybridModel& model, const std::string& path) {
  try {
    torch::save(model, path);
  } catch (const c10::Error& error) {
    throw Error("cannot save model to " + path + ": " + error.what_without_backtrace());
  }
}

void load_model(HybridModel& model, const std::string& path) {
  try {
    torch::load(model, path);
  } catch (const c10::Error& error) {
    throw Error("cannot load model from " + path + ": " + error.what_without_backtrace());
  }
}

void load_backbone_weights(HybridModel& model, const std::string& path) {
  auto backbone = model->named_children()["backbone"];
  if (!backbone) throw Error("model.weights " + path + ": this model has no backbone");
  // Loading replaces the tensors; a frozen backbone must stay frozen.
  std::vector<bool> trainable;
  for (const torch::Tensor& p : backbone->parameters()) trainable.push_back(p.requires_grad());
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path);
    torch::serialize::InputArchive part;
    if (archive.try_read("backbone", part)) {
      backbone->load(part);
    } else {
      backbone->load(archive);
    }
  } catch (const c10::Error& error) {
    throw Error("model.weights " + path + ": cannot load the backbone from it (" +
                std::string(error.what_without_backtrace()) +
                "); it must come from the same backbone, width and input channels");
  }
  std::vector<torch::Tensor> parameters = backbone->parameters();
  for (std::size_t i = 0; i < parameters.size(); ++i) parameters[i].set_requires_grad(trainable[i]);
}

}  // namespace hqsweep
