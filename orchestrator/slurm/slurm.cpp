// Slurm settings, the batch script and job states (orchestrator/slurm/slurm.h).
#include "orchestrator/slurm/slurm.h"

#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <set>

#include <fmt/format.h>

#include "common/error.h"
#include "common/json_source.h"
#include "orchestrator/sweep/sweep.h"

extern char** environ;

namespace hqsweep {

// scripts/slurm/hqsweep.sbatch.in, built in by CMake (slurm_template.cpp).
extern const char* const kBatchTemplate;

namespace {

using nlohmann::json;

enum class KeyKind { count, text, text_list };

struct KeyDefinition {
  const char* name;
  KeyKind kind;
  int minimum;  // counts only
  const char* help;
  // Where the value goes.
  std::function<void(SlurmSettings&, const json&)> assign;
};

template <typename Member>
std::function<void(SlurmSettings&, const json&)> into(Member SlurmSettings::*member) {
  return [member](SlurmSettings& settings, const json& value) {
    settings.*member = value.get<std::remove_reference_t<decltype(settings.*member)>>();
  };
}

const std::vector<KeyDefinition>& definitions() {
  static const std::vector<KeyDefinition> list = {
      {"nodes", KeyKind::count, 1, "nodes (#SBATCH --nodes; default 1)",
       into(&SlurmSettings::nodes)},
      {"ntasks_per_node", KeyKind::count, 1,
       "worker tasks per node; with mpirun rank 0, the scheduler, comes on top on the first node",
       into(&SlurmSettings::ntasks_per_node)},
      {"cpus_per_task", KeyKind::count, 1, "cores of each task: its LibTorch and simulator threads",
       into(&SlurmSettings::cpus_per_task)},
      {"mem", KeyKind::text, 0, "memory per node, e.g. 16G (#SBATCH --mem)",
       into(&SlurmSettings::mem)},
      {"time", KeyKind::text, 0, "time limit, e.g. 04:00:00 or 2-00:00:00 (#SBATCH --time)",
       into(&SlurmSettings::time)},
      {"partition", KeyKind::text, 0, "partition (#SBATCH --partition)",
       into(&SlurmSettings::partition)},
      {"account", KeyKind::text, 0, "account to charge (#SBATCH --account)",
       into(&SlurmSettings::account)},
      {"qos", KeyKind::text, 0, "quality of service (#SBATCH --qos)", into(&SlurmSettings::qos)},
      {"job_name", KeyKind::text, 0, "job name; default: the sweep's name",
       into(&SlurmSettings::job_name)},
      {"output", KeyKind::text, 0,
       "job log path (%j job id, %A_%a array task); default: RESULTS_DIR/slurm/%x-%j.out",
       into(&SlurmSettings::output)},
      {"error", KeyKind::text, 0, "separate stderr path; default: with the output",
       into(&SlurmSettings::error)},
      {"sbatch", KeyKind::text_list, 0, "more #SBATCH options, e.g. --gres=gpu:1 (repeatable)",
       into(&SlurmSettings::sbatch)},
      {"setup", KeyKind::text_list, 0,
       "shell lines the job runs first, e.g. \"module load openmpi\" (repeatable)",
       into(&SlurmSettings::setup)},
      {"launcher", KeyKind::text, 0,
       "mpirun (Open MPI, detects the allocation), srun (--mpi=pmix) or none (embedded, one node)",
       into(&SlurmSettings::launcher)},
      {"signal_seconds", KeyKind::count, 0,
       "Slurm signals the job this long before its time limit and hqsweep stops gracefully; 0 = "
       "no signal",
       into(&SlurmSettings::signal_seconds)},
      {"grace", KeyKind::count, 0,
       "seconds running tasks get after the signal; default: signal_seconds - 60, at least 10",
       into(&SlurmSettings::grace)},
      {"requeue", KeyKind::count, 0,
       "times the job requeues itself when it stopped before the sweep finished",
       into(&SlurmSettings::requeue)},
      {"resubmit", KeyKind::count, 0,
       "times it submits itself again instead (where requeue is not allowed)",
       into(&SlurmSettings::resubmit)},
      {"array", KeyKind::count, 0,
       "a job array of N tasks, each running one shard of the sweep into its own file; 0 = one "
       "job",
       into(&SlurmSettings::array)},
      {"run_args", KeyKind::text_list, 0,
       "more `hqsweep run` options, e.g. --retries=1 (repeatable)", into(&SlurmSettings::run_args)},
  };
  return list;
}

// The value as the key wants it, or a message saying what was expected.
std::string normalized(const KeyDefinition& key, const json& value, json& out) {
  switch (key.kind) {
    case KeyKind::count: {
      long long number = 0;
      if (value.is_number_integer()) {
        number = value.get<long long>();
      } else if (value.is_string()) {
        const std::string text = value.get<std::string>();
        std::size_t used = 0;
        try {
          number = std::stoll(text, &used);
        } catch (const std::exception&) {
          used = 0;
        }
        if (used == 0 || used != text.size())
          return fmt::format("expected an integer >= {}, found \"{}\"", key.minimum, text);
      } else {
        return fmt::format("expected an integer >= {}, found {}", key.minimum, value.dump());
      }
      if (number < key.minimum || number > 1000000)
        return fmt::format("expected an integer >= {}, found {}", key.minimum, number);
      out = static_cast<int>(number);
      return "";
    }
    case KeyKind::text:
      if (!value.is_string()) return "expected a string, found " + value.dump();
      if (value.get<std::string>().find('\n') != std::string::npos)
        return "expected one line, found a line break";
      out = value;
      return "";
    case KeyKind::text_list: {
      json list = value.is_array() ? value : json::array({value});
      for (const json& item : list) {
        if (!item.is_string()) return "expected a list of strings, found " + item.dump();
        if (item.get<std::string>().find('\n') != std::string::npos)
          return "expected one line per item, found a line break";
      }
      out = list;
      return "";
    }
  }
  return "";
}

const KeyDefinition* find_key(const std::string& name) {
  for (const KeyDefinition& key : definitions())
    if (key.name == name) return &key;
  return nullptr;
}

std::string key_names() {
  std::string names;
  for (const KeyDefinition& key : definitions())
    names += (names.empty() ? "" : ", ") + std::string(key.name);
  return names;
}

// "ntasks_per_node" -> "ntasks-per-node"
std::string option_of(const std::string& key) {
  std::string option = key;
  std::replace(option.begin(), option.end(), '_', '-');
  return option;
}

void check_combination(const SlurmSettings& s,
                       const std::function<void(std::string, std::string)>& fail) {
  static const std::set<std::string> launchers = {"mpirun", "srun", "none"};
  if (!launchers.count(s.launcher))
    fail("launcher", "expected mpirun, srun or none, found \"" + s.launcher + "\"");
  if (s.launcher == "none" && s.nodes != 1)
    fail("nodes", "launcher none runs embedded on one node; use mpirun or srun for " +
                      std::to_string(s.nodes) + " nodes");
  if (s.array > 1000) fail("array", "at most 1000 shards");
}

std::string shell_quote(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

std::string replace_placeholder(std::string text, const std::string& name,
                                const std::string& value) {
  const std::string placeholder = "{{" + name + "}}";
  std::size_t at = text.find(placeholder);
  if (at == std::string::npos) throw Error("batch script template: no " + placeholder + " in it");
  for (; at != std::string::npos; at = text.find(placeholder, at + value.size()))
    text.replace(at, placeholder.size(), value);
  return text;
}

}  // namespace

const std::vector<SlurmKey>& slurm_keys() {
  static const std::vector<SlurmKey> keys = [] {
    std::vector<SlurmKey> out;
    for (const KeyDefinition& key : definitions())
      out.push_back({key.name, option_of(key.name), key.help, key.kind == KeyKind::text_list});
    return out;
  }();
  return keys;
}

SlurmSettings read_slurm_settings(const JsonSource& sweep_file, const json& overrides) {
  SlurmSettings settings;
  const JsonPath section = JsonPath().child("slurm");
  const auto& root = sweep_file.root();
  if (root.is_object() && root.contains("slurm")) {
    const auto& values = root["slurm"];
    if (!values.is_object())
      throw Error(sweep_file.describe(
          section, "expected an object of Slurm settings (" + key_names() + ")"));
    for (const auto& [name, value] : values.items()) {
      const KeyDefinition* key = find_key(name);
      if (key == nullptr)
        throw Error(sweep_file.describe(section.child(name),
                                        "unknown Slurm setting; expected one of " + key_names()));
      json checked;
      const std::string problem = normalized(*key, json(value), checked);
      if (!problem.empty()) throw Error(sweep_file.describe(section.child(name), problem));
      key->assign(settings, checked);
    }
  }
  for (const auto& [name, value] : overrides.items()) {
    const KeyDefinition* key = find_key(name);
    if (key == nullptr) throw Error("unknown Slurm setting \"" + name + "\"");
    json checked;
    const std::string problem = normalized(*key, value, checked);
    if (!problem.empty()) throw Error("--" + option_of(name) + ": " + problem);
    key->assign(settings, checked);
  }
  check_combination(settings, [&](const std::string& name, const std::string& problem) {
    const bool from_option = overrides.contains(name);
    if (!from_option && root.is_object() && root.contains("slurm") && root["slurm"].contains(name))
      throw Error(sweep_file.describe(section.child(name), problem));
    throw Error((from_option ? "--" + option_of(name) : "slurm." + name) + ": " + problem);
  });
  return settings;
}

std::string make_batch_script(const BatchJob& job, const std::string& template_text) {
  const SlurmSettings& s = job.settings;
  std::vector<std::string> lines;
  auto option = [&](const std::string& name, const std::string& value) {
    if (!value.empty()) lines.push_back("#SBATCH --" + name + "=" + value);
  };
  option("job-name", s.job_name);
  option("nodes", std::to_string(s.nodes));
  option("ntasks-per-node", std::to_string(s.ntasks_per_node));
  option("cpus-per-task", std::to_string(s.cpus_per_task));
  option("mem", s.mem);
  option("time", s.time);
  option("partition", s.partition);
  option("account", s.account);
  option("qos", s.qos);
  option("output", s.output);
  option("error", s.error);
  if (s.array > 0) option("array", "0-" + std::to_string(s.array - 1));
  if (s.signal_seconds > 0) option("signal", "B:USR1@" + std::to_string(s.signal_seconds));
  lines.push_back(s.requeue > 0 ? "#SBATCH --requeue" : "#SBATCH --no-requeue");
  lines.push_back("#SBATCH --open-mode=append");  // a requeued job adds to its log
  for (const std::string& extra : s.sbatch)
    lines.push_back(extra.rfind("#SBATCH", 0) == 0 ? extra : "#SBATCH " + extra);

  std::string sbatch_lines, setup, run_args;
  for (const std::string& line : lines) sbatch_lines += (sbatch_lines.empty() ? "" : "\n") + line;
  for (const std::string& line : s.setup) setup += (setup.empty() ? "" : "\n") + line;
  int grace = s.grace >= 0 ? s.grace : std::max(10, s.signal_seconds - 60);
  std::vector<std::string> args = {"--grace=" + std::to_string(grace)};
  args.insert(args.end(), job.run_args.begin(), job.run_args.end());
  for (const std::string& arg : args) run_args += (run_args.empty() ? "" : " ") + shell_quote(arg);

  std::string script = template_text.empty() ? kBatchTemplate : template_text;
  script = replace_placeholder(script, "SBATCH_LINES", sbatch_lines);
  script = replace_placeholder(script, "EXECUTABLE", shell_quote(job.executable));
  script = replace_placeholder(script, "SWEEP", shell_quote(job.sweep_path));
  script = replace_placeholder(script, "RESULTS", shell_quote(job.results_path));
  script = replace_placeholder(script, "SCRIPT", shell_quote(job.script_path));
  script = replace_placeholder(script, "JOBS_FILE", shell_quote(job.jobs_path));
  script = replace_placeholder(script, "LAUNCHER", s.launcher);
  script = replace_placeholder(script, "ARRAY_SIZE", std::to_string(s.array));
  script = replace_placeholder(script, "MAX_REQUEUES", std::to_string(s.requeue));
  script = replace_placeholder(script, "MAX_RESUBMITS", std::to_string(s.resubmit));
  script = replace_placeholder(script, "RUN_ARGS", run_args);
  script = replace_placeholder(script, "WORKING_DIRECTORY", shell_quote(job.working_directory));
  script = replace_placeholder(script, "SETUP", setup.empty() ? ":" : setup);
  return script;
}

std::vector<std::string> read_job_ids(const std::string& jobs_path) {
  std::vector<std::string> ids;
  std::ifstream in(jobs_path);
  std::string line;
  while (std::getline(in, line)) {
    const std::string id = line.substr(0, line.find('\t'));
    if (!id.empty() && std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
  }
  return ids;
}

std::pair<int, std::string> run_program(const std::vector<std::string>& argv) {
  int pipe_ends[2];
  if (pipe(pipe_ends) != 0) throw Error(std::string("pipe: ") + std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_ends[1], 1);
  posix_spawn_file_actions_addclose(&actions, pipe_ends[0]);
  posix_spawn_file_actions_addclose(&actions, pipe_ends[1]);
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  pid_t child = 0;
  const int spawned = posix_spawnp(&child, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(pipe_ends[1]);
  if (spawned != 0) {
    close(pipe_ends[0]);
    throw Error("cannot run " + argv[0] + ": " + std::strerror(spawned) +
                (spawned == ENOENT ? " (is Slurm's client installed and on PATH?)" : ""));
  }
  std::string output;
  char buffer[4096];
  for (ssize_t n; (n = read(pipe_ends[0], buffer, sizeof buffer)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    output.append(buffer, static_cast<std::size_t>(n));
  }
  close(pipe_ends[0]);
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), output};
}

std::vector<SlurmJobState> query_slurm_jobs(const std::vector<std::string>& job_ids) {
  std::vector<SlurmJobState> states;
  // The value of "NAME=value" in scontrol's one-line output (a word starting the line or after a
  // space), up to the next space.
  auto field = [](const std::string& line, const std::string& name) {
    const std::string key = name + "=";
    for (std::size_t at = line.find(key); at != std::string::npos; at = line.find(key, at + 1)) {
      if (at > 0 && line[at - 1] != ' ') continue;
      const std::size_t start = at + key.size();
      return line.substr(start, line.find_first_of(" \t", start) - start);
    }
    return std::string();
  };
  for (const std::string& id : job_ids) {
    // --oneliner: a job (or array task) per line; a job Slurm forgot is an error on stderr.
    auto [code, output] = run_program({"scontrol", "--oneliner", "--quiet", "show", "job", id});
    bool found = false;
    std::size_t start = 0;
    while (start < output.size()) {
      std::size_t end = output.find('\n', start);
      if (end == std::string::npos) end = output.size();
      const std::string line = output.substr(start, end - start);
      start = end + 1;
      if (line.find("JobId=") == std::string::npos) continue;
      found = true;
      SlurmJobState state;
      const std::string array_job = field(line, "ArrayJobId");
      state.job_id =
          array_job.empty() ? field(line, "JobId") : array_job + "_" + field(line, "ArrayTaskId");
      state.state = field(line, "JobState");
      state.reason = field(line, "Reason");
      state.run_time = field(line, "RunTime");
      state.time_limit = field(line, "TimeLimit");
      state.nodes = field(line, "NodeList");
      state.exit_code = field(line, "ExitCode");
      const std::string restarts = field(line, "Restarts");
      state.restarts = restarts.empty() ? 0 : std::stoi(restarts);
      states.push_back(std::move(state));
    }
    if (!found) {
      SlurmJobState gone;
      gone.job_id = id;
      gone.state = code == 0 ? "?" : "gone";
      gone.reason = "Slurm no longer knows it (ended longer ago than MinJobAge)";
      states.push_back(std::move(gone));
    }
  }
  return states;
}

}  // namespace hqsweep
