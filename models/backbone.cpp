// The small backbones (hqcnn, cnn5, mlp) and the factory over all of them.
#include "models/backbone.h"

#include <cmath>

#include <torch/torch.h>

#include "common/catalogue.h"
#include "common/error.h"

namespace hqsweep {

namespace {

// The HQCNN paper's light backbone: two conv + max-pool blocks, then a small dense layer.
class HqcnnImpl : public BackboneImpl {
 public:
  explicit HqcnnImpl(const BackboneOptions& options) {
    const int64_t c1 = scaled_channels(16, options.width), c2 = scaled_channels(32, options.width);
    conv1_ = register_module(
        "conv1",
        torch::nn::Conv2d(torch::nn::Conv2dOptions(options.channels, c1, /*kernel=*/3).padding(1)));
    conv2_ = register_module(
        "conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(c1, c2, /*kernel=*/3).padding(1)));
    const int64_t side = options.image_size / 4;
    dense_ = register_module("dense", torch::nn::Linear(c2 * side * side, 64));
    feature_size_ = 64;
  }
  torch::Tensor forward(const torch::Tensor& input) override {
    torch::Tensor x = torch::max_pool2d(torch::relu(conv1_->forward(input)), 2);
    x = torch::max_pool2d(torch::relu(conv2_->forward(x)), 2);
    return torch::relu(dense_->forward(x.flatten(1)));
  }

 private:
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr};
  torch::nn::Linear dense_{nullptr};
};

// Five 3x3 conv + batch-norm + ReLU layers, max-pooling after the first three, global average.
class Cnn5Impl : public BackboneImpl {
 public:
  explicit Cnn5Impl(const BackboneOptions& options) {
    const int64_t widths[] = {32, 64, 128, 128, 256};
    int64_t in = options.channels;
    for (int i = 0; i < 5; ++i) {
      const int64_t out = scaled_channels(static_cast<double>(widths[i]), options.width);
      layers_->push_back(torch::nn::Conv2d(
          torch::nn::Conv2dOptions(in, out, /*kernel=*/3).padding(1).bias(false)));
      layers_->push_back(torch::nn::BatchNorm2d(out));
      layers_->push_back(torch::nn::ReLU());
      if (i < 3) layers_->push_back(torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(2)));
      in = out;
    }
    layers_->push_back(torch::nn::AdaptiveAvgPool2d(torch::nn::AdaptiveAvgPool2dOptions(1)));
    register_module("layers", layers_);
    feature_size_ = in;
  }
  torch::Tensor forward(const torch::Tensor& input) override {
    return layers_->forward(input).flatten(1);
  }

 private:
  torch::nn::Sequential layers_;
};

// Tabular data: Linear + ReLU per hidden size.
class MlpImpl : public BackboneImpl {
 public:
  explicit MlpImpl(const BackboneOptions& options) {
    int64_t in = options.input_features;
    for (int64_t size : options.hidden) {
      layers_->push_back(torch::nn::Linear(in, size));
      layers_->push_back(torch::nn::ReLU());
      in = size;
    }
    register_module("layers", layers_);
    feature_size_ = in;
  }
  torch::Tensor forward(const torch::Tensor& input) override {
    return layers_->is_empty() ? input : layers_->forward(input);
  }

 private:
  torch::nn::Sequential layers_;
};

}  // namespace

int64_t scaled_channels(double channels, double width, int64_t divisor) {
  const double scaled = channels * width;
  int64_t rounded =
      std::max<int64_t>(divisor, static_cast<int64_t>(scaled + divisor / 2.0) / divisor * divisor);
  if (rounded < 0.9 * scaled) rounded += divisor;  // never more than 10% below the target
  return rounded;
}

namespace {

bool is_image_backbone(const std::string& name) {
  const BackboneInfo* info = find_backbone(name);
  return info != nullptr && info->kind == BackboneKind::image;
}

}  // namespace

std::shared_ptr<BackboneImpl> make_backbone(const BackboneOptions& options) {
  const std::string& name = options.name;
  if (is_image_backbone(name)) {
    if (options.channels != 1 && options.channels != 3)
      throw Error("backbone " + name + ": images must have 1 or 3 channels, not " +
                  std::to_string(options.channels));
    const int64_t smallest = name == "hqcnn" ? 4 : 8;
    if (options.image_size < smallest)
      throw Error("backbone " + name + ": images must be at least " + std::to_string(smallest) +
                  " pixels wide, not " + std::to_string(options.image_size));
  }
  if (name == "hqcnn") return std::make_shared<HqcnnImpl>(options);
  if (name == "cnn5") return std::make_shared<Cnn5Impl>(options);
  if (name == "resnet18") return make_resnet(18, options);
  if (name == "resnet50") return make_resnet(50, options);
  if (name == "efficientnet_b0" || name == "efficientnet_b5" || name == "efficientnetv2_s")
    return make_efficientnet(name, options);
  if (name == "mlp") {
    if (options.input_features < 1)
      throw Error("backbone mlp needs tabular input (features per sample), not images");
    return std::make_shared<MlpImpl>(options);
  }
  throw Error("unknown backbone '" + name +
              "' (expected hqcnn, cnn5, resnet18, resnet50, efficientnet_b0, efficientnet_b5, "
              "efficientnetv2_s or mlp)");
}

}  // namespace hqsweep
