// `hqsweep report` on small results files whose every number is known: summaries, paired
// comparisons, best configurations, shards, the formats, and the refusals.
#include "orchestrator/report/report.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/config_schema.h"
#include "store/result_store.h"
#include "tests/error_text.h"
#include "tests/store/store_test_util.h"

namespace hqsweep {
namespace {

using nlohmann::json;
using testing::error_of;

struct Scores {
  double test_acc, test_f1, val_acc, seconds;
};

RunResult fixture_run(const std::string& fusion, int seed, Scores scores, double lr = 0.001,
                      RunStatus status = RunStatus::done) {
  json config = canonical_config(json{{"dataset", {{"name", "wdbc"}}},
                                      {"model", {{"backbone", "mlp"}, {"fusion", fusion}}},
                                      {"train", {{"lr", lr}}},
                                      {"seed", seed}});
  RunResult run;
  run.run_id = run_id(config);
  run.config = config;
  run.status = status;
  run.start_time = 1000;
  run.end_time = 1000 + scores.seconds;
  if (status != RunStatus::done) {
    run.error = "exit code 1";
    return run;
  }
  run.metrics = {{"test_acc", scores.test_acc},
                 {"test_f1", scores.test_f1},
                 {"val_acc", scores.val_acc},
                 {"test_loss", 1 - scores.test_acc}};
  return run;
}

// Accuracies as k / 156 (BreastMNIST's test set), so equal differences must tie.
std::vector<RunResult> fusion_runs() {
  const int classical_correct[] = {125, 128, 133, 126, 131};
  const double classical_f1[] = {0.81, 0.84, 0.86, 0.80, 0.85};
  const int dhf_correct[] = {130, 133, 131, 134, 137};
  const double dhf_f1[] = {0.86, 0.85, 0.83, 0.87, 0.89};
  const double dhf_val[] = {0.75, 0.78, 0.74, 0.76, 0.77};
  std::vector<RunResult> runs;
  for (int seed = 0; seed < 5; ++seed) {
    runs.push_back(
        fixture_run("classical", seed,
                    {classical_correct[seed] / 156.0, classical_f1[seed], 0.7, 10.0 + seed}));
    runs.push_back(fixture_run(
        "dhf", seed, {dhf_correct[seed] / 156.0, dhf_f1[seed], dhf_val[seed], 20.0 + seed}));
  }
  runs.push_back(fixture_run("dhf", 5, {0, 0, 0, 1}, 0.001, RunStatus::failed));
  for (int seed = 0; seed < 3; ++seed)
    runs.push_back(fixture_run("cross_attention", seed, {0.80 + 0.01 * seed, 0.8, 0.7, 30}));
  return runs;
}

class ReportTest : public ::testing::Test {
 protected:
  std::string write(const std::string& name, const std::vector<RunResult>& runs) {
    std::string path = directory_.file(name);
    ResultStore store = ResultStore::open_for_writing(path);
    for (const RunResult& run : runs) store.append(run);
    return path;
  }
  json report_json(const std::vector<std::string>& files, ReportOptions options = {}) {
    return json::parse(make_report(files, options, ReportFormat::json));
  }
  static const json& group(const json& report, const std::string& fusion) {
    for (const json& g : report.at("groups"))
      if (g.at("keys").at("model.fusion") == fusion) return g;
    throw std::runtime_error("no group " + fusion);
  }
  testing::TemporaryDirectory directory_;
};

TEST_F(ReportTest, GroupsByTheVaryingKeyAndSummarisesOverSeeds) {
  json report = report_json({write("fusion.h5", fusion_runs())});
  EXPECT_EQ(report["group_keys"], json({"model.fusion"}));
  EXPECT_EQ(report["metrics"], json({"test_acc", "test_f1"})) << "of acc, f1, auc: those present";
  const json& dhf = group(report, "dhf");
  EXPECT_EQ(dhf["done"], 5);
  EXPECT_EQ(dhf["failed"], 1);
  const json& acc = dhf["metrics"]["test_acc"];
  EXPECT_EQ(acc["n"], 5);
  EXPECT_NEAR(acc["mean"].get<double>(), 0.8525641025641025, 1e-12);
  EXPECT_NEAR(acc["std"].get<double>(), 0.01755521017644761, 1e-12);
  EXPECT_NEAR(acc["ci_low"].get<double>(), 0.8307664301071072, 1e-10);
  EXPECT_NEAR(acc["ci_high"].get<double>(), 0.8743617750210979, 1e-10);
  EXPECT_EQ(dhf["best_seed"], 1) << "highest val_acc (0.78), not highest test_acc";
  EXPECT_NEAR(dhf["best_seed_value"].get<double>(), 133 / 156.0, 1e-12);
  EXPECT_EQ(dhf["median_duration_s"], 22.0) << "median of the done runs only";
  EXPECT_EQ(group(report, "cross_attention")["done"], 3);
}

TEST_F(ReportTest, PrunedAndProposedRunsAreNeitherDoneNorFailed) {
  std::vector<RunResult> runs = fusion_runs();
  RunResult pruned = fixture_run("dhf", 6, {0.5, 0.5, 0.5, 1});
  pruned.status = RunStatus::pruned;  // stopped early, with early metrics: left out
  runs.push_back(pruned);
  RunResult proposed = fixture_run("dhf", 7, {0, 0, 0, 1}, 0.001, RunStatus::proposed);
  runs.push_back(proposed);
  const json dhf = group(report_json({write("pruned.h5", runs)}), "dhf");
  EXPECT_EQ(dhf["done"], 5);
  EXPECT_EQ(dhf["failed"], 1) << "the one failed run only";
  EXPECT_EQ(dhf["metrics"]["test_acc"]["n"], 5) << "the pruned run's early metrics are left out";
}

TEST_F(ReportTest, GroupsFollowTheRecordedSweepsOrderNotTheOrderRunsFinished) {
  std::vector<RunResult> runs = fusion_runs();
  std::reverse(runs.begin(), runs.end());  // cross_attention finished first
  const std::string path = write("ordered.h5", runs);
  auto fusions = [&] {
    std::vector<std::string> order;
    const json report = report_json({path});
    for (const json& g : report.at("groups")) order.push_back(g.at("keys").at("model.fusion"));
    return order;
  };
  EXPECT_EQ(fusions(), (std::vector<std::string>{"cross_attention", "dhf", "classical"}))
      << "without a sweep record: as stored";
  SweepRecord sweep;
  sweep.name = "ordered";
  sweep.source = "ordered.json";
  sweep.text = R"({"base": {"dataset.name": "wdbc", "model.backbone": "mlp"},
                   "grid": {"model.fusion": ["classical", "dhf", "cross_attention"]},
                   "seeds": 5})";
  ResultStore::open_for_writing(path).record_sweep(sweep);
  EXPECT_EQ(fusions(), (std::vector<std::string>{"classical", "dhf", "cross_attention"}));
}

