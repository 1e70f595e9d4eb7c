// Feature cache files: /meta (format, schema_version, key, config, created) and one group per
// split (train, val, test) with classical [rows][width], quantum [rows][width] and labels [rows].
#include "store/feature_cache.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>

#include <fmt/format.h>

#include "common/clock.h"
#include "common/config_schema.h"
#include "common/error.h"
#include "store/hdf5.h"
#include "store/results_file.h"

namespace hqsweep {

namespace {

namespace fs = std::filesystem;

constexpr const char* kFormat = "hqsweep-features";
constexpr const char* kSuffix = ".h5";
constexpr const char* kTemporaryMarker = ".h5.tmp-";
constexpr double kStaleTemporarySeconds = 600;
constexpr const char* kTrainedModels = "backbones";
constexpr const char* kModelTemporaryMarker = ".tmp-";

void check_key(const std::string& key) {
  bool valid = !key.empty() && key.size() <= 128;
  for (char c : key)
    valid = valid && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_');
  if (!valid) {
    throw Error("invalid feature cache key '" + key +
                "' (expected 1 to 128 letters, digits, '-' or '_')");
  }
}

double modified_time(const fs::path& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return 0;
  return static_cast<double>(info.st_mtim.tv_sec) + info.st_mtim.tv_nsec * 1e-9;
}

void write_split(const hdf5::Handle& file, const std::string& name, const FeatureSplit& split) {
  auto fail = [&](const std::string& what) {
    throw Error("feature split '" + name + "': " + what);
  };
  if (split.classical.size() != static_cast<std::size_t>(split.rows * split.classical_width))
    fail("classical features do not have rows x width values");
  if (split.quantum.size() != static_cast<std::size_t>(split.rows * split.quantum_width))
    fail("quantum features do not have rows x width values");
  if (split.labels.size() != static_cast<std::size_t>(split.rows))
    fail("labels are not one per row");
  hdf5::Handle group = hdf5::create_group(file, name);
  auto rows = static_cast<hsize_t>(split.rows);
  hdf5::write_dataset(group, "classical", {rows, static_cast<hsize_t>(split.classical_width)},
                      split.classical.data());
  hdf5::write_dataset(group, "quantum", {rows, static_cast<hsize_t>(split.quantum_width)},
                      split.quantum.data());
  hdf5::write_dataset(group, "labels", {rows}, split.labels.data());
}

FeatureSplit read_split(const hdf5::Handle& file, const std::string& name) {
  hdf5::Handle group = hdf5::open_group(file, name);
  FeatureSplit split;
  std::vector<hsize_t> shape;
  split.classical = hdf5::read_dataset<float>(group, "classical", &shape);
  if (shape.size() != 2) throw Error("'" + name + "/classical' is not two-dimensional");
  split.rows = static_cast<int64_t>(shape[0]);
  split.classical_width = static_cast<int64_t>(shape[1]);
  split.quantum = hdf5::read_dataset<float>(group, "quantum", &shape);
  if (shape.size() != 2 || static_cast<int64_t>(shape[0]) != split.rows)
    throw Error("'" + name + "/quantum' does not have one row per sample");
  split.quantum_width = static_cast<int64_t>(shape[1]);
  split.labels = hdf5::read_dataset<int64_t>(group, "labels");
  if (static_cast<int64_t>(split.labels.size()) != split.rows)
    throw Error("'" + name + "/labels' does not have one label per sample");
  return split;
}

nlohmann::json read_config(const std::string& path) {
  hdf5::Handle file = hdf5::open_file(path, hdf5::Access::read_only);
  hdf5::Handle meta = hdf5::open_group(file, "meta");
  if (hdf5::read_string_attribute(meta, "format") != kFormat)
    throw Error(path + " is not an hqsweep feature cache");
  return nlohmann::json::parse(hdf5::read_string_attribute(meta, "config"));
}

}  // namespace

FeatureCache::FeatureCache(std::string directory) : directory_(std::move(directory)) {}

std::string FeatureCache::path_for(const std::string& key) const {
  check_key(key);
  return (fs::path(directory_) / (key + kSuffix)).string();
}

bool FeatureCache::contains(const std::string& key) const {
  return fs::exists(path_for(key));
}

void FeatureCache::write(const std::string& key, const CachedFeatures& features) const {
  const std::string final_path = path_for(key);
  std::error_code error;
  fs::create_directories(directory_, error);
  if (error) {
    throw Error("cannot create feature cache directory " + directory_ + ": " + error.message());
  }
  std::random_device entropy;
  const std::string temporary = final_path + fmt::format(".tmp-{}-{:08x}", ::getpid(), entropy());
  try {
    {
      hdf5::Handle file = hdf5::create_file(temporary);
      hdf5::Handle meta = hdf5::create_group(file, "meta");
      hdf5::write_attribute(meta, "format", std::string(kFormat));
      hdf5::write_attribute(meta, "schema_version", int64_t{1});
      hdf5::write_attribute(meta, "key", key);
      hdf5::write_attribute(meta, "config", features.config.dump());
      hdf5::write_attribute(meta, "created", results_file::iso_time(wall_seconds()));
      write_split(file, "train", features.train);
      write_split(file, "val", features.val);
      write_split(file, "test", features.test);
      file.close("feature cache " + temporary);
    }
    if (std::rename(temporary.c_str(), final_path.c_str()) != 0)
      throw Error("cannot rename it into place: " + std::string(std::strerror(errno)));
  } catch (const Error& failure) {
    std::remove(temporary.c_str());
    throw Error("cannot write feature cache " + final_path + ": " + failure.what());
  }
}

std::optional<CachedFeatures> FeatureCache::read(const std::string& key) const {
  const std::string path = path_for(key);
  if (!fs::exists(path)) return std::nullopt;
  try {
    hdf5::Handle file = hdf5::open_file(path, hdf5::Access::read_only);
    hdf5::Handle meta = hdf5::open_group(file, "meta");
    if (hdf5::read_string_attribute(meta, "format") != kFormat)
      throw Error("not an hqsweep feature cache");
    if (hdf5::read_string_attribute(meta, "key") != key)
      throw Error("it holds key '" + hdf5::read_string_attribute(meta, "key") + "'");
    CachedFeatures features;
    features.config = nlohmann::json::parse(hdf5::read_string_attribute(meta, "config"));
    features.train = read_split(file, "train");
    features.val = read_split(file, "val");
    features.test = read_split(file, "test");
    return features;
  } catch (const Error& error) {
    throw Error("feature cache " + path + " is damaged: " + error.what() +
                " (remove it with `hqsweep cache rm`)");
  }
}

std::vector<CacheEntry> FeatureCache::list() const {
  std::vector<CacheEntry> entries;
  std::error_code error;
  if (!fs::is_directory(directory_, error)) return entries;
  for (const fs::directory_entry& item : fs::directory_iterator(directory_)) {
    const std::string name = item.path().filename().string();
    if (name.size() <= 3 || name.compare(name.size() - 3, 3, kSuffix) != 0) continue;
    CacheEntry entry;
    entry.key = name.substr(0, name.size() - 3);
    entry.path = item.path().string();
    entry.bytes = item.file_size(error);
    entry.modified = modified_time(item.path());
    try {
      entry.config = read_config(entry.path);
    } catch (const Error&) {
      entry.config = nullptr;  // listed, so that the user sees and can remove it
    }
    entries.push_back(std::move(entry));
  }
  std::sort(entries.begin(), entries.end(),
            [](const CacheEntry& a, const CacheEntry& b) { return a.key < b.key; });
  return entries;
}

void FeatureCache::remove(const std::string& key) const {
  const std::string path = path_for(key);
  if (std::remove(path.c_str()) != 0) {
    throw Error("cannot remove feature cache " + path + ": " + std::strerror(errno));
  }
}

std::string FeatureCache::trained_model_path(const std::string& classical_run_id) const {
  return (fs::path(directory_) / kTrainedModels / (classical_run_id + ".pt")).string();
}

std::string FeatureCache::temporary_for(const std::string& path) {
  return path + kModelTemporaryMarker + std::to_string(::getpid());
}

namespace {

CacheEntry entry_of(const fs::directory_entry& item, std::string key) {
  std::error_code error;
  return CacheEntry{std::move(key), item.path().string(), item.file_size(error),
                    modified_time(item.path()), nullptr};
}

bool is_stale_temporary(const fs::directory_entry& item, const std::string& marker) {
  return item.path().filename().string().find(marker) != std::string::npos &&
         wall_seconds() - modified_time(item.path()) >= kStaleTemporarySeconds;
}

}  // namespace

std::vector<CacheEntry> FeatureCache::collect_garbage(const std::set<std::string>& referenced,
                                                      bool dry_run) const {
  std::vector<CacheEntry> doomed;
  std::set<std::string> models_in_use;  // run_ids of the classical models of the caches kept
  for (const CacheEntry& entry : list()) {
    if (referenced.count(entry.key)) {
      if (entry.config.is_object() && entry.config.contains("classical"))
        models_in_use.insert(run_id(entry.config.at("classical")));
      continue;
    }
    doomed.push_back(entry);
  }
  std::error_code error;
  if (!fs::is_directory(directory_, error)) return doomed;
  for (const fs::directory_entry& item : fs::directory_iterator(directory_)) {
    if (is_stale_temporary(item, kTemporaryMarker))
      doomed.push_back(entry_of(item, item.path().filename().string()));
  }
  const fs::path models = fs::path(directory_) / kTrainedModels;
  if (fs::is_directory(models, error)) {
    for (const fs::directory_entry& item : fs::directory_iterator(models)) {
      const std::string name = item.path().filename().string();
      const bool temporary = name.find(kModelTemporaryMarker) != std::string::npos;
      if (temporary ? !is_stale_temporary(item, kModelTemporaryMarker)
                    : models_in_use.count(item.path().stem().string()) > 0)
        continue;
      doomed.push_back(entry_of(item, std::string(kTrainedModels) + "/" + name));
    }
  }
  if (!dry_run) {
    for (const CacheEntry& entry : doomed) {
      if (!fs::remove(entry.path, error) && error)
        throw Error("cannot remove " + entry.path + ": " + error.message());
    }
  }
  return doomed;
}

}  // namespace hqsweep
