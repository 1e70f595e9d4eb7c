// EfficientNet-B0/B5 (Tan & Le, arXiv:1905.11946) and EfficientNetV2-S (Tan & Le,
// arXiv:2104.00298) with torchvision's stage tables (models/efficientnet.py): MBConv blocks
// (1x1 expand, depthwise kxk, squeeze-excitation, 1x1 project) and, in V2, Fused-MBConv blocks
// (one kxk expand conv, 1x1 project); SiLU; stochastic depth rising linearly to 0.2 over the
// blocks; channels rounded to multiples of 8. B5 scales B0 by width 1.6 and depth 2.2. The
// small-input option makes the stem stride 1 (28x28 images would otherwise end at 1x1 pixel).
#include <cmath>

#include <torch/torch.h>

#include "common/error.h"
#include "models/backbone.h"

namespace hqsweep {

namespace {

struct Stage {
  bool fused;
  int64_t expand;
  int64_t kernel;
  int64_t stride;
  int64_t in;
  int64_t out;
  int64_t layers;
};

// Convolution + batch norm (+ SiLU). A module of its own because Sequential cannot nest a
// Sequential (its forward is a template).
class ConvNormActivationImpl : public torch::nn::Module {
 public:
  ConvNormActivationImpl(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t groups,
                         bool activation, double eps)
      : activation_(activation) {
    conv_ = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel)
                                                          .stride(stride)
                                                          .padding(kernel / 2)
                                                          .groups(groups)
                                                          .bias(false)));
    norm_ = register_module("norm",
                            torch::nn::BatchNorm2d(torch::nn::BatchNorm2dOptions(out).eps(eps)));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor y = norm_->forward(conv_->forward(x));
    return activation_ ? torch::silu(y) : y;
  }

 private:
  torch::nn::Conv2d conv_{nullptr};
  torch::nn::BatchNorm2d norm_{nullptr};
  bool activation_;
};
TORCH_MODULE(ConvNormActivation);

class SqueezeExcitationImpl : public torch::nn::Module {
 public:
  SqueezeExcitationImpl(int64_t channels, int64_t squeeze) {
    reduce_ = register_module(
        "reduce", torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, squeeze, /*kernel=*/1)));
    expand_ = register_module(
        "expand", torch::nn::Conv2d(torch::nn::Conv2dOptions(squeeze, channels, /*kernel=*/1)));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor scale = torch::adaptive_avg_pool2d(x, {1, 1});
    scale = torch::sigmoid(expand_->forward(torch::silu(reduce_->forward(scale))));
    return x * scale;
  }

 private:
  torch::nn::Conv2d reduce_{nullptr}, expand_{nullptr};
};
TORCH_MODULE(SqueezeExcitation);

// MBConv or Fused-MBConv, with a residual connection and stochastic depth where shapes allow.
class MobileBlockImpl : public torch::nn::Module {
 public:
  MobileBlockImpl(const Stage& stage, int64_t in, int64_t out, int64_t stride, double drop,
                  double eps)
      : residual_(stride == 1 && in == out), drop_(drop) {
    const int64_t expanded = in * stage.expand;
    if (stage.fused) {
      if (stage.expand != 1) {
        body_->push_back(ConvNormActivation(in, expanded, stage.kernel, stride, 1, true, eps));
        body_->push_back(ConvNormActivation(expanded, out, 1, 1, 1, false, eps));
      } else {
        body_->push_back(ConvNormActivation(in, out, stage.kernel, stride, 1, true, eps));
      }
    } else {
      if (stage.expand != 1) body_->push_back(ConvNormActivation(in, expanded, 1, 1, 1, true, eps));
      body_->push_back(
          ConvNormActivation(expanded, expanded, stage.kernel, stride, expanded, true, eps));
      body_->push_back(SqueezeExcitation(expanded, std::max<int64_t>(1, in / 4)));
      body_->push_back(ConvNormActivation(expanded, out, 1, 1, 1, false, eps));
    }
    register_module("body", body_);
  }
  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor y = body_->forward(x);
    if (!residual_) return y;
    if (is_training() && drop_ > 0) {
      // Stochastic depth, per sample ("row" mode), rescaled to keep the expectation.
      torch::Tensor keep =
          torch::empty({x.size(0), 1, 1, 1}, x.options()).bernoulli_(1 - drop_) / (1 - drop_);
      y = y * keep;
    }
    return y + x;
  }

 private:
  torch::nn::Sequential body_;
  bool residual_;
  double drop_;
};
TORCH_MODULE(MobileBlock);