TEST_F(ReportTest, GroupsFollowTheSweepsOrderWhenItRanWithSet) {
  std::vector<RunResult> runs;
  for (const char* fusion : {"cross_attention", "dhf", "classical"})  // finished in this order
    for (int seed = 0; seed < 2; ++seed)
      runs.push_back(fixture_run(fusion, seed, {0.8, 0.8, 0.7, 10}, /*lr=*/0.01));
  const std::string path = write("set.h5", runs);
  SweepRecord sweep;
  sweep.name = "set";
  sweep.source = "set.json";
  sweep.text = R"({"base": {"dataset.name": "wdbc", "model.backbone": "mlp"},
                   "grid": {"model.fusion": ["classical", "dhf", "cross_attention"]},
                   "seeds": 2})";
  sweep.overrides = {"train.lr=0.01"};  // hqsweep run set.json --set train.lr=0.01
  ResultStore::open_for_writing(path).record_sweep(sweep);
  const json report = report_json({path});
  std::vector<std::string> order;
  for (const json& g : report.at("groups")) order.push_back(g.at("keys").at("model.fusion"));
  EXPECT_EQ(order, (std::vector<std::string>{"classical", "dhf", "cross_attention"})) << report;
}

TEST_F(ReportTest, EveryStoredMetricIsReportableNotOnlyIndexColumns) {
  std::vector<RunResult> runs = fusion_runs();
  for (RunResult& run : runs) {
    if (run.status != RunStatus::done) continue;
    run.metrics["test_acc_tuned"] = run.metrics["test_acc"] + 0.01;
    run.metrics["threshold"] = 0.4;
    run.metrics["best_epoch"] = 7;
  }
  ReportOptions options;
  options.metrics = {"acc_tuned", "threshold", "best_epoch"};
  const json report = report_json({write("tuned.h5", runs)}, options);
  EXPECT_EQ(report["metrics"], json({"test_acc_tuned", "threshold", "best_epoch"}));
  const json& dhf = group(report, "dhf");
  EXPECT_NEAR(dhf["metrics"]["test_acc_tuned"]["mean"].get<double>(), 0.8525641025641025 + 0.01,
              1e-12);
  EXPECT_EQ(dhf["metrics"]["best_epoch"]["mean"], 7);
}

