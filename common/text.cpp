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

std::size_t invalid_utf8_at(const std::string& text) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t size = text.size();
  for (std::size_t i = 0; i < size;) {
    const unsigned char c = bytes[i];
    std::size_t length = 0;
    unsigned minimum = 0, code = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      length = 2, minimum = 0x80, code = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      length = 3, minimum = 0x800, code = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      length = 4, minimum = 0x10000, code = c & 0x07;
    } else {
      return i;
    }
    if (i + length > size) return i;
    for (std::size_t k = 1; k < length; ++k) {
      if ((bytes[i + k] & 0xc0) != 0x80) return i;
      code = (code << 6) | (bytes[i + k] & 0x3f);
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are not UTF-8.
    if (code < minimum || (code >= 0xd800 && code <= 0xdfff) || code > 0x10ffff) return i;
    i += length;
  }
  return std::string::npos;
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
