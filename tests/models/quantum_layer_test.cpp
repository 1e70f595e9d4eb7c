// Tests for the LibTorch bridge of the simulator.
#include "models/quantum_layer.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "common/error.h"

namespace hqsweep {
namespace {

QuantumLayerOptions options(bool trainable, std::uint64_t seed = 1) {
  QuantumLayerOptions o;
  o.circuit = {4, 2, "hardware_efficient", "angle_ry", false, "z_zz"};
  o.trainable = trainable;
  o.seed = seed;
  return o;
}

// gradcheck in double: autograd's gradients against central differences of a scalar loss.
TEST(QuantumLayerTest, GradientsMatchFiniteDifferencesInDouble) {
  torch::manual_seed(0);
  QuantumLayer layer(options(true));
  layer->to(torch::kFloat64);
  torch::nn::Linear linear(3, 4);
  linear->to(torch::kFloat64);
  torch::Tensor x = torch::randn({5, 3}, torch::kFloat64);
  torch::Tensor mix = torch::randn({5, layer->output_count()}, torch::kFloat64);
  auto loss = [&] { return (layer(torch::tanh(linear(x))) * mix).sum(); };
  loss().backward();
  const double step = 1e-6;
  for (torch::Tensor parameter : {layer->weights(), linear->weight, linear->bias}) {
    torch::Tensor analytic = parameter.grad().clone();
    torch::NoGradGuard no_grad;
    auto flat = parameter.view(-1);
    for (std::int64_t k = 0; k < flat.numel(); ++k) {
      const double saved = flat[k].item<double>();
      flat[k] = saved + step;
      const double plus = loss().item<double>();
      flat[k] = saved - step;
      const double minus = loss().item<double>();
      flat[k] = saved;
      EXPECT_NEAR(analytic.view(-1)[k].item<double>(), (plus - minus) / (2 * step), 1e-6);
    }
  }
}

TEST(QuantumLayerTest, LossBackwardReachesCircuitAndClassicalLayersInFloat) {
  QuantumLayer layer(options(true));
  torch::nn::Linear before(6, 4), after(layer->output_count(), 2);
  torch::Tensor x = torch::randn({9, 6});
  torch::Tensor loss =
      torch::nn::functional::cross_entropy(after(layer(before(x))), torch::randint(0, 2, {9}));
  loss.backward();
  for (const torch::Tensor& p : {layer->weights(), before->weight, before->bias, after->weight}) {
    ASSERT_TRUE(p.grad().defined());
    EXPECT_GT(p.grad().abs().sum().item<float>(), 0);
  }
}

TEST(QuantumLayerTest, FixedCircuitGetsNoGradientAndDependsOnlyOnTheSeed) {
  QuantumLayer fixed(options(false, 5)), same(options(false, 5)), other(options(false, 6));
  EXPECT_TRUE(fixed->parameters().empty()) << "a fixed circuit has nothing to train";
  EXPECT_TRUE(torch::equal(fixed->weights(), same->weights()));
  EXPECT_FALSE(torch::equal(fixed->weights(), other->weights()));
  torch::Tensor angles = torch::randn({3, 4}, torch::requires_grad());
  fixed(angles).sum().backward();
  EXPECT_FALSE(fixed->weights().grad().defined());
  EXPECT_TRUE(angles.grad().defined()) << "inputs still get gradients through a fixed circuit";
}

TEST(QuantumLayerTest, WrongInputShapeIsRefused) {
  QuantumLayer layer(options(true));
  try {
    layer(torch::zeros({2, 3}));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "quantum layer: expected angles of shape [batch, 4], got [2, 3]");
  }
}

}  // namespace
}  // namespace hqsweep
