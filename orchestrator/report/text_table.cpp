// Plain-text table formatting.
#include "orchestrator/report/text_table.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "common/error.h"

namespace hqsweep {

namespace {

// Characters on screen: UTF-8 continuation bytes take no column ("±" is two bytes, one column).
std::size_t display_width(const std::string& text) {
  std::size_t width = 0;
  for (unsigned char c : text) width += (c & 0xC0) != 0x80;
  return width;
}

}  // namespace

std::string format_table(const std::vector<std::string>& headers,
                         const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths(headers.size());
  for (std::size_t c = 0; c < headers.size(); ++c) widths[c] = display_width(headers[c]);
  for (const auto& row : rows) {
    HQSWEEP_CHECK(row.size() == headers.size(),
                  "table row has " << row.size() << " cells, expected " << headers.size());
    for (std::size_t c = 0; c < row.size(); ++c)
      widths[c] = std::max(widths[c], display_width(row[c]));
  }
  std::string out;
  auto append_row = [&](const std::vector<std::string>& cells) {
    std::string line;
    for (std::size_t c = 0; c < cells.size(); ++c) {
      line += cells[c];
      if (c + 1 < cells.size()) line += std::string(widths[c] - display_width(cells[c]) + 2, ' ');
    }
    out += line + "\n";
  };
  append_row(headers);
  for (const auto& row : rows) append_row(row);
  return out;
}

std::string format_markdown_table(const std::vector<std::string>& headers,
                                  const std::vector<std::vector<std::string>>& rows,
                                  std::size_t left_aligned) {
  auto append_row = [](std::string& out, const std::vector<std::string>& cells) {
    out += "|";
    for (const std::string& cell : cells) {
      out += " ";
      for (char c : cell) out += c == '|' ? std::string("\\|") : std::string(1, c);
      out += " |";
    }
    out += "\n";
  };
  std::string out;
  append_row(out, headers);
  out += "|";
  for (std::size_t c = 0; c < headers.size(); ++c) out += c < left_aligned ? "---|" : "--:|";
  out += "\n";
  for (const auto& row : rows) {
    HQSWEEP_CHECK(row.size() == headers.size(),
                  "table row has " << row.size() << " cells, expected " << headers.size());
    append_row(out, row);
  }
  return out;
}

}  // namespace hqsweep
