// Small text helpers.
#include "common/text.h"

#include <cmath>
#include <cstdio>

namespace hqsweep {

std::string join(const std::vector<std::string>& parts, const std::string& separator) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) out += (i == 0 ? "" : separator) + parts[i];
  return out;
}

std::string format_duration(double seconds) {
  if (!(seconds >= 0) || seconds > 1e8) return "-";
  char text[32];
  if (seconds < 120) {
    std::snprintf(text, sizeof text, "%.1fs", seconds);
  } else if (seconds < 7200) {
    std::snprintf(text, sizeof text, "%.1fm", seconds / 60);
  } else {
    std::snprintf(text, sizeof text, "%.1fh", seconds / 3600);
  }
  return text;
}

}  // namespace hqsweep
