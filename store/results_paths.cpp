// Where a sweep's files live.
#include "store/results_paths.h"

#include <algorithm>
#include <filesystem>
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

namespace {

// The I of "STEM.shard-I-of-N.h5", or -1 when `name` is not such a name.
int shard_index_of(const std::string& name, const std::string& stem) {
  const std::string prefix = stem + ".shard-";
  if (name.size() < prefix.size() + 9 || name.compare(0, prefix.size(), prefix) != 0 ||
      name.compare(name.size() - 3, 3, ".h5") != 0) {
    return -1;
  }
  const std::string middle = name.substr(prefix.size(), name.size() - prefix.size() - 3);
  const std::size_t of = middle.find("-of-");
  auto digits = [](const std::string& text) {
    return !text.empty() && text.size() < 9 &&
           std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (of == std::string::npos || !digits(middle.substr(0, of)) || !digits(middle.substr(of + 4))) {
    return -1;
  }
  return std::stoi(middle.substr(0, of));
}

}  // namespace

std::vector<std::string> shard_files(const std::string& results_path) {
  const fs::path path(results_path);
  const fs::path directory = path.has_parent_path() ? path.parent_path() : fs::path(".");
  const std::string stem = path.stem().string();
  std::vector<std::pair<int, std::string>> found;
  std::error_code error;
  if (!fs::is_directory(directory, error)) return {};
  for (const auto& entry : fs::directory_iterator(directory, error)) {
    const std::string name = entry.path().filename().string();
    const int index = shard_index_of(name, stem);
    if (index >= 0) found.emplace_back(index, (directory / name).string());
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> files;
  for (auto& [index, file] : found) files.push_back(file);
  return files;
}

}  // namespace hqsweep
