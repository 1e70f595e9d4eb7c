// Merging results files (store/merge.h).
#include "store/merge.h"

#include <filesystem>
#include <map>

#include <fmt/format.h>

#include "common/error.h"
#include "store/result_store.h"

namespace hqsweep {

namespace {

namespace fs = std::filesystem;

// Higher is better: which copy of a run a merged file keeps.
struct Copy {
  RunSummary summary;
  std::size_t input = 0;  // index into the opened stores
};

// Why two finished copies of one run differ; empty when they agree.
std::string difference(const RunSummary& a, const RunSummary& b) {
  if (a.config != b.config) return "config differs";
  if (a.status != b.status) return to_string(a.status) + " vs " + to_string(b.status);
  // Only metrics both summaries hold: a file read from its HDF5 index lists fewer than one read
  // from its journal.
  for (const auto& [name, value] : a.metrics) {
    auto it = b.metrics.find(name);
    if (it == b.metrics.end()) continue;
    if (it->second != value && !(value != value && it->second != it->second)) {
      return fmt::format("{} {:.6g} vs {:.6g}", name, value, it->second);
    }
  }
  return "";
}

bool same_file(const std::string& a, const std::string& b) {
  std::error_code error;
  return fs::exists(a) && fs::exists(b) && fs::equivalent(a, b, error);
}

}  // namespace

MergeSummary merge_results(const std::string& out, const std::vector<std::string>& inputs) {
  if (inputs.empty()) throw Error("merge into " + out + ": no input files given");
  for (const std::string& input : inputs) {
    if (input == out || same_file(input, out)) {
      throw Error(input + " is both an input and the merged file; name another output");
    }
  }
  // Read everything before opening the output, so that a bad input changes nothing.
  std::vector<ResultStore> stores;
  for (const std::string& input : inputs) stores.push_back(ResultStore::open_for_reading(input));
  std::map<std::string, std::vector<Copy>> copies;
  std::vector<std::string> order;  // run_ids in first-seen order
  for (std::size_t i = 0; i < stores.size(); ++i) {
    for (RunSummary& run : stores[i].list()) {
      auto& list = copies[run.run_id];
      if (list.empty()) order.push_back(run.run_id);
      list.push_back({std::move(run), i});
    }
  }

  MergeSummary summary;
  ResultStore merged = ResultStore::open_for_writing(out);
  for (const ResultStore& store : stores)
    for (const SweepRecord& sweep : store.sweeps()) merged.record_sweep(sweep);

  std::map<std::string, RunSummary> existing;
  for (RunSummary& run : merged.list()) existing[run.run_id] = std::move(run);
  std::vector<RunResult> normal, retries;
  for (const std::string& run_id : order) {
    const std::vector<Copy>& list = copies[run_id];
    const Copy* best = &list.front();
    for (const Copy& copy : list) {
      if (replaces_copy(copy.summary.status, best->summary.status)) best = &copy;
    }
    summary.duplicate_copies += static_cast<int64_t>(list.size()) - 1;
    for (const Copy& copy : list) {
      if (&copy == best || !is_finished(copy.summary.status) || !is_finished(best->summary.status))
        continue;
      std::string why = difference(best->summary, copy.summary);
      if (!why.empty())
        summary.conflicts.push_back({run_id, inputs[best->input], inputs[copy.input], why});
    }
    auto there = existing.find(run_id);
    if (there != existing.end() && !replaces_copy(best->summary.status, there->second.status)) {
      ++summary.already_there;
      if (is_finished(there->second.status) && is_finished(best->summary.status)) {
        std::string why = difference(there->second, best->summary);
        if (!why.empty()) summary.conflicts.push_back({run_id, out, inputs[best->input], why});
      }
      continue;
    }
    (there != existing.end() ? retries : normal).push_back(stores[best->input].get(run_id));
  }
  summary.added = static_cast<int64_t>(normal.size() + retries.size());
  merged.append_all(std::move(normal));
  merged.append_all(std::move(retries), AppendMode::retry);
  return summary;
}

}  // namespace hqsweep
