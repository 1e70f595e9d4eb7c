// Reads JSON with comments and maps every value's JSON pointer to its line in the text.
#include "common/json_source.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include "common/error.h"

namespace hqsweep {

namespace {

std::string escape_pointer_token(const std::string& key) {
  std::string out;
  for (char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

// A scanner over text that nlohmann already accepted, so it only has to track positions, not
// report errors. It records, for each value, the line where the value (or its member key) starts.
class LineScanner {
 public:
  LineScanner(const std::string& text, const std::string& name, std::map<std::string, int>& lines)
      : text_(text), name_(name), lines_(lines) {}

  void scan() {
    skip_space();
    value("");
  }

 private:
  void skip_space() {
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (c == '\n') {
        ++line_;
        ++pos_;
      } else if (c == ' ' || c == '\t' || c == '\r') {
        ++pos_;
      } else if (c == '/' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '/') {
        while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
      } else if (c == '/' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '*') {
        pos_ += 2;
        while (pos_ + 1 < text_.size() && !(text_[pos_] == '*' && text_[pos_ + 1] == '/')) {
          if (text_[pos_] == '\n') ++line_;
          ++pos_;
        }
        pos_ += 2;
      } else {
        return;
      }
    }
  }

  std::string string_token() {
    std::string out;
    ++pos_;  // opening quote
    while (pos_ < text_.size() && text_[pos_] != '"') {
      char c = text_[pos_++];
      if (c == '\\' && pos_ < text_.size()) {
        char e = text_[pos_++];
        switch (e) {
          case 'n':
            out += '\n';
            break;
          case 't':
            out += '\t';
            break;
          case 'r':
            out += '\r';
            break;
          case 'b':
            out += '\b';
            break;
          case 'f':
            out += '\f';
            break;
          case 'u': {
            // Keys with \u escapes are rare in sweep files; keep ASCII exact, others approximate.
            unsigned code = std::stoul(text_.substr(pos_, 4), nullptr, 16);
            pos_ += 4;
            out += code < 0x80 ? static_cast<char>(code) : '?';
            break;
          }
          default:
            out += e;
        }
      } else {
        out += c;
      }
    }
    ++pos_;  // closing quote
    return out;
  }

  void value(const std::string& pointer) {
    if (!lines_.count(pointer)) lines_[pointer] = line_;
    if (pos_ >= text_.size()) return;
    char c = text_[pos_];
    if (c == '{') {
      ++pos_;
      skip_space();
      std::map<std::string, int> keys;  // of this object, with their lines
      while (pos_ < text_.size() && text_[pos_] != '}') {
        if (text_[pos_] != '"') break;  // out of step with the parser: stop rather than loop
        int key_line = line_;
        std::string key = string_token();
        if (auto [it, fresh] = keys.emplace(key, key_line); !fresh) {
          throw Error(name_ + ":" + std::to_string(key_line) + ": " + nlohmann::json(key).dump() +
                      " appears twice in one object (first at line " + std::to_string(it->second) +
                      "); give each key once");
        }
        std::string child = pointer + "/" + escape_pointer_token(key);
        lines_[child] = key_line;
        skip_space();
        ++pos_;  // ':'
        skip_space();
        value(child);
        skip_space();
        if (pos_ < text_.size() && text_[pos_] == ',') {
          ++pos_;
          skip_space();
        }
      }
      ++pos_;
    } else if (c == '[') {
      ++pos_;
      skip_space();
      std::size_t index = 0;
      while (pos_ < text_.size() && text_[pos_] != ']') {
        const std::size_t before = pos_;
        value(pointer + "/" + std::to_string(index++));
        if (pos_ == before) break;  // out of step with the parser: stop rather than loop
        skip_space();
        if (pos_ < text_.size() && text_[pos_] == ',') {
          ++pos_;
          skip_space();
        }
      }
      ++pos_;
    } else if (c == '"') {
      string_token();
    } else {
      while (pos_ < text_.size() &&
             std::string(",]} \t\r\n/").find(text_[pos_]) == std::string::npos) {
        ++pos_;
      }
    }
  }

  const std::string& text_;
  const std::string& name_;
  std::map<std::string, int>& lines_;
  std::size_t pos_ = 0;
  int line_ = 1;
};

// Deeper nesting than any sweep needs; refused before parsing, because deep documents cost
// quadratic memory and time (a pointer string per level) and recursion in every walker.
constexpr int kMaxDepth = 64;

// The line where nesting first exceeds kMaxDepth, or 0. A linear scan that skips strings and
// comments; the parser checks everything else afterwards.
int line_too_deep(const std::string& text) {
  int depth = 0, line = 1;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') {
      ++line;
    } else if (c == '"') {
      for (++i; i < text.size() && text[i] != '"'; ++i) {
        if (text[i] == '\\') ++i;
        if (i < text.size() && text[i] == '\n') ++line;
      }
    } else if (c == '/' && i + 1 < text.size() && text[i + 1] == '/') {
      while (i < text.size() && text[i] != '\n') ++i;
      --i;
    } else if (c == '/' && i + 1 < text.size() && text[i + 1] == '*') {
      for (i += 2; i + 1 < text.size() && !(text[i] == '*' && text[i + 1] == '/'); ++i) {
        if (text[i] == '\n') ++line;
      }
      ++i;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxDepth) return line;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return 0;
}

// The line of the first occurrence of `token` in `text`, or 0.
int line_of(const std::string& text, const std::string& token) {
  const std::size_t at = token.empty() ? std::string::npos : text.find(token);
  if (at == std::string::npos) return 0;
  return 1 + static_cast<int>(
                 std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n'));
}

bool is_plain_key(const std::string& key) {
  if (key.empty()) return false;
  for (char c : key) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) return false;
  }
  return true;
}

}  // namespace

