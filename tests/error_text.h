// For error-path tests: the message of the hqsweep::Error an action throws.
#pragma once

#include <string>

#include "common/error.h"

namespace hqsweep::testing {

// The what() of the hqsweep::Error that action() throws, or "(no error)".
template <typename Action>
std::string error_of(Action action) {
  try {
    action();
  } catch (const Error& error) {
    return error.what();
  }
  return "(no error)";
}

}  // namespace hqsweep::testing
