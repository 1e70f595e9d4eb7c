// `hqsweep describe`: the models a config or sweep builds, with their parameter counts.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/model_factory.h"

namespace hqsweep {

// The input a run's data set nominally has (before the data are read): images of the data set's
// stored or configured size, or its tabular width, and its class count. `classes` and `features`
// given on the command line override; data sets of unknown shape (csv, image_folder, medmnist)
// need them, and the error says so.
InputShape nominal_input(const nlohmann::json& config, int64_t classes = 0, int64_t features = 0);

int describe_command(const std::string& name, const std::vector<std::string>& args);

}  // namespace hqsweep
