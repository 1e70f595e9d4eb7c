// The catalogue's tables.
#include "common/catalogue.h"

#include "common/error.h"
#include "common/text.h"

namespace hqsweep {

namespace {

template <typename Info>
std::vector<std::string> names_of(const std::vector<Info>& table) {
  std::vector<std::string> names;
  for (const Info& info : table) names.push_back(info.name);
  return names;
}

template <typename Info>
const Info* find_by_name(const std::vector<Info>& table, const std::string& name) {
  for (const Info& info : table) {
    if (info.name == name) return &info;
  }
  return nullptr;
}

template <typename Info>
const Info& info_by_name(const std::vector<Info>& table, const std::string& name,
                         const char* what) {
  if (const Info* found = find_by_name(table, name)) return *found;
  throw Error(std::string(what) + " \"" + name + "\" is not one of " + join(names_of(table), ", "));
}

}  // namespace

const std::vector<DatasetInfo>& dataset_catalogue() {
  using K = DataKind;
  using F = DataFormat;
  // Sample counts: BreastMNIST's official train split; the others after hqsweep's default test
  // (0.2) and validation (0.15) splits, Fashion-MNIST/MNIST from their 60 000 training images.
  static const std::vector<DatasetInfo> table = {
      {"breastmnist", "breastmnist.npz", K::image, F::medmnist_npz, 1, 28, 0, 2, 546, true, true},
      {"medmnist", "", K::image, F::medmnist_npz, 0, 0, 0, 0, 1000, true, true},
      {"fashion_mnist", "fashion-mnist", K::image, F::idx_folder, 1, 28, 0, 10, 51000, false, true},
      {"mnist", "mnist", K::image, F::idx_folder, 1, 28, 0, 10, 51000, false, true},
      {"wdbc", "breast_cancer.csv", K::tabular, F::feature_csv, 0, 0, 30, 2, 387, false, false},
      {"wine", "wine_data.csv", K::tabular, F::feature_csv, 0, 0, 13, 3, 120, false, false},
      {"digits", "digits.csv.gz", K::tabular, F::feature_csv, 0, 0, 64, 10, 1222, false, false},
      {"csv", "", K::tabular, F::feature_csv, 0, 0, 0, 0, 1000, false, false},
      {"image_folder", "", K::image, F::image_folder, 0, 0, 0, 0, 1000, false, false},
  };
  return table;
}

const DatasetInfo* find_dataset(const std::string& name) {
  return find_by_name(dataset_catalogue(), name);
}

const DatasetInfo& dataset_info(const std::string& name) {
  return info_by_name(dataset_catalogue(), name, "dataset");
}

const std::vector<BackboneInfo>& backbone_catalogue() {
  using K = BackboneKind;
  static const std::vector<BackboneInfo> table = {
      {"hqcnn", K::image, true, false, 2.2e-4},
      {"cnn5", K::image, true, false, 1.1e-3},
      {"resnet18", K::image, true, true, 3.6e-2},
      {"resnet50", K::image, true, true, 9.8e-2},
      {"efficientnet_b0", K::image, true, true, 1.2e-2},
      {"efficientnet_b5", K::image, true, true, 5.8e-2},
      {"efficientnetv2_s", K::image, true, true, 3.7e-2},
      {"mlp", K::tabular, false, false, 1e-5},
      {"probe", K::probe, false, false, 0},
  };
  return table;
}

const BackboneInfo* find_backbone(const std::string& name) {
  return find_by_name(backbone_catalogue(), name);
}

const BackboneInfo& backbone_info(const std::string& name) {
  return info_by_name(backbone_catalogue(), name, "backbone");
}

const std::vector<FusionInfo>& fusion_catalogue() {
  static const std::vector<FusionInfo> table = {
      {Fusion::classical, "classical", true, false, false},
      {Fusion::quantum, "quantum", false, true, false},
      {Fusion::sequential, "sequential", true, true, false},
      {Fusion::parallel, "parallel", true, true, false},
      {Fusion::shf, "shf", true, true, true},
      {Fusion::dhf, "dhf", true, true, false},
      {Fusion::tshf, "tshf", true, true, false},
      {Fusion::cross_attention, "cross_attention", true, true, false},
  };
  return table;
}

const FusionInfo& fusion_info(Fusion fusion) {
  return fusion_catalogue()[static_cast<std::size_t>(fusion)];
}

const FusionInfo* find_fusion(const std::string& name) {
  return find_by_name(fusion_catalogue(), name);
}

const FusionInfo& fusion_info(const std::string& name) {
  return info_by_name(fusion_catalogue(), name, "fusion");
}

std::vector<std::string> dataset_names() {
  return names_of(dataset_catalogue());
}
std::vector<std::string> backbone_names() {
  return names_of(backbone_catalogue());
}
std::vector<std::string> fusion_names() {
  return names_of(fusion_catalogue());
}

}  // namespace hqsweep
