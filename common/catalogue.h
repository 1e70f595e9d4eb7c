// What hqsweep knows of each data set, backbone and fusion, in one place: the schema's choices, the
// loaders, `hqsweep describe` and the scheduler's cost model all read these tables.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hqsweep {

enum class DataKind { image, tabular };
// How a data set's files are read (worker/dataset.cpp has one reader per format).
enum class DataFormat { medmnist_npz, idx_folder, feature_csv, image_folder };

struct DatasetInfo {
  std::string name;        // dataset.name
  std::string usual_file;  // under the data directory; "" = dataset.path is required
  DataKind kind;
  DataFormat format;
  // The shape as stored, for `describe` before any data are read; 0 = known only from the file.
  int64_t channels = 0, image_size = 0;  // images
  int64_t features = 0;                  // tabular
  int64_t classes = 0;
  // Training samples per epoch before the data are read (after the splits hqsweep makes), for
  // the scheduler's estimates; measured durations refine them.
  double nominal_train_samples = 1000;
  bool official_val_split = false;   // else dataset.val_fraction carves one out of training
  bool official_test_split = false;  // else dataset.test_fraction carves one out
};

const std::vector<DatasetInfo>& dataset_catalogue();
// nullptr when `name` is none of them.
const DatasetInfo* find_dataset(const std::string& name);
// Throws Error naming the known data sets when `name` is none of them.
const DatasetInfo& dataset_info(const std::string& name);

enum class BackboneKind { image, tabular, probe };

struct BackboneInfo {
  std::string name;  // model.backbone
  BackboneKind kind;
  bool convolutional = false;       // model.width applies
  bool torchvision_family = false;  // model.small_input applies (resnet*, efficientnet*)
  // Training seconds per sample (forward + backward + Adam, batch 32, one thread) at 28x28, full
  // width, from bench/training_bench (docs/benchmarks.md); only their ratios matter for the order
  // in which the scheduler starts runs.
  double seconds_per_sample = 1e-4;
};

const std::vector<BackboneInfo>& backbone_catalogue();
const BackboneInfo* find_backbone(const std::string& name);
const BackboneInfo& backbone_info(const std::string& name);

enum class Fusion { classical, quantum, sequential, parallel, shf, dhf, tshf, cross_attention };

struct FusionInfo {
  Fusion fusion;
  std::string name;  // model.fusion
  bool uses_backbone = true;
  bool uses_quantum = true;
  // Features computed once and cached, with only the head trained (SHF): its circuit is fixed.
  bool caches_features = false;
};

const std::vector<FusionInfo>& fusion_catalogue();
const FusionInfo& fusion_info(Fusion fusion);
const FusionInfo* find_fusion(const std::string& name);
const FusionInfo& fusion_info(const std::string& name);

// The names of a catalogue, in its order (the schema's choices).
std::vector<std::string> dataset_names();
std::vector<std::string> backbone_names();
std::vector<std::string> fusion_names();

}  // namespace hqsweep
