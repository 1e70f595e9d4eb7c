// Feature caches for Static Hybrid Fusion: one HDF5 file per cache key in a cache directory,
// holding the train/val/test features a frozen extraction produced, so many heads train on them.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace hqsweep {

struct FeatureSplit {
  int64_t rows = 0;
  int64_t classical_width = 0;
  std::vector<float> classical;  // row-major [rows][classical_width]
  int64_t quantum_width = 0;     // 0 when the extraction has no quantum branch
  std::vector<float> quantum;    // row-major [rows][quantum_width]
  std::vector<int64_t> labels;   // [rows]
};

struct CachedFeatures {
  nlohmann::json config;  // the extraction config that made them
  FeatureSplit train, val, test;
};

struct CacheEntry {
  std::string key;
  std::string path;
  uint64_t bytes = 0;
  double modified = 0;  // seconds since the Unix epoch
  nlohmann::json config;
};

class FeatureCache {
 public:
  // Keys are what the worker derives from the extraction config: letters, digits, '-' and '_'.
  explicit FeatureCache(std::string directory);

  const std::string& directory() const { return directory_; }
  std::string path_for(const std::string& key) const;
  bool contains(const std::string& key) const;
  // Writes under a unique temporary name and renames into place, so a half-written cache is
  // never read and concurrent writers of one key leave one valid file.
  void write(const std::string& key, const CachedFeatures& features) const;
  // Empty when absent; throws naming the file when it is damaged.
  std::optional<CachedFeatures> read(const std::string& key) const;
  std::vector<CacheEntry> list() const;
  // Throws when the key has no cache.
  void remove(const std::string& key) const;
  // Where an SHF extraction keeps the classical model it trained (its metrics beside it, .json),
  // named by that model's run_id, so that extractions of several circuits over one backbone train
  // it once.
  std::string trained_model_path(const std::string& classical_run_id) const;
  // The name this process writes a kept model's file under before renaming it into place (gc
  // removes such names that writers which died left behind).
  static std::string temporary_for(const std::string& path);
  // Removes every cache whose key is not in `referenced`, the kept trained models that no
  // remaining cache was extracted from, and temporary files of writers that died (older than ten
  // minutes); returns what it removed (with `dry_run`, what it would remove, removing nothing).
  std::vector<CacheEntry> collect_garbage(const std::set<std::string>& referenced,
                                          bool dry_run = false) const;

 private:
  std::string directory_;
};

}  // namespace hqsweep
