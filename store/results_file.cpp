// Writes and reads the results file's groups; the layout is documented in docs/hdf5-schema.md.
#include "store/results_file.h"

#include <sys/stat.h>

#include <fmt/format.h>
#include <cmath>
#include <ctime>

#include "common/config_schema.h"
#include "common/error.h"
#include "store/result_store.h"

namespace hqsweep::results_file {

namespace {

using hdf5::Column;
using hdf5::Handle;

constexpr const char* kFormat = "hqsweep-results";

// The metrics that get an /index column (others stay in /runs/<id>/metrics).
const std::vector<std::string>& index_metrics() {
  static const std::vector<std::string> names = {
      "val_acc",  "val_balanced_acc",  "val_f1",  "val_auc",  "val_loss",
      "test_acc", "test_balanced_acc", "test_f1", "test_auc", "test_loss"};
  return names;
}

// Fixed leading columns of /index.
const std::vector<Column>& leading_columns() {
  static const std::vector<Column> columns = {
      {"run_id", Column::Type::text},       {"status", Column::Type::text},
      {"attempt", Column::Type::integer},   {"trial", Column::Type::integer},
      {"duration_s", Column::Type::number}, {"host", Column::Type::text},
      {"error", Column::Type::text},        {"cache_key", Column::Type::text},
      {"config", Column::Type::text}};
  return columns;
}

double nan() {
  return std::nan("");
}

std::string sweep_group_name(std::size_t number) {
  return fmt::format("{:06d}", number);
}

void write_sweep_into(const Handle& group, const SweepRecord& sweep) {
  hdf5::write_attribute(group, "name", sweep.name);
  hdf5::write_attribute(group, "source", sweep.source);
  hdf5::write_attribute(group, "run_count", sweep.run_count);
  hdf5::write_attribute(group, "command_line", sweep.command_line);
  hdf5::write_attribute(group, "varying_keys", nlohmann::json(sweep.varying_keys).dump());
  hdf5::write_attribute(group, "overrides", nlohmann::json(sweep.overrides).dump());
  hdf5::write_attribute(group, "recorded", iso_time(sweep.recorded_time));
  hdf5::write_attribute(group, "recorded_unix", sweep.recorded_time);
  hdf5::write_attribute(group, "shard_index", int64_t{sweep.shard_index});
  hdf5::write_attribute(group, "shard_count", int64_t{sweep.shard_count});
  if (hdf5::link_exists(group, "text")) hdf5::delete_link(group, "text");
  hdf5::write_string_dataset(group, "text", sweep.text);
}

SweepRecord read_sweep_from(const Handle& group) {
  SweepRecord sweep;
  sweep.name = hdf5::read_string_attribute(group, "name");
  sweep.source = hdf5::read_string_attribute(group, "source");
  sweep.run_count = hdf5::read_int_attribute(group, "run_count");
  sweep.command_line = hdf5::read_string_attribute(group, "command_line");
  sweep.varying_keys = nlohmann::json::parse(hdf5::read_string_attribute(group, "varying_keys"))
                           .get<std::vector<std::string>>();
  sweep.recorded_time = hdf5::read_double_attribute(group, "recorded_unix");
  if (hdf5::has_attribute(group, "overrides")) {  // files written before they were recorded
    sweep.overrides = nlohmann::json::parse(hdf5::read_string_attribute(group, "overrides"))
                          .get<std::vector<std::string>>();
  }
  if (hdf5::has_attribute(group, "shard_count")) {  // files written before shards were recorded
    sweep.shard_index = static_cast<int>(hdf5::read_int_attribute(group, "shard_index"));
    sweep.shard_count = static_cast<int>(hdf5::read_int_attribute(group, "shard_count"));
  }
  sweep.text = hdf5::read_string_dataset(group, "text");
  return sweep;
}

// A config value as an /index cell of the column's type.
hdf5::Cell config_cell(const Column& column, const FlatConfig& flat) {
  auto it = flat.find(column.name);
  if (column.type == Column::Type::number) {
    if (it == flat.end() || !(it->second.is_number() || it->second.is_boolean())) return nan();
    return it->second.is_boolean() ? (it->second.get<bool>() ? 1.0 : 0.0)
                                   : it->second.get<double>();
  }
  if (it == flat.end()) return std::string();
  return it->second.is_string() ? it->second.get<std::string>() : it->second.dump();
}

hdf5::TableRow index_row(const std::vector<Column>& columns, const RunSummary& run) {
  FlatConfig flat = flatten_config(run.config);
  // Built cell by cell: GCC 12 warns wrongly about variant initializer lists.
  hdf5::TableRow row;
  row.reserve(columns.size());
  row.emplace_back(run.run_id);
  row.emplace_back(to_string(run.status));
  row.emplace_back(int64_t{run.attempt});
  row.emplace_back(run.trial);
  row.emplace_back(run.duration);
  row.emplace_back(run.host);
  row.emplace_back(run.error);
  row.emplace_back(run.cache_key);
  row.emplace_back(run.config.dump());
  for (std::size_t i = row.size(); i < columns.size(); ++i) {
    const Column& column = columns[i];
    auto metric = run.metrics.find(column.name);
    if (i < leading_columns().size() + index_metrics().size()) {
      row.push_back(metric == run.metrics.end() ? nan() : metric->second);
    } else {
      row.push_back(config_cell(column, flat));
    }
  }
  return row;
}

template <typename T>
void write_if_any(const Handle& group, const std::string& name, const std::vector<hsize_t>& shape,
                  const std::vector<T>& values) {
  if (!values.empty()) hdf5::write_dataset(group, name, shape, values.data());
}

}  // namespace

std::string iso_time(double unix_seconds) {
  std::time_t whole = static_cast<std::time_t>(std::floor(unix_seconds));
  int millis = static_cast<int>((unix_seconds - std::floor(unix_seconds)) * 1000);
  std::tm utc{};
  gmtime_r(&whole, &utc);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &utc);
  return fmt::format("{}.{:03d}Z", text, millis);
}