TEST_F(ReportTest, ConfidenceIntervalsStayInsideTheMetricsRange) {
  std::vector<RunResult> runs;
  const double accuracies[] = {1.0, 1.0, 0.88};  // t interval [0.75, 1.34] before clipping
  for (int seed = 0; seed < 3; ++seed) {
    RunResult run = fixture_run("dhf", seed, {accuracies[seed], 0.9, 0.7, 10});
    run.metrics["test_loss"] = 0.01 * (1 + 10 * seed);  // interval reaching below 0
    runs.push_back(run);
  }
  ReportOptions options;
  options.metrics = {"acc", "loss"};
  const json report = report_json({write("bounded.h5", runs)}, options);
  const json& acc = report["groups"][0]["metrics"]["test_acc"];
  EXPECT_EQ(acc["ci_high"], 1.0);
  EXPECT_LT(acc["ci_low"].get<double>(), 0.96);
  EXPECT_EQ(report["groups"][0]["metrics"]["test_loss"]["ci_low"], 0.0);
}

TEST_F(ReportTest, MetricsDefaultToTheTestSetAndAcceptFullNames) {
  std::string file = write("fusion.h5", fusion_runs());
  ReportOptions options;
  options.metrics = {"acc,val_acc", "loss"};
  json report = report_json({file}, options);
  EXPECT_EQ(report["metrics"], json({"test_acc", "val_acc", "test_loss"}));
  options.metrics = {"auc"};
  EXPECT_THROW(report_json({file}, options), Error) << "named, so required";
  EXPECT_NEAR(group(report, "classical")["metrics"]["val_acc"]["mean"].get<double>(), 0.7, 1e-12);
}

TEST_F(ReportTest, CompareGivesDifferenceAndPairedPValuesAgainstTheMatchingBaseline) {
  ReportOptions options;
  options.metrics = {"acc", "f1"};
  options.compare = "fusion=classical";
  json report = report_json({write("fusion.h5", fusion_runs())}, options);
  EXPECT_TRUE(group(report, "classical")["comparison"]["is_baseline"].get<bool>());
  const json& dhf = group(report, "dhf")["comparison"];
  EXPECT_EQ(dhf["baseline"]["model.fusion"], "classical");
  EXPECT_EQ(dhf["pairs"], 5);
  const json& acc = dhf["metrics"]["test_acc"];
  EXPECT_NEAR(acc["difference"].get<double>(), 0.8525641025641025 - 0.8243589743589743, 1e-12);
  EXPECT_NEAR(acc["p_t"].get<double>(), 0.05993611035309082, 1e-9);
  EXPECT_NEAR(acc["p_wilcoxon"].get<double>(), 0.125, 1e-12);
  EXPECT_NEAR(acc["baseline"]["mean"].get<double>(), 0.8243589743589743, 1e-12);
  const json& f1 = dhf["metrics"]["test_f1"];
  EXPECT_NEAR(f1["p_t"].get<double>(), 0.18356686005527686, 1e-9);
  EXPECT_NEAR(f1["p_wilcoxon"].get<double>(), 0.1875, 1e-12);
  // Seeds 0..2 only: three pairs.
  EXPECT_EQ(group(report, "cross_attention")["comparison"]["pairs"], 3);
}

TEST_F(ReportTest, TableRowReadsAsAComparison) {
  ReportOptions options;
  options.metrics = {"acc"};
  options.compare = "fusion=classical";
  std::string table =
      make_report({write("fusion.h5", fusion_runs())}, options, ReportFormat::table);
  std::istringstream lines(table);
  std::string line, dhf;
  while (std::getline(lines, line))
    if (line.rfind("dhf", 0) == 0) dhf = line;
  EXPECT_NE(dhf.find("85.3 ± 1.8 [83.1, 87.4]"), std::string::npos) << table;
  EXPECT_NE(dhf.find("82.4 ± 2.2 (+2.8, p=0.0599 t, 0.125 W)"), std::string::npos) << table;
}