// torchvision's stage tables: fused?, expand ratio, kernel, stride, in, out, layers.
const std::vector<Stage>& efficientnet_v1_stages() {
  static const std::vector<Stage> stages = {
      {false, 1, 3, 1, 32, 16, 1},  {false, 6, 3, 2, 16, 24, 2},  {false, 6, 5, 2, 24, 40, 2},
      {false, 6, 3, 2, 40, 80, 3},  {false, 6, 5, 1, 80, 112, 3}, {false, 6, 5, 2, 112, 192, 4},
      {false, 6, 3, 1, 192, 320, 1}};
  return stages;
}

const std::vector<Stage>& efficientnet_v2_s_stages() {
  static const std::vector<Stage> stages = {
      {true, 1, 3, 1, 24, 24, 2},   {true, 4, 3, 2, 24, 48, 4},    {true, 4, 3, 2, 48, 64, 4},
      {false, 4, 3, 2, 64, 128, 6}, {false, 6, 3, 1, 128, 160, 9}, {false, 6, 3, 2, 160, 256, 15}};
  return stages;
}

class EfficientNetImpl : public BackboneImpl {
 public:
  EfficientNetImpl(const std::string& variant, const BackboneOptions& options) {
    const bool v2 = variant == "efficientnetv2_s";
    const std::vector<Stage>& stages = v2 ? efficientnet_v2_s_stages() : efficientnet_v1_stages();
    double width = options.width, depth = 1.0, eps = 1e-5;
    int64_t last = 0;
    if (v2) {
      eps = 1e-3;
      last = scaled_channels(1280, options.width, 8);
    } else {
      if (variant == "efficientnet_b5") {
        width *= 1.6;
        depth = 2.2;
      }
      last = 4 * scaled_channels(320, width, 8);
    }
    int64_t total_blocks = 0;
    for (const Stage& stage : stages)
      total_blocks += static_cast<int64_t>(std::ceil(stage.layers * depth));

    const int64_t stem = scaled_channels(static_cast<double>(stages[0].in), width, 8);
    layers_->push_back(
        ConvNormActivation(options.channels, stem, 3, options.small_input ? 1 : 2, 1, true, eps));
    int64_t in = stem, block_index = 0;
    for (const Stage& stage : stages) {
      const int64_t out = scaled_channels(static_cast<double>(stage.out), width, 8);
      const auto repeats = static_cast<int64_t>(std::ceil(stage.layers * depth));
      for (int64_t i = 0; i < repeats; ++i) {
        const double drop = 0.2 * static_cast<double>(block_index++) / total_blocks;
        layers_->push_back(MobileBlock(stage, in, out, i == 0 ? stage.stride : 1, drop, eps));
        in = out;
      }
    }
    layers_->push_back(ConvNormActivation(in, last, 1, 1, 1, true, eps));
    layers_->push_back(torch::nn::AdaptiveAvgPool2d(torch::nn::AdaptiveAvgPool2dOptions(1)));
    register_module("layers", layers_);
    feature_size_ = last;
  }
  torch::Tensor forward(const torch::Tensor& input) override {
    return layers_->forward(input).flatten(1);
  }

 private:
  torch::nn::Sequential layers_;
};

}  // namespace

std::shared_ptr<BackboneImpl> make_efficientnet(const std::string& variant,
                                                const BackboneOptions& options) {
  if (variant != "efficientnet_b0" && variant != "efficientnet_b5" && variant != "efficientnetv2_s")
    throw Error("unknown EfficientNet variant '" + variant + "'");
  return std::make_shared<EfficientNetImpl>(variant, options);
}

}  // namespace hqsweep