Inspection inspect(const std::string& path) {
  Inspection inspection;
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return inspection;  // missing
  if (!hdf5::is_hdf5_file(path)) {
    inspection.state = Inspection::State::unreadable;
    inspection.problem = path + " is not an HDF5 file";
    return inspection;
  }
  try {
    Handle file = hdf5::open_file(path, hdf5::Access::read_only);
    if (!hdf5::link_exists(file, "meta") ||
        !hdf5::has_attribute(hdf5::open_group(file, "meta"), "format") ||
        hdf5::read_string_attribute(hdf5::open_group(file, "meta"), "format") != kFormat) {
      inspection.state = Inspection::State::foreign;
      inspection.problem = path +
                           " is an HDF5 file but not an hqsweep results file (no /meta "
                           "attribute format = \"hqsweep-results\"); nothing was changed";
      return inspection;
    }
    inspection.meta = read_meta(file);
  } catch (const Error& error) {
    inspection.state = Inspection::State::unreadable;
    inspection.problem = error.what();
    return inspection;
  }
  if (inspection.meta.schema_version > ResultStore::kSchemaVersion) {
    inspection.state = Inspection::State::newer;
    inspection.problem = fmt::format(
        "{} has results schema version {}; this hqsweep knows up to version {} (use a newer "
        "hqsweep); nothing was changed",
        path, inspection.meta.schema_version, ResultStore::kSchemaVersion);
    return inspection;
  }
  inspection.state = Inspection::State::ok;
  return inspection;
}

void initialise(const Handle& file, const Meta& meta) {
  hdf5::create_group(file, "meta");
  hdf5::create_group(file, "runs");
  write_meta(file, meta);
  write_index(file, index_columns({}), {});
}