TEST_F(ReportTest, BestSelectsByValidationMetricNeverByTest) {
  std::vector<RunResult> runs;
  for (int seed = 0; seed < 2; ++seed) {
    // lr 0.01 validates better but tests worse; --best must pick it anyway.
    runs.push_back(fixture_run("classical", seed, {0.70, 0.7, 0.90, 5}, 0.01));
    runs.push_back(fixture_run("classical", seed, {0.85, 0.8, 0.80, 5}, 0.001));
    runs.push_back(fixture_run("dhf", seed, {0.75, 0.7, 0.70, 5}, 0.01));
    runs.push_back(fixture_run("dhf", seed, {0.80 + 0.02 * seed, 0.8, 0.85, 5}, 0.001));
  }
  ReportOptions options;
  options.best = true;
  options.metrics = {"acc"};
  options.compare = "fusion=classical";
  json report = report_json({write("best.h5", runs)}, options);
  EXPECT_EQ(report["group_keys"], json({"model.fusion"}));
  const json& classical = group(report, "classical");
  EXPECT_EQ(classical["configuration"], "lr=0.01");
  EXPECT_NEAR(classical["selection_mean"].get<double>(), 0.90, 1e-12);
  EXPECT_NEAR(classical["metrics"]["test_acc"]["mean"].get<double>(), 0.70, 1e-12);
  EXPECT_EQ(classical["done"], 2);
  const json& dhf = group(report, "dhf");
  EXPECT_EQ(dhf["configuration"], "lr=0.001");
  EXPECT_EQ(dhf["comparison"]["pairs"], 2) << "paired by seed across the chosen configurations";
  EXPECT_NEAR(dhf["comparison"]["metrics"]["test_acc"]["difference"].get<double>(), 0.11, 1e-12);
}

TEST_F(ReportTest, ShardsReportLikeOneFileAndCountARunOnce) {
  std::vector<RunResult> runs = fusion_runs();
  std::string whole = write("whole.h5", runs);
  std::vector<RunResult> first(runs.begin(), runs.begin() + 7),
      second(runs.begin() + 5, runs.end());
  std::string a = write("shard-a.h5", first), b = write("shard-b.h5", second);
  json one = report_json({whole}), two = report_json({a, b});
  EXPECT_EQ(one["groups"], two["groups"]);
  EXPECT_EQ(two["runs"], runs.size());
}

TEST_F(ReportTest, ReadsAFileThatASweepIsStillWriting) {
  std::string path = directory_.file("live.h5");
  ResultStore writer = ResultStore::open_for_writing(path);
  writer.append_all(fusion_runs(), AppendMode::normal, FileUpdate::deferred);
  json report = report_json({path});
  EXPECT_EQ(group(report, "dhf")["done"], 5);
}

// A tiny CSV reader (quoted fields with doubled quotes), enough to prove the output parses.
std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
  std::vector<std::vector<std::string>> rows(1);
  std::string cell;
  bool quoted = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        cell += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cell += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      rows.back().push_back(cell);
      cell.clear();
    } else if (c == '\n') {
      rows.back().push_back(cell);
      cell.clear();
      rows.emplace_back();
    } else {
      cell += c;
    }
  }
  if (rows.back().empty()) rows.pop_back();
  return rows;
}

