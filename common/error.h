// The project's one exception type and a check macro that records where a check failed.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace hqsweep {

// Thrown at boundaries (parsing, I/O, configuration) with a message that names the thing and the
// place: "sweep.json:12: grid."quantum.qubits"[2]: 40 is out of range 1..20".
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace hqsweep

// Throws hqsweep::Error with the streamed message when cond is false. Internal invariants only:
// messages for users are built where the context is known.
#define HQSWEEP_CHECK(cond, message)                                                  \
  do {                                                                                \
    if (!(cond)) {                                                                    \
      std::ostringstream hqsweep_check_stream_;                                       \
      hqsweep_check_stream_ << message << " [" << __FILE__ << ":" << __LINE__ << "]"; \
      throw ::hqsweep::Error(hqsweep_check_stream_.str());                            \
    }                                                                                 \
  } while (false)