void write_meta(const Handle& file, const Meta& meta) {
  Handle group = hdf5::open_group(file, "meta");
  hdf5::write_attribute(group, "format", std::string(kFormat));
  hdf5::write_attribute(group, "schema_version", meta.schema_version);
  hdf5::write_attribute(group, "hqsweep_version", meta.hqsweep_version);
  hdf5::write_attribute(group, "created", meta.created);
  hdf5::write_attribute(group, "updated", meta.updated);
  // Stored as text: HDF5 attributes are signed and the identity uses all 64 bits.
  hdf5::write_attribute(group, "journal_identity", fmt::format("{:016x}", meta.journal_identity));
  hdf5::write_attribute(group, "journal_bytes", static_cast<int64_t>(meta.journal_bytes));
}

void write_progress(const Handle& file, const Meta& meta) {
  Handle group = hdf5::open_group(file, "meta");
  hdf5::write_attribute(group, "updated", meta.updated);
  hdf5::write_attribute(group, "journal_bytes", static_cast<int64_t>(meta.journal_bytes));
}

Meta read_meta(const Handle& file) {
  Handle group = hdf5::open_group(file, "meta");
  Meta meta;
  meta.schema_version = hdf5::read_int_attribute(group, "schema_version");
  meta.hqsweep_version = hdf5::read_string_attribute(group, "hqsweep_version");
  meta.created = hdf5::read_string_attribute(group, "created");
  meta.updated = hdf5::read_string_attribute(group, "updated");
  meta.journal_identity =
      std::stoull(hdf5::read_string_attribute(group, "journal_identity"), nullptr, 16);
  meta.journal_bytes = static_cast<uint64_t>(hdf5::read_int_attribute(group, "journal_bytes"));
  return meta;
}

void write_sweep(const Handle& file, const SweepRecord& sweep, std::size_t number) {
  if (!hdf5::link_exists(file, "sweep")) hdf5::create_group(file, "sweep");
  Handle latest = hdf5::open_group(file, "sweep");
  if (!hdf5::link_exists(latest, "history")) hdf5::create_group(latest, "history");
  Handle history = hdf5::open_group(latest, "history");
  std::string name = sweep_group_name(number);
  if (hdf5::link_exists(history, name)) hdf5::delete_link(history, name);
  write_sweep_into(hdf5::create_group(history, name), sweep);
  write_sweep_into(latest, sweep);
}

std::vector<SweepRecord> read_sweeps(const Handle& file) {
  std::vector<SweepRecord> sweeps;
  if (!hdf5::link_exists(file, "sweep")) return sweeps;
  Handle history = hdf5::open_group(hdf5::open_group(file, "sweep"), "history");
  for (const std::string& name : hdf5::list_links(history))
    sweeps.push_back(read_sweep_from(hdf5::open_group(history, name)));
  return sweeps;
}

