// The run configuration's schema: every key a config may hold, its type, range, default and the
// condition under which it means something. Owned by the code; the sweep language, `train`, the
// models and the worker all read configs through it.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace hqsweep {

// A config flattened to dotted paths ("train.lr" -> 0.001). Arrays are leaf values.
using FlatConfig = std::map<std::string, nlohmann::json>;

// free: a program's own setting (params.*): a number, boolean, string or list of them, typed by
// its value.
enum class ValueKind { integer, number, boolean, string, choice, integer_list, string_list, free };

struct ConfigKey {
  // Dotted path, e.g. "quantum.qubits"; a family of free keys ends in ".*" ("params.*").
  std::string path;
  ValueKind kind;
  nlohmann::json default_value;  // null: required wherever the key applies
  double minimum = 0;            // Integer, Number, IntegerList elements
  double maximum = 0;
  bool minimum_exclusive = false;
  std::vector<std::string> choices;  // Choice
  // Whether the key means something in this config (defaults already filled in); null: always.
  bool (*applies)(const FlatConfig& config) = nullptr;
  std::string applies_when;  // the condition in words, "" for always
  std::string help;
};

// Every known key, in documentation order.
const std::vector<ConfigKey>& config_keys();
// The key table as Markdown (docs/sweep-format.md holds this text; a test keeps them equal).
std::string config_keys_markdown();
// The key at a dotted path (a family's entry for "params.lr"), or nullptr.
const ConfigKey* find_config_key(const std::string& path);
// The known key closest to an unknown one (for "did you mean"), or "" when none is close.
std::string closest_config_key(const std::string& path);

// Checks one value against its key. On success returns "" and stores the normalised value
// (4.0 -> 4 for integers, 1 -> 1.0 for numbers); otherwise returns what was found and what is
// allowed.
std::string check_config_value(const ConfigKey& key, const nlohmann::json& value,
                               nlohmann::json* normalized);

// Object -> dotted paths; "a": {"b": 1} and "a.b": 1 flatten alike.
FlatConfig flatten_config(const nlohmann::json& config);
// A value for tables: strings bare, other values as JSON, "-" when the key is absent (it does not
// apply to this config, like the qubits of a classical model).
std::string config_value_text(const FlatConfig& config, const std::string& key);
nlohmann::json unflatten_config(const FlatConfig& flat);

// The canonical form of a config: unknown keys rejected, values checked and normalised, defaults
// filled in, keys that do not apply dropped, cross-key rules checked; nested with sorted keys.
// Throws Error("<dotted key>: <what is wrong>") naming the key.
nlohmann::json canonical_config(const FlatConfig& config);
nlohmann::json canonical_config(const nlohmann::json& config);

// Whether a config runs the user's program (it has program.* keys) rather than a built-in model.
bool is_program_config(const FlatConfig& config);

// Whether the key at `path` means something in a partial config, its other keys' defaults filled
// in (a study samples quantum.qubits only for fusions that use a circuit). Values that fail their
// key's check count as absent.
bool key_applies(const std::string& path, const FlatConfig& partial);

// The stable run identifier: FNV-1a 64 of the canonical config's compact JSON, as 16 hex digits.
std::string run_id(const nlohmann::json& canonical);

}  // namespace hqsweep
