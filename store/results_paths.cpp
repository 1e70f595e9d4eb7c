// Where a sweep's files live.
#include "store/results_paths.h"

#include <algorithm>
#include <filesystem>
#include <regex>
#include <utility>

namespace hqsweep {

namespace fs = std::filesystem;

std::string sweep_stem(const std::string& sweep_name, const std::string& sweep_file) {
  return sweep_name.empty() ? fs::path(sweep_file).stem().string() : sweep_name;
}

std::string default_results_path(const std::string& sweep_name, const std::string& sweep_file) {
  return "results/" + sweep_stem(sweep_name, sweep_file) + ".h5";
}

std::string beside_results(const std::string& results_path, const std::string& suffix) {
  std::string stem = results_path;
  if (stem.size() > 3 && stem.compare(stem.size() - 3, 3, ".h5") == 0) stem.resize(stem.size() - 3);
  return stem + suffix;
}

std::string journal_path(const std::string& results_path) {
  return results_path + ".journal";
}

std::string writer_lock_path(const std::string& results_path) {
  return results_path + ".lock";
}

std::string writer_marker_path(const std::string& results_path) {
  return results_path + ".writing";
}

std::string slurm_jobs_path(const std::string& results_path) {
  return beside_results(results_path, ".slurm-jobs");
}

std::string shard_results_path(const std::string& results_path, int index, int count) {
  return beside_results(results_path,
                        ".shard-" + std::to_string(index) + "-of-" + std::to_string(count) + ".h5");
}

std::vector<std::string> shard_files(const std::string& results_path) {
  const fs::path path(results_path);
  const fs::path directory = path.has_parent_path() ? path.parent_path() : fs::path(".");
  const std::regex pattern(
      std::regex_replace(path.stem().string(), std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)") +
      R"(\.shard-(\d+)-of-(\d+)\.h5)");
  std::vector<std::pair<int, std::string>> found;
  std::error_code error;
  if (!fs::is_directory(directory, error)) return {};
  for (const auto& entry : fs::directory_iterator(directory, error)) {
    std::smatch match;
    const std::string name = entry.path().filename().string();
    if (std::regex_match(name, match, pattern) && match[1].length() < 9) {
      found.emplace_back(std::stoi(match[1].str()), (directory / name).string());
    }
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> files;
  for (auto& [index, file] : found) files.push_back(file);
  return files;
}

}  // namespace hqsweep
