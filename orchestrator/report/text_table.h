// Tables: aligned plain text for the terminal (validate, ls, report), and Markdown for documents.
#pragma once

#include <string>
#include <vector>

namespace hqsweep {

// Columns are left-aligned and padded to their widest cell; every row has headers.size() cells.
std::string format_table(const std::vector<std::string>& headers,
                         const std::vector<std::vector<std::string>>& rows);

// A Markdown table: the first `left_aligned` columns left-aligned, the others right-aligned
// (numbers); a '|' inside a cell is escaped.
std::string format_markdown_table(const std::vector<std::string>& headers,
                                  const std::vector<std::vector<std::string>>& rows,
                                  std::size_t left_aligned);

}  // namespace hqsweep
