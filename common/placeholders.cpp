// Placeholder scanning and filling.
#include "common/placeholders.h"

#include "common/error.h"

namespace hqsweep {

namespace {

// Walks `text`, handing literal pieces and placeholder names to the two callbacks.
template <typename Literal, typename Name>
void scan(const std::string& text, Literal&& literal, Name&& name) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if ((c == '{' || c == '}') && i + 1 < text.size() && text[i + 1] == c) {
      literal(c);
      ++i;
    } else if (c == '}') {
      throw Error("\"" + text + "\": a \"}\" without its \"{\" (write \"}}\" for a brace)");
    } else if (c == '{') {
      const std::size_t end = text.find('}', i + 1);
      if (end == std::string::npos)
        throw Error("\"" + text + "\": a \"{\" without its \"}\" (write \"{{\" for a brace)");
      const std::string inside = text.substr(i + 1, end - i - 1);
      if (inside.empty() || inside.find('{') != std::string::npos)
        throw Error("\"" + text + "\": \"{" + inside + "}\" is not a placeholder name");
      name(inside);
      i = end;
    } else {
      literal(c);
    }
  }
}

}  // namespace

const std::vector<std::string>& program_run_facts() {
  static const std::vector<std::string> facts = {"run_id", "run_dir", "seed", "threads",
                                                 "config_file"};
  return facts;
}

std::vector<std::string> placeholders_in(const std::string& text) {
  std::vector<std::string> names;
  scan(
      text, [](char) {}, [&](const std::string& n) { names.push_back(n); });
  return names;
}

std::string expand_placeholders(const std::string& text,
                                const std::map<std::string, std::string>& values) {
  std::string out;
  scan(
      text, [&](char c) { out += c; },
      [&](const std::string& n) {
        auto it = values.find(n);
        if (it == values.end()) throw Error("\"" + text + "\": no value for {" + n + "}");
        out += it->second;
      });
  return out;
}

}  // namespace hqsweep