void write_run(const Handle& file, const RunResult& result) {
  Handle runs = hdf5::open_group(file, "runs");
  const std::string pending = ".pending-" + result.run_id;
  if (hdf5::link_exists(runs, pending)) hdf5::delete_link(runs, pending);
  {
    Handle group = hdf5::create_group(runs, pending);
    hdf5::write_attribute(group, "config", result.config.dump());
    hdf5::write_attribute(group, "status", to_string(result.status));
    hdf5::write_attribute(group, "error", result.error);
    hdf5::write_attribute(group, "host", result.host);
    hdf5::write_attribute(group, "rank", int64_t{result.rank});
    hdf5::write_attribute(group, "start_time", iso_time(result.start_time));
    hdf5::write_attribute(group, "end_time", iso_time(result.end_time));
    hdf5::write_attribute(group, "start_unix", result.start_time);
    hdf5::write_attribute(group, "end_unix", result.end_time);
    hdf5::write_attribute(group, "duration_s", result.duration());
    hdf5::write_attribute(group, "attempt", int64_t{result.attempt});
    hdf5::write_attribute(group, "trial", result.trial);
    hdf5::write_attribute(group, "parameters_total", result.parameters_total);
    hdf5::write_attribute(group, "parameters_trainable", result.parameters_trainable);
    hdf5::write_attribute(group, "parameters_quantum", result.parameters_quantum);
    hdf5::write_attribute(group, "cache_key", result.cache_key);
    hdf5::write_attribute(group, "classes", result.classes);

    if (!result.metrics.empty()) {
      std::vector<Column> columns;
      hdf5::TableRow row;
      for (const auto& [name, value] : result.metrics) {
        columns.push_back({name, Column::Type::number});
        row.push_back(value);
      }
      hdf5::create_table(group, "metrics", columns, {row});
    }
    if (!result.curves.empty()) {
      std::size_t epochs = 0;
      for (const auto& [name, values] : result.curves) epochs = std::max(epochs, values.size());
      std::vector<Column> columns = {{"epoch", Column::Type::integer}};
      for (const auto& [name, values] : result.curves)
        columns.push_back({name, Column::Type::number});
      std::vector<hdf5::TableRow> rows;
      for (std::size_t epoch = 0; epoch < epochs; ++epoch) {
        hdf5::TableRow row;
        row.emplace_back(static_cast<int64_t>(epoch + 1));
        for (const auto& [name, values] : result.curves)
          row.push_back(epoch < values.size() ? values[epoch] : nan());
        rows.push_back(std::move(row));
      }
      hdf5::create_table(group, "curves", columns, rows);
    }
    hsize_t classes = static_cast<hsize_t>(std::max<int64_t>(result.classes, 1));
    write_if_any(group, "test_probabilities", {result.test_probabilities.size() / classes, classes},
                 result.test_probabilities);
    write_if_any(group, "test_labels", {result.test_labels.size()}, result.test_labels);
    write_if_any(group, "confusion_matrix", {classes, classes}, result.confusion_matrix);
  }
  if (hdf5::link_exists(runs, result.run_id)) hdf5::delete_link(runs, result.run_id);
  hdf5::move_link(runs, pending, result.run_id);
}

std::map<std::string, double> read_metrics(const Handle& file, const std::string& run_id) {
  Handle group = hdf5::open_group(hdf5::open_group(file, "runs"), run_id);
  std::map<std::string, double> metrics;
  if (hdf5::link_exists(group, "metrics")) {
    for (const Column& column : hdf5::table_columns(group, "metrics"))
      metrics[column.name] = hdf5::read_number_column(group, "metrics", column.name).at(0);
  }
  return metrics;
}

RunResult read_run(const Handle& file, const std::string& run_id) {
  Handle runs = hdf5::open_group(file, "runs");
  Handle group = hdf5::open_group(runs, run_id);
  RunResult result;
  result.run_id = run_id;
  result.config = nlohmann::json::parse(hdf5::read_string_attribute(group, "config"));
  result.status = parse_run_status(hdf5::read_string_attribute(group, "status"));
  result.error = hdf5::read_string_attribute(group, "error");
  result.host = hdf5::read_string_attribute(group, "host");
  result.rank = static_cast<int>(hdf5::read_int_attribute(group, "rank"));
  result.start_time = hdf5::read_double_attribute(group, "start_unix");
  result.end_time = hdf5::read_double_attribute(group, "end_unix");
  result.attempt = static_cast<int>(hdf5::read_int_attribute(group, "attempt"));
  if (hdf5::has_attribute(group, "trial")) result.trial = hdf5::read_int_attribute(group, "trial");
  result.parameters_total = hdf5::read_int_attribute(group, "parameters_total");
  result.parameters_trainable = hdf5::read_int_attribute(group, "parameters_trainable");
  result.parameters_quantum = hdf5::read_int_attribute(group, "parameters_quantum");
  result.cache_key = hdf5::read_string_attribute(group, "cache_key");
  result.classes = hdf5::read_int_attribute(group, "classes");
  result.metrics = read_metrics(file, run_id);
  if (hdf5::link_exists(group, "curves")) {
    for (const Column& column : hdf5::table_columns(group, "curves")) {
      if (column.name == "epoch") continue;
      std::vector<double> values = hdf5::read_number_column(group, "curves", column.name);
      while (!values.empty() && std::isnan(values.back())) values.pop_back();
      result.curves[column.name] = values;
    }
  }
  if (hdf5::link_exists(group, "test_probabilities"))
    result.test_probabilities = hdf5::read_dataset<float>(group, "test_probabilities");
  if (hdf5::link_exists(group, "test_labels"))
    result.test_labels = hdf5::read_dataset<int32_t>(group, "test_labels");
  if (hdf5::link_exists(group, "confusion_matrix"))
    result.confusion_matrix = hdf5::read_dataset<int64_t>(group, "confusion_matrix");
  return result;
}

