// `hqsweep report RESULTS --study`: a study's results file as a researcher reads it: trials per
// state, the best trials by the study metric (test metrics beside, never used for choosing), the
// epochs spent against a full-length study's, and the best value against trials.
#pragma once

#include <string>

#include "orchestrator/report/report.h"

namespace hqsweep {

// Throws hqsweep::Error when the file holds no study (no search block in its sweep record) or
// cannot be read. Formats: table (default), markdown and json.
std::string make_study_report(const std::string& results_file, ReportFormat format);

}  // namespace hqsweep
