// Reads JSON with comments and maps every value's JSON pointer to its line in the text.
#include "common/json_source.h"

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
  LineScanner(const std::string& text, std::map<std::string, int>& lines)
      : text_(text), lines_(lines) {}

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
      while (pos_ < text_.size() && text_[pos_] != '}') {
        int key_line = line_;
        std::string key = string_token();
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
        value(pointer + "/" + std::to_string(index++));
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
  std::map<std::string, int>& lines_;
  std::size_t pos_ = 0;
  int line_ = 1;
};

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
  }
  LineScanner(source.text_, source.lines_).scan();
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
