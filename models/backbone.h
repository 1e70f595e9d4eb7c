// Classical branches: each backbone maps an input batch to a feature vector per sample.
//   image backbones: [batch, channels, size, size] -> [batch, feature_size()]
//   mlp:             [batch, input_features]       -> [batch, feature_size()]
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <torch/nn.h>

namespace hqsweep {

struct BackboneOptions {
  std::string name;            // hqcnn, cnn5, resnet18, resnet50, efficientnet_b0, efficientnet_b5,
                               // efficientnetv2_s, mlp
  int64_t channels = 1;        // image backbones
  int64_t image_size = 28;     // image backbones (square images)
  int64_t input_features = 0;  // mlp
  double width = 1.0;          // channel multiplier of convolutional backbones
  bool small_input = true;     // resnet*/efficientnet*: 3x3 stride-1 stem, no max-pool
  std::vector<int64_t> hidden;  // mlp hidden sizes
};

class BackboneImpl : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(const torch::Tensor& input) = 0;
  int64_t feature_size() const { return feature_size_; }

 protected:
  int64_t feature_size_ = 0;
};

// Throws hqsweep::Error for unknown names and inputs the backbone cannot take.
std::shared_ptr<BackboneImpl> make_backbone(const BackboneOptions& options);

// The families, for make_backbone (resnet.cpp, efficientnet.cpp).
std::shared_ptr<BackboneImpl> make_resnet(int depth, const BackboneOptions& options);
std::shared_ptr<BackboneImpl> make_efficientnet(const std::string& variant,
                                                const BackboneOptions& options);

// Channels scaled by a width multiplier, rounded to a multiple of `divisor` (at least divisor).
int64_t scaled_channels(double channels, double width, int64_t divisor = 1);

}  // namespace hqsweep