TEST_F(ReportTest, EveryFormatParsesAndCarriesTheSameNumbers) {
  std::string file = write("fusion.h5", fusion_runs());
  ReportOptions options;
  options.compare = "fusion=classical";
  options.metrics = {"acc", "f1"};
  auto rows = parse_csv(make_report({file}, options, ReportFormat::csv));
  ASSERT_EQ(rows.size(), 4u) << "header and three groups";
  for (const auto& row : rows) ASSERT_EQ(row.size(), rows[0].size());
  auto column = [&](const std::string& name) {
    for (std::size_t c = 0; c < rows[0].size(); ++c)
      if (rows[0][c] == name) return c;
    ADD_FAILURE() << "no column " << name;
    return std::size_t{0};
  };
  const auto& dhf = rows[0][0] == "model.fusion" && rows[2][0] == "dhf" ? rows[2] : rows[1];
  ASSERT_EQ(dhf[0], "dhf");
  EXPECT_NEAR(std::stod(dhf[column("test_acc_mean")]), 0.8525641025641025, 1e-15);
  EXPECT_NEAR(std::stod(dhf[column("test_acc_p_t")]), 0.05993611035309082, 1e-9);
  EXPECT_EQ(dhf[column("failed")], "1");

  json report = json::parse(make_report({file}, options, ReportFormat::json));
  EXPECT_EQ(report["groups"].size(), 3u);

  std::string markdown = make_report({file}, options, ReportFormat::markdown);
  int table_lines = 0;
  std::istringstream lines(markdown);
  for (std::string line; std::getline(lines, line);) table_lines += line.rfind("| ", 0) == 0;
  EXPECT_EQ(table_lines, 4) << markdown;
  EXPECT_NE(markdown.find("|---|--:|"), std::string::npos) << markdown;

  std::string latex = make_report({file}, options, ReportFormat::latex);
  EXPECT_NE(latex.find("\\begin{tabular}{lrrrrrrrrr}"), std::string::npos) << latex;
  EXPECT_NE(latex.find("85.3 $\\pm$ 1.8"), std::string::npos) << latex;
  EXPECT_NE(latex.find("\\end{tabular}"), std::string::npos);
  EXPECT_EQ(latex.find(" % "), std::string::npos) << "a bare % would comment out the row";
}

TEST_F(ReportTest, RefusesBadInputNamingWhatIsWrong) {
  std::string file = write("fusion.h5", fusion_runs());
  auto report_with = [&](ReportOptions options) {
    return error_of([&] { make_report({file}, options, ReportFormat::table); });
  };
  ReportOptions metric;
  metric.metrics = {"accuracy"};
  EXPECT_NE(report_with(metric).find("no done run has a metric 'accuracy' (available: test_acc"),
            std::string::npos)
      << report_with(metric);
  ReportOptions key;
  key.by = {"optimiser"};
  EXPECT_EQ(report_with(key), "--by: no run has a config key 'optimiser'");
  ReportOptions ambiguous;
  ambiguous.by = {"lr"};
  EXPECT_NE(report_with(ambiguous).find("'lr' could mean"), std::string::npos);
  ReportOptions baseline;
  baseline.compare = "fusion=quantum";
  EXPECT_NE(report_with(baseline).find(
                "--compare: no run has model.fusion=quantum (values present: classical, "
                "cross_attention, dhf)"),
            std::string::npos)
      << report_with(baseline);
  ReportOptions seed;
  seed.by = {"seed"};
  EXPECT_EQ(report_with(seed), "--by: the seed is what a group summarises over");
  ReportOptions unselectable;
  unselectable.best = true;
  unselectable.metrics = {"loss"};  // test_loss, but no run has val_loss
  EXPECT_EQ(
      report_with(unselectable),
      "--best: no done run has val_loss to select test_loss by (no selection on the test set)");
  ReportOptions syntax;
  syntax.compare = "fusion";
  EXPECT_NE(report_with(syntax).find("expected KEY=VALUE"), std::string::npos);
  ReportOptions not_grouped;
  not_grouped.by = {"dataset"};
  not_grouped.compare = "fusion=classical";
  EXPECT_NE(report_with(not_grouped).find("model.fusion is not a group key"), std::string::npos);
  EXPECT_NE(error_of([] { parse_report_format("html"); }).find("unknown format 'html'"),
            std::string::npos);

  std::string failed_only =
      write("failed.h5", {fixture_run("dhf", 0, {0, 0, 0, 1}, 0.001, RunStatus::failed)});
  EXPECT_NE(error_of([&] {
              make_report({failed_only}, {}, ReportFormat::table);
            }).find("none of its 1 runs is done yet"),
            std::string::npos);
  std::string empty = directory_.file("empty.h5");
  ResultStore::open_for_writing(empty);
  EXPECT_EQ(error_of([&] { make_report({empty}, {}, ReportFormat::table); }),
            empty + ": no runs to report");
  std::string text = directory_.file("notes.h5");
  std::ofstream(text) << "not hdf5";
  EXPECT_NE(
      error_of([&] { make_report({text}, {}, ReportFormat::table); }).find("is not an HDF5 file"),
      std::string::npos);
}

}  // namespace
}  // namespace hqsweep