std::vector<Column> index_columns(const std::vector<std::string>& varying_keys) {
  std::vector<Column> columns = leading_columns();
  for (const std::string& metric : index_metrics())
    columns.push_back({metric, Column::Type::number});
  for (const std::string& key : varying_keys) {
    const ConfigKey* schema = find_config_key(key);
    bool numeric =
        schema && (schema->kind == ValueKind::integer || schema->kind == ValueKind::number ||
                   schema->kind == ValueKind::boolean);
    columns.push_back({key, numeric ? Column::Type::number : Column::Type::text});
  }
  return columns;
}

void write_index(const Handle& file, const std::vector<Column>& columns,
                 const std::vector<RunSummary>& runs) {
  if (hdf5::link_exists(file, "index")) hdf5::delete_link(file, "index");
  std::vector<hdf5::TableRow> rows;
  rows.reserve(runs.size());
  for (const RunSummary& run : runs) rows.push_back(index_row(columns, run));
  hdf5::create_table(file, "index", columns, rows, /*extendable=*/true);
}

void write_index_row(const Handle& file, const std::vector<Column>& columns, std::size_t row,
                     const RunSummary& run) {
  hdf5::write_table_row(file, "index", columns, row, index_row(columns, run));
}

std::vector<RunSummary> read_index(const Handle& file) {
  std::vector<Column> columns = hdf5::table_columns(file, "index");
  std::vector<std::string> run_ids = hdf5::read_text_column(file, "index", "run_id");
  std::vector<std::string> statuses = hdf5::read_text_column(file, "index", "status");
  std::vector<double> attempts = hdf5::read_number_column(file, "index", "attempt");
  std::vector<double> trials;  // absent in files written before studies
  for (const Column& column : columns)
    if (column.name == "trial") trials = hdf5::read_number_column(file, "index", "trial");
  std::vector<double> durations = hdf5::read_number_column(file, "index", "duration_s");
  std::vector<std::string> hosts = hdf5::read_text_column(file, "index", "host");
  std::vector<std::string> errors = hdf5::read_text_column(file, "index", "error");
  std::vector<std::string> cache_keys = hdf5::read_text_column(file, "index", "cache_key");
  std::vector<std::string> configs = hdf5::read_text_column(file, "index", "config");
  std::vector<RunSummary> runs(run_ids.size());
  for (std::size_t i = 0; i < runs.size(); ++i) {
    runs[i].run_id = run_ids[i];
    runs[i].status = parse_run_status(statuses[i]);
    runs[i].attempt = static_cast<int>(attempts[i]);
    if (!trials.empty()) runs[i].trial = static_cast<int64_t>(trials[i]);
    runs[i].duration = durations[i];
    runs[i].host = hosts[i];
    runs[i].error = errors[i];
    runs[i].cache_key = cache_keys[i];
    runs[i].config = nlohmann::json::parse(configs[i]);
  }
  for (const std::string& metric : index_metrics()) {
    std::vector<double> values = hdf5::read_number_column(file, "index", metric);
    for (std::size_t i = 0; i < runs.size(); ++i)
      if (!std::isnan(values[i])) runs[i].metrics[metric] = values[i];
  }
  return runs;
}

}  // namespace hqsweep::results_file
