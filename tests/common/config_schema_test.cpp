// Tests for the config schema: checks, canonical form and run ids.
#include "common/config_schema.h"

#include <gtest/gtest.h>

#include "common/error.h"

namespace hqsweep {
namespace {

using nlohmann::json;

json tabular(json extra = json::object()) {
  json config = {{"dataset", {{"name", "wdbc"}}}, {"model", {{"backbone", "mlp"}}}};
  config.merge_patch(extra);
  return config;
}

std::string error_of(const json& config) {
  try {
    canonical_config(config);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(ConfigSchemaTest, FillsDefaultsAndDropsKeysThatDoNotApply) {
  json canonical = canonical_config(tabular({{"quantum", {{"qubits", 8}}}}));
  EXPECT_EQ(canonical["train"]["epochs"], 10);
  EXPECT_EQ(canonical["model"]["fusion"], "classical");
  EXPECT_FALSE(canonical.contains("quantum")) << "a classical run has no quantum branch";
  EXPECT_FALSE(canonical["train"].contains("momentum")) << "momentum is for sgd only";
  EXPECT_FALSE(canonical["dataset"].contains("image_size")) << "tabular data has no image size";

  json hybrid =
      canonical_config(tabular({{"model", {{"fusion", "dhf"}}}, {"quantum", {{"qubits", 8}}}}));
  EXPECT_EQ(hybrid["quantum"]["qubits"], 8);
  EXPECT_EQ(hybrid["quantum"]["layers"], 2);
  EXPECT_EQ(hybrid["quantum"]["trainable"], true);

  // SHF caches the circuit's outputs, so its circuit is fixed: trainable does not apply, and a
  // grid over trainable gives one SHF run.
  json shf = canonical_config(
      tabular({{"model", {{"fusion", "shf"}}}, {"quantum", {{"trainable", true}}}}));
  EXPECT_FALSE(shf["quantum"].contains("trainable"));
  EXPECT_FALSE(shf["quantum"].contains("lr"));
  EXPECT_EQ(shf.dump(), canonical_config(tabular({{"model", {{"fusion", "shf"}}},
                                                  {"quantum", {{"trainable", false}}}}))
                            .dump());
  EXPECT_EQ(shf["extract"]["training"], "extract");
  EXPECT_EQ(shf["extract"]["epochs"], 10);

  // Trained like the run, the extraction has no training keys of its own.
  json like_run = canonical_config(
      tabular({{"model", {{"fusion", "shf"}}}, {"extract", {{"training", "run"}, {"epochs", 3}}}}));
  EXPECT_EQ(like_run["extract"], json({{"training", "run"}}));
}

TEST(ConfigSchemaTest, SameRunWrittenDifferentlyHasOneId) {
  json a = tabular({{"train", {{"lr", 0.001}, {"epochs", 3}}}});
  json b = {{"train.epochs", 3.0},    {"train.lr", 1e-3}, {"model.backbone", "mlp"},
            {"dataset.name", "wdbc"}, {"seed", 0},        {"quantum.qubits", 12}};
  EXPECT_EQ(canonical_config(a).dump(), canonical_config(b).dump());
  EXPECT_EQ(run_id(canonical_config(a)), run_id(canonical_config(b)));
  EXPECT_NE(run_id(canonical_config(a)), run_id(canonical_config(tabular({{"seed", 1}}))));
}

TEST(ConfigSchemaTest, RunIdIsFnv1a64OfCompactJson) {
  // Reference value computed independently in Python: FNV-1a 64 over the bytes {"a":1}.
  EXPECT_EQ(run_id(json{{"a", 1}}), "9c3e82dd6fcae8b1");
}

TEST(ConfigSchemaTest, NormalisesNumbers) {
  const ConfigKey& epochs = *find_config_key("train.epochs");
  json out;
  EXPECT_EQ(check_config_value(epochs, 3.0, &out), "");
  EXPECT_TRUE(out.is_number_integer());
  EXPECT_EQ(check_config_value(epochs, 3.5, &out), "expected an integer, found 3.5");
  const ConfigKey& lr = *find_config_key("train.lr");
  EXPECT_EQ(check_config_value(lr, 1, &out), "");
  EXPECT_TRUE(out.is_number_float());
  EXPECT_EQ(check_config_value(lr, 0, &out), "0 is out of range 0 (exclusive)..10");
}

TEST(ConfigSchemaTest, RejectsBadConfigsNamingTheKey) {
  static const struct {
    json config;
    const char* message;
  } cases[] = {
      {tabular({{"train", {{"epoch", 3}}}}),
       "train.epoch: unknown key; did you mean \"train.epochs\"?"},
      {tabular({{"qubits", 3}}), "qubits: unknown key; did you mean \"quantum.qubits\"?"},
      {tabular({{"model", {{"fusion", "dhf"}}}, {"quantum", {{"qubits", 21}}}}),
       "quantum.qubits: 21 is out of range 1..20"},
      {tabular({{"train", {{"epochs", 0}}}}), "train.epochs: 0 is out of range 1..100000"},
      {tabular({{"train", {{"optimizer", "lbfgs"}}}}),
       "train.optimizer: \"lbfgs\" is not one of adam, adamw, sgd"},
      {tabular({{"model", {{"backbone", "resnet18"}}}}),
       "model.backbone: \"resnet18\" takes images, but dataset \"wdbc\" is tabular; use \"mlp\""},
      {json{{"dataset", {{"name", "breastmnist"}}}, {"model", {{"backbone", "mlp"}}}},
       "model.backbone: \"mlp\" takes tabular data, but dataset \"breastmnist\" holds images"},
      {json{{"model", {{"backbone", "mlp"}}}}, "dataset.name: required, but not given"},
      {json{{"dataset", {{"name", "csv"}}}, {"model", {{"backbone", "mlp"}}}},
       "dataset.path: required for dataset \"csv\""},
      {tabular({{"model", {{"hidden", {64, "x"}}}}}),
       "model.hidden: element 1: expected an integer, found \"x\""},
      {tabular({{"dataset", {{"normalize", "yes"}}}}),
       "dataset.normalize: expected true or false, found \"yes\""},
  };
  for (const auto& c : cases) {
    std::string message = error_of(c.config);
    EXPECT_EQ(message.substr(0, std::string(c.message).size()), c.message) << c.config.dump();
  }
}

TEST(ConfigSchemaTest, ProbeTasksNeedNoDataSet) {
  json canonical = canonical_config(json{{"model.backbone", "probe"}, {"probe.duration_ms", 10}});
  EXPECT_FALSE(canonical.contains("dataset"));
  EXPECT_FALSE(canonical.contains("train"));
  EXPECT_EQ(canonical["probe"]["duration_ms"], 10.0);
}

TEST(ConfigSchemaTest, FlattenAndUnflattenRoundTrip) {
  json nested = {{"a", {{"b", 1}, {"c", {{"d", {1, 2}}}}}}, {"e", "x"}};
  FlatConfig flat = flatten_config(nested);
  EXPECT_EQ(flat.at("a.c.d"), json({1, 2}));
  EXPECT_EQ(unflatten_config(flat), nested);
}

}  // namespace
}  // namespace hqsweep
