// Bad sweep files, each with the message it must produce (file, line, path, what is allowed).
#include <gtest/gtest.h>

#include "common/error.h"
#include "common/json_source.h"
#include "orchestrator/sweep/sweep.h"

namespace hqsweep {
namespace {

std::string error_of(const std::string& text, SweepOptions options = {}) {
  try {
    expand_sweep(JsonSource::from_text(text, "bad.json"), options);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(SweepErrorsTest, EachBadFileGetsItsMessage) {
  static const struct {
    const char* text;
    const char* message;
  } cases[] = {
      {"{\"base\": {\"seed\": 1,}", "bad.json: not valid JSON: parse error at line 1, column 21"},
      {"[1, 2]", "bad.json:1: (top level): a sweep file holds a JSON object"},
      {"{\"grid\": {\"train.lr\": [0.1]},\n \"gird\": {}}",
       "bad.json:2: gird: unknown section; a sweep file takes name, description, base, grid"},
      {"{\"train.lr\": 0.1}", "config keys go inside \"base\" or \"grid\""},
      {"{\"base\": {\"dataset.name\": \"wdbc\",\n  \"model\": {\"backbone\": \"mlp\",\n   "
       "\"fuson\": \"dhf\"}}}",
       "bad.json:3: base.model.fuson: unknown key \"model.fuson\"; did you mean \"model.fusion\"?"},
      {"{\"base\": {\"dataset.name\": \"wdbc\", \"model.backbone\": \"mlp\"},\n"
       " \"grid\": {\"quantum.qubits\": [4,\n 8,\n 40]}}",
       "bad.json:4: grid.\"quantum.qubits\"[2]: 40 is out of range 1..20"},
      {"{\"base\": {\"train.epochs\": \"ten\"}}",
       "bad.json:1: base.\"train.epochs\": expected an integer, found \"ten\""},
      {"{\"base\": {\"train\": {\"epochs\": -1}}}",
       "bad.json:1: base.train.epochs: -1 is out of range 1..100000"},
      {"{\"grid\": {\"model.backbone\": [\"resnet18\", \"vgg16\"]}}",
       "grid.\"model.backbone\"[1]: \"vgg16\" is not one of hqcnn, cnn5, resnet18"},
      {"{\"grid\": {\"train.lr\": []}}",
       "bad.json:1: grid.\"train.lr\": empty list; give at least one value"},
      {"{\"grid\": {\"train.lr\": 0.1}}",
       "bad.json:1: grid.\"train.lr\": expected a list of values, found 0.1"},
      {"{\"zip\": {\"train.lr\": [0.1, 0.2], \"train.epochs\": [1]}}",
       "zip.\"train.epochs\": has 1 values, but \"train.lr\" has 2; linked lists vary together"},
      {"{\"random\": {\"samples\": 3, \"params\": {\"train.lr\": {\"normal\": [0, 1]}}}}",
       "random.params.\"train.lr\": unknown distribution \"normal\""},
      {"{\"random\": {\"samples\": 3, \"params\": {\"train.epochs\": {\"uniform\": [1, 5]}}}}",
       "uniform draws numbers, but \"train.epochs\" takes integers; use int or choice"},
      {"{\"random\": {\"samples\": 3, \"params\": {\"train.lr\": {\"loguniform\": [0, 1]}}}}",
       "loguniform needs low > 0"},
      {"{\"random\": {\"params\": {\"train.lr\": {\"uniform\": [0.1, 1]}}}}",
       "random: samples is required"},
      {"{\"seeds\": []}", "bad.json:1: seeds: empty list; give at least one seed"},
      {"{\"seeds\": [1, -2]}", "seeds[1]: -2 is out of range 0..2147483647"},
      {"{\"exclude\": [{}]}", "exclude[0]: empty rule; it would match every run"},
      {"{\"conditional\": [{\"set\": {\"train.lr\": 0.1}}]}", "conditional[0]: when is required"},
      {"{\"base\": {\"dataset.name\": \"breastmnist\"}, \"grid\": {\"model.backbone\": [\"hqcnn\", "
       "\"mlp\"]}}",
       "bad.json: run 2 (model.backbone=\"mlp\"): model.backbone: \"mlp\" takes tabular data"},
      {"{\"base\": {\"model.backbone\": \"mlp\"}}",
       "bad.json: run 1: dataset.name: required, but not given"},
      {"{\"base\": {\"dataset.name\": \"wdbc\", \"model.backbone\": \"mlp\"},"
       " \"grid\": {\"seed\": [1, 2]}, \"exclude\": [{\"dataset.name\": \"wdbc\"}]}",
       "bad.json: the sweep expands to no runs (exclude rules drop all 2)"},
      {"{\"zip\": {\"seed\": [1]},\n \"linked\": {\"seed\": [2]}}",
       "bad.json:2: linked: give zip or linked (the same thing), not both"},
      {"{\"zip\": 3}",
       "bad.json:1: zip: expected an object of linked lists, or a list of such objects"},
      {"{\"zip\": [{}]}", "zip[0]: empty group; give keys with lists of equal length"},
      {"{\"name\": 7}", "bad.json:1: name: expected a string"},
      {"{\"description\": []}", "bad.json:1: description: expected a string"},
      {"{\"include\": {}}", "bad.json:1: include: expected a list of partial configs"},
      {"{\"exclude\": 1}", "bad.json:1: exclude: expected a list of partial configs to drop"},
      {"{\"base\": [1]}", "bad.json:1: base: expected an object of config keys, found [1]"},
      {"{\"seeds\": {\"count\": 2, \"first\": 1}}",
       "seeds.first: unknown key; seeds takes count and start"},
      {"{\"seeds\": {\"start\": 1}}", "bad.json:1: seeds: count is required"},
      {"{\"seeds\": 0}", "bad.json:1: seeds: seed count must be at least 1, found 0"},
      {"{\"seeds\": \"all\"}",
       "seeds: expected a list of seeds, a count, or {\"count\": N, \"start\": S}"},
      {"{\"seeds\": 200000}", "bad.json: seeds gives 200000 runs, over the limit of 100000"},
      {"{\"conditional\": {}}",
       "conditional: expected a list of {\"when\": ..., \"set\": ..., \"grid\": ...}"},
      {"{\"conditional\": [{\"when\": {\"seed\": 1}, \"then\": {}}]}",
       "conditional[0].then: unknown key; a conditional rule takes when, set and grid"},
      {"{\"conditional\": [{\"when\": {\"seed\": 1}}]}", "conditional[0]: give set, grid or both"},
      {"{\"random\": {\"samples\": 2, \"seed\": -1, \"params\": {\"seed\": {\"int\": [0, 9]}}}}",
       "random.seed: expected a non-negative integer, found -1"},
      {"{\"random\": {\"samples\": 2, \"draws\": 1}}",
       "random.draws: unknown key; random takes samples, seed and params"},
      {"{\"random\": {\"samples\": 2, \"params\": {\"train.lr\": {\"uniform\": [1, 0.1]}}}}",
       "low must not exceed high, found [1,0.1]"},
      {"{\"random\": {\"samples\": 2, \"params\": {\"train.lr\": [0.1, 0.2]}}}",
       "random.params.\"train.lr\": expected one distribution"},
      {"{\"grid\": {\"seed\": [1,2,3,4,5,6,7,8,9,10,11], \"train.lr\": "
       "[0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,1],"
       " \"train.epochs\": [1,2,3,4,5,6,7,8,9,10], \"train.batch_size\": [1,2,3,4,5,6,7,8,9,10],"
       " \"model.dropout\": [0,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9]}}",
       "bad.json: the grid gives 110000 runs, over the limit of 100000"},
  };
  for (const auto& c : cases) {
    std::string message = error_of(c.text);
    EXPECT_NE(message.find(c.message), std::string::npos)
        << "sweep: " << c.text << "\nexpected: " << c.message << "\ngot:      " << message;
  }
}

TEST(SweepErrorsTest, HugeGridIsRefusedUnlessTheLimitIsRaised) {
  const std::string huge =
      "{\"base\": {\"model.backbone\": \"probe\"}, \"grid\": {\"seed\": [1,2,3,4,5,6,7,8,9,10,11],"
      " \"probe.duration_ms\": [1,2,3,4,5,6,7,8,9,10], \"probe.failure\": [\"none\", \"error\"]}}";
  SweepOptions small;
  small.max_runs = 100;
  EXPECT_NE(error_of(huge, small)
                .find("bad.json: the grid gives 220 runs, over the limit of 100; raise it "
                      "with --max-runs"),
            std::string::npos)
      << error_of(huge, small);
  SweepOptions raised;
  raised.max_runs = 220;
  EXPECT_EQ(expand_sweep(JsonSource::from_text(huge, "ok.json"), raised).runs.size(), 220u);
}

TEST(SweepErrorsTest, ConditionalGridsAndSeedsCountTowardsTheLimit) {
  SweepOptions ten;
  ten.max_runs = 10;
  const std::string conditional =
      "{\"base\": {\"model.backbone\": \"probe\"}, \"grid\": {\"seed\": [1, 2, 3]},"
      " \"conditional\": [{\"when\": {\"seed\": [1, 2, 3]}, \"grid\": {\"probe.duration_ms\": [1, "
      "2, 3, 4, 5]}}]}";
  EXPECT_NE(
      error_of(conditional, ten)
          .find("bad.json: the conditional rules give at least 15 runs, over the limit of 10"),
      std::string::npos)
      << error_of(conditional, ten);
  const std::string seeded =
      "{\"base\": {\"model.backbone\": \"probe\"}, \"grid\": {\"seed\": [1, 2, 3]}, \"seeds\": 4}";
  EXPECT_NE(error_of(seeded, ten)
                .find("bad.json: crossing with the seeds gives 12 runs, over the limit of 10"),
            std::string::npos)
      << error_of(seeded, ten);
}

TEST(SweepErrorsTest, BadOverridesAreNamed) {
  const std::string ok = "{\"base\": {\"dataset.name\": \"wdbc\", \"model.backbone\": \"mlp\"}}";
  static const struct {
    const char* set;
    const char* message;
  } cases[] = {
      {"train.epochs", "--set train.epochs: expected KEY=VALUE"},
      {"train.epoch=3",
       "--set train.epoch=3: unknown key \"train.epoch\"; did you mean \"train.epochs\"?"},
      {"train.epochs=abc", "--set train.epochs=abc: expected an integer, found \"abc\""},
      {"quantum.qubits=0", "--set quantum.qubits=0: 0 is out of range 1..20"},
  };
  for (const auto& c : cases) {
    SweepOptions options;
    options.overrides = {c.set};
    std::string message = error_of(ok, options);
    EXPECT_NE(message.find(c.message), std::string::npos)
        << "expected: " << c.message << "\ngot: " << message;
  }
}

TEST(SweepErrorsTest, SetValueThatIsNotUtf8NamesSetAndTheKey) {
  SweepOptions options;
  options.overrides = {"model.backbone=\xff\xfeprobe"};
  EXPECT_EQ(error_of(R"({"base": {"model": {"backbone": "probe"}}})", options),
            "--set model.backbone=...: not valid UTF-8 (byte 16); config values are text in UTF-8");
  options.overrides = {"\xc3\x28=1"};
  EXPECT_EQ(error_of(R"({"base": {"model": {"backbone": "probe"}}})", options),
            "--set value: not valid UTF-8 (byte 1); config values are text in UTF-8");
}

}  // namespace
}  // namespace hqsweep
