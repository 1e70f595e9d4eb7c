// ResNet-18 and ResNet-50 with torchvision's topology (He et al., arXiv:1512.03385; torchvision
// models/resnet.py): basic blocks [2,2,2,2] or bottlenecks [3,4,6,3] over 64/128/256/512 channels
// (times `width`), stride on the 3x3 convolution. The small-input stem (3x3 stride 1, no max-pool)
// is MedMNIST's for 28x28 images.
#include <torch/torch.h>

#include "models/backbone.h"

namespace hqsweep {

namespace {

torch::nn::Conv2d conv(int64_t in, int64_t out, int64_t kernel, int64_t stride) {
  return torch::nn::Conv2d(
      torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(kernel / 2).bias(false));
}

class ResidualBlockImpl : public torch::nn::Module {
 public:
  ResidualBlockImpl(bool bottleneck, int64_t in, int64_t planes, int64_t stride) {
    const int64_t out = bottleneck ? planes * 4 : planes;
    if (bottleneck) {
      body_->push_back(conv(in, planes, /*kernel=*/1, /*stride=*/1));
      body_->push_back(torch::nn::BatchNorm2d(planes));
      body_->push_back(torch::nn::ReLU());
      body_->push_back(conv(planes, planes, /*kernel=*/3, stride));
      body_->push_back(torch::nn::BatchNorm2d(planes));
      body_->push_back(torch::nn::ReLU());
      body_->push_back(conv(planes, out, /*kernel=*/1, /*stride=*/1));
    } else {
      body_->push_back(conv(in, planes, /*kernel=*/3, stride));
      body_->push_back(torch::nn::BatchNorm2d(planes));
      body_->push_back(torch::nn::ReLU());
      body_->push_back(conv(planes, out, /*kernel=*/3, /*stride=*/1));
    }
    body_->push_back(torch::nn::BatchNorm2d(out));
    register_module("body", body_);
    if (stride != 1 || in != out) {
      shortcut_->push_back(conv(in, out, /*kernel=*/1, stride));
      shortcut_->push_back(torch::nn::BatchNorm2d(out));
      register_module("shortcut", shortcut_);
    }
  }
  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor identity = shortcut_->is_empty() ? x : shortcut_->forward(x);
    return torch::relu(body_->forward(x) + identity);
  }

 private:
  torch::nn::Sequential body_, shortcut_;
};
TORCH_MODULE(ResidualBlock);

class ResNetImpl : public BackboneImpl {
 public:
  ResNetImpl(int depth, const BackboneOptions& options) {
    const bool bottleneck = depth == 50;
    const std::vector<int> blocks =
        bottleneck ? std::vector<int>{3, 4, 6, 3} : std::vector<int>{2, 2, 2, 2};
    const int64_t stem = scaled_channels(64, options.width);
    if (options.small_input) {
      layers_->push_back(conv(options.channels, stem, /*kernel=*/3, /*stride=*/1));
      layers_->push_back(torch::nn::BatchNorm2d(stem));
      layers_->push_back(torch::nn::ReLU());
    } else {
      layers_->push_back(conv(options.channels, stem, /*kernel=*/7, /*stride=*/2));
      layers_->push_back(torch::nn::BatchNorm2d(stem));
      layers_->push_back(torch::nn::ReLU());
      layers_->push_back(torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(3).stride(2).padding(1)));
    }
    int64_t in = stem;
    for (std::size_t stage = 0; stage < blocks.size(); ++stage) {
      const int64_t planes = scaled_channels(64.0 * (1 << stage), options.width);
      for (int block = 0; block < blocks[stage]; ++block) {
        const int64_t stride = (stage > 0 && block == 0) ? 2 : 1;
        layers_->push_back(ResidualBlock(bottleneck, in, planes, stride));
        in = bottleneck ? planes * 4 : planes;
      }
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

}  // namespace

std::shared_ptr<BackboneImpl> make_resnet(int depth, const BackboneOptions& options) {
  return std::make_shared<ResNetImpl>(depth, options);
}

}  // namespace hqsweep
