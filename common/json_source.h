// A JSON document (comments allowed) read from a file, which can say on which line each value
// stands, so that errors point users at the place in their own file.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace hqsweep {

// A path into a JSON document: object keys and array indices. Displays as grid."quantum.qubits"[2].
class JsonPath {
 public:
  JsonPath child(const std::string& key) const;
  JsonPath child(std::size_t index) const;
  // The JSON pointer (RFC 6901) form: /grid/quantum.qubits/2
  std::string pointer() const;
  // The form users read: keys joined by '.', quoted when they hold a '.', indices in brackets.
  std::string display() const;
  bool empty() const { return segments_.empty(); }

 private:
  std::vector<std::variant<std::string, std::size_t>> segments_;
};

class JsonSource {
 public:
  // Throws Error naming the file (and line and column for syntax errors).
  static JsonSource from_file(const std::string& path);
  static JsonSource from_text(const std::string& text, const std::string& name);

  const nlohmann::ordered_json& root() const { return root_; }
  const std::string& name() const { return name_; }
  const std::string& text() const { return text_; }
  // "sweep.json:12" for the value (or object member) at path; "sweep.json" when the line is
  // unknown.
  std::string where(const JsonPath& path) const;
  // where(path) + ": " + path.display() + ": " + message, as errors about one value read.
  std::string describe(const JsonPath& path, const std::string& message) const;

 private:
  std::string name_;
  std::string text_;
  nlohmann::ordered_json root_;
  std::map<std::string, int> lines_;  // JSON pointer -> 1-based line
};

}  // namespace hqsweep
