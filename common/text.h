// Small text helpers every command shares.
#pragma once

#include <string>
#include <vector>

namespace hqsweep {

// "a, b, c" for join({"a", "b", "c"}, ", ").
std::string join(const std::vector<std::string>& parts, const std::string& separator);

// The offset of the first byte that is not part of well-formed UTF-8, or std::string::npos.
std::size_t invalid_utf8_at(const std::string& text);

// "12.3s", "4.5m", "2.1h"; "-" for NaN, negative or absurd (over 10^8 s) values.
std::string format_duration(double seconds);

}  // namespace hqsweep
