// The scheduler's decisions: longest first, refinement from measured durations, one extraction
// for many SHF heads, failed extractions failing their heads, retries.
#include "orchestrator/schedule/scheduler.h"

#include <optional>

#include <gtest/gtest.h>

#include "common/config_schema.h"
#include "common/derived_configs.h"
#include "common/run_config.h"

namespace hqsweep {
namespace {

using nlohmann::json;

json probe(double milliseconds, int seed = 0) {
  return canonical_config(json{{"model", {{"backbone", "probe"}}},
                               {"probe", {{"duration_ms", milliseconds}}},
                               {"seed", seed}});
}

json shf_head(double lr, int qubits = 4, int seed = 0) {
  return canonical_config(json{{"dataset", {{"name", "wdbc"}}},
                               {"model", {{"backbone", "mlp"}, {"fusion", "shf"}}},
                               {"quantum", {{"qubits", qubits}, {"trainable", false}}},
                               {"train", {{"lr", lr}}},
                               {"seed", seed}});
}

TEST(SchedulerTest, WorkersHoldMoreTasksOnlyWhenTasksAreShort) {
  EXPECT_EQ(tasks_held_per_worker(-1), 3u);  // nothing measured yet
  EXPECT_EQ(tasks_held_per_worker(1.0), 3u);
  EXPECT_EQ(tasks_held_per_worker(0.05), 3u);
  EXPECT_EQ(tasks_held_per_worker(0.02), 5u);
  EXPECT_EQ(tasks_held_per_worker(0.01), 7u);
  EXPECT_EQ(tasks_held_per_worker(0.0), 8u);
}

TEST(SchedulerTest, LongestEstimatedTaskFirst) {
  Scheduler scheduler({probe(10), probe(300), probe(20)}, {}, 0);
  EXPECT_EQ(scheduler.next()->estimate, 0.3);
  EXPECT_EQ(scheduler.next()->estimate, 0.02);
  EXPECT_EQ(scheduler.next()->estimate, 0.01);
  EXPECT_FALSE(scheduler.next().has_value());
  EXPECT_FALSE(scheduler.finished_all());
}

TEST(SchedulerTest, EstimatesOrderBackbonesImageSizesAndEpochs) {
  auto config = [](const char* backbone, int size, int epochs) {
    return make_run_config(json{{"dataset", {{"name", "breastmnist"}, {"image_size", size}}},
                                {"model", {{"backbone", backbone}}},
                                {"train", {{"epochs", epochs}}}});
  };
  EXPECT_GT(estimate_seconds(config("resnet18", 28, 10)),
            estimate_seconds(config("hqcnn", 28, 10)));
  EXPECT_GT(estimate_seconds(config("hqcnn", 64, 10)), estimate_seconds(config("hqcnn", 28, 10)));
  EXPECT_GT(estimate_seconds(config("hqcnn", 28, 20)), estimate_seconds(config("hqcnn", 28, 10)));
}

TEST(SchedulerTest, MeasuredDurationsRefineTheirGroupsEstimates) {
  const json mlp =
      canonical_config(json{{"dataset", {{"name", "wine"}}}, {"model", {{"backbone", "mlp"}}}});
  Scheduler scheduler({probe(500), probe(400), mlp}, {}, 0);
  Task first = *scheduler.next();
  EXPECT_EQ(first.estimate, 0.5);
  ASSERT_LT(estimate_seconds(run_config_from_canonical(mlp)), 0.4);
  // Probes turn out 100x shorter than estimated: the mlp run now outranks the other probe.
  scheduler.finished(first, true, false, 0.005);
  EXPECT_EQ(scheduler.next()->id, run_id(mlp));
}

TEST(SchedulerTest, ShfHeadsWaitForOneSharedExtraction) {
  Scheduler scheduler({shf_head(0.1), shf_head(0.01), shf_head(0.001), shf_head(0.1, 6, 1)}, {}, 0);
  std::vector<Task> extractions;
  while (auto task = scheduler.next()) {
    EXPECT_EQ(task->kind, TaskKind::extract) << "heads wait for their features";
    extractions.push_back(*task);
  }
  ASSERT_EQ(extractions.size(), 2u);  // 4 qubits (three heads) and 6 qubits (one)
  const Task& four =
      extractions[0].id == feature_cache_key(shf_head(0.1)) ? extractions[0] : extractions[1];
  scheduler.finished(four, true, false, 1.0);
  int heads = 0;
  while (auto task = scheduler.next()) {
    EXPECT_EQ(task->kind, TaskKind::run);
    ++heads;
  }
  EXPECT_EQ(heads, 3);
  EXPECT_EQ(scheduler.counts().waiting, 1);  // the 6-qubit head still waits
}

TEST(SchedulerTest, ExtractionsOverOneClassicalModelRunOneAtATime) {
  // 4 and 6 qubits over the same backbone and seed: the first trains the classical model and
  // keeps it; the second, started together, would train it again.
  Scheduler scheduler({shf_head(0.1), shf_head(0.1, 6), probe(10)}, {}, 0);
  std::optional<Task> first = scheduler.next();
  ASSERT_TRUE(first && first->kind == TaskKind::extract);
  std::optional<Task> second = scheduler.next();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->kind, TaskKind::run) << "the other extraction waits for the model";
  EXPECT_FALSE(scheduler.next()) << "nothing else may start";
  scheduler.finished(*first, true, false, 1.0);
  std::optional<Task> third = scheduler.next();
  ASSERT_TRUE(third);
  EXPECT_EQ(third->kind, TaskKind::extract);
  EXPECT_NE(third->id, first->id);
}

TEST(SchedulerTest, CachedFeaturesNeedNoExtraction) {
  Scheduler scheduler({shf_head(0.1)}, {feature_cache_key(shf_head(0.1))}, 0);
  EXPECT_EQ(scheduler.next()->kind, TaskKind::run);
}

TEST(SchedulerTest, FailedExtractionFailsItsHeadsWithTheReason) {
  Scheduler scheduler({shf_head(0.1), shf_head(0.01)}, {}, 0);
  Task extraction = *scheduler.next();
  scheduler.set_extraction_error(extraction.id, "data file missing");
  scheduler.finished(extraction, false, false, 0.1);
  auto failures = scheduler.take_blocked_failures();
  ASSERT_EQ(failures.size(), 2u);
  EXPECT_NE(failures[0].second.find("data file missing"), std::string::npos);
  EXPECT_TRUE(scheduler.finished_all());
  EXPECT_EQ(scheduler.counts().failed, 2);
  EXPECT_TRUE(scheduler.take_blocked_failures().empty()) << "each failure is given once";
}

TEST(SchedulerTest, RetryableFailuresComeBackWhileAttemptsRemain) {
  Scheduler scheduler({probe(10)}, {}, 2);
  for (int attempt = 1; attempt <= 3; ++attempt) {
    Task task = *scheduler.next();
    EXPECT_EQ(task.attempt, attempt);
    EXPECT_EQ(scheduler.finished(task, false, true, 0.01), attempt < 3);
  }
  EXPECT_FALSE(scheduler.next().has_value());
  EXPECT_TRUE(scheduler.finished_all());
  EXPECT_EQ(scheduler.counts().failed, 1);
}

TEST(SchedulerTest, RequeuedTasksRunAgain) {
  Scheduler scheduler({probe(10)}, {}, 0);
  Task task = *scheduler.next();
  scheduler.requeue(task);
  EXPECT_EQ(scheduler.next()->id, task.id);
}

}  // namespace
}  // namespace hqsweep
