// Placeholders in a program task's command, working directory and environment: "{params.lr}",
// "{run_dir}". One rule for the schema, which refuses unknown names before anything runs, and
// the worker, which fills them in; "{{" and "}}" stand for literal braces.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace hqsweep {

// The run facts a placeholder may name besides the run's config keys.
const std::vector<std::string>& program_run_facts();

// The names of the placeholders in `text`, in order. Throws Error on an unclosed "{", a stray
// "}" or an empty name.
std::vector<std::string> placeholders_in(const std::string& text);

// `text` with each placeholder replaced by `values`' entry; throws Error naming a missing one.
std::string expand_placeholders(const std::string& text,
                                const std::map<std::string, std::string>& values);

}  // namespace hqsweep
