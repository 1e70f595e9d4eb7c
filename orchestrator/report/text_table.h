// Aligned plain-text tables for the terminal (validate, ls, report).
#pragma once

#include <string>
#include <vector>

namespace hqsweep {

// Columns are left-aligned and padded to their widest cell; every row has headers.size() cells.
std::string format_table(const std::vector<std::string>& headers,
                         const std::vector<std::vector<std::string>>& rows);

}  // namespace hqsweep