JsonPath JsonPath::child(const std::string& key) const {
  JsonPath out = *this;
  out.segments_.emplace_back(key);
  return out;
}

JsonPath JsonPath::child(std::size_t index) const {
  JsonPath out = *this;
  out.segments_.emplace_back(index);
  return out;
}

std::string JsonPath::pointer() const {
  std::string out;
  for (const auto& segment : segments_) {
    out += '/';
    if (const auto* key = std::get_if<std::string>(&segment)) {
      out += escape_pointer_token(*key);
    } else {
      out += std::to_string(std::get<std::size_t>(segment));
    }
  }
  return out;
}

std::string JsonPath::display() const {
  std::string out;
  for (const auto& segment : segments_) {
    if (const auto* key = std::get_if<std::string>(&segment)) {
      if (!out.empty()) out += '.';
      out += is_plain_key(*key) ? *key : nlohmann::json(*key).dump();
    } else {
      out += "[" + std::to_string(std::get<std::size_t>(segment)) + "]";
    }
  }
  return out.empty() ? "(top level)" : out;
}

JsonSource JsonSource::from_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open file for reading");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw Error(path + ": read error");
  return from_text(buffer.str(), path);
}

JsonSource JsonSource::from_text(const std::string& text, const std::string& name) {
  JsonSource source;
  source.name_ = name;
  source.text_ = text;
  // nlohmann's lexer ends a document at a NUL byte and ignores the rest: refuse it instead.
  if (const std::size_t nul = text.find('\0'); nul != std::string::npos) {
    throw Error(name + ":" + std::to_string(line_of(text, std::string(1, '\0'))) +
                ": a NUL byte (byte " + std::to_string(nul + 1) + "); a sweep file is text");
  }
  if (const int line = line_too_deep(text)) {
    throw Error(name + ":" + std::to_string(line) + ": nested deeper than " +
                std::to_string(kMaxDepth) + " levels; a sweep file needs a few");
  }
  try {
    source.root_ = nlohmann::ordered_json::parse(text, nullptr, /*allow_exceptions=*/true,
                                                 /*ignore_comments=*/true);
  } catch (const nlohmann::json::parse_error& e) {
    // nlohmann's message reads "[json.exception.parse_error.101] parse error at line 3, column 5:
    // ..."
    std::string message = e.what();
    auto at = message.find("parse error");
    if (at != std::string::npos) message = message.substr(at);
    throw Error(name + ": not valid JSON: " + message);
  } catch (const nlohmann::json::out_of_range& e) {
    // "[json.exception.out_of_range.406] number overflow parsing '1e400'": no line of its own.
    std::string message = e.what();
    const std::size_t quote = message.find('\'');
    const std::string token = quote == std::string::npos
                                  ? ""
                                  : message.substr(quote + 1, message.rfind('\'') - quote - 1);
    const int line = line_of(text, token);
    throw Error(name + (line > 0 ? ":" + std::to_string(line) : "") + ": the number " + token +
                " does not fit a double (about 1.8e308 at most)");
  }
  LineScanner(source.text_, source.name_, source.lines_).scan();
  return source;
}

std::string JsonSource::where(const JsonPath& path) const {
  auto it = lines_.find(path.pointer());
  if (it == lines_.end()) return name_;
  return name_ + ":" + std::to_string(it->second);
}

std::string JsonSource::describe(const JsonPath& path, const std::string& message) const {
  return where(path) + ": " + path.display() + ": " + message;
}

}  // namespace hqsweep
