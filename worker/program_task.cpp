// Program runs: start, watch, stop and collect a user's program.
#include "worker/program_task.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/config_schema.h"
#include "common/error.h"
#include "common/placeholders.h"
#include "common/posix_io.h"

extern char** environ;

namespace hqsweep {

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

constexpr std::size_t kOutputTail = 2000;  // characters of output kept for a failure's error
constexpr std::size_t kMaxLine = 1 << 20;  // longer output lines are cut (a report is short)
constexpr int kPollMs = 50;                // how often the stopping rule is asked
constexpr double kMemoryCheckSeconds = 0.25;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string value_text(const json& value) {
  return value.is_string() ? value.get<std::string>() : value.dump();
}

// What a placeholder may name: the run facts and every key of the canonical config.
std::map<std::string, std::string> placeholder_values(const RunConfig& config,
                                                      const WorkerOptions& options,
                                                      const std::string& run_dir,
                                                      const std::string& config_file) {
  std::map<std::string, std::string> values;
  for (const auto& [path, value] : flatten_config(config.canonical))
    values[path] = value_text(value);
  values["run_id"] = config.run_id;
  values["run_dir"] = run_dir;
  values["seed"] = std::to_string(config.seed);
  values["threads"] = std::to_string(options.threads);
  values["config_file"] = config_file;
  return values;
}

// The program's environment: this process's, then HQSWEEP_*, then program.env.
std::vector<std::string> program_environment(const RunConfig& config,
                                             const std::map<std::string, std::string>& values,
                                             const std::string& metrics_file) {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    const std::size_t eq = entry.find('=');
    if (eq != std::string::npos) env[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  env["HQSWEEP_CONFIG"] = values.at("config_file");
  env["HQSWEEP_RUN_DIR"] = values.at("run_dir");
  env["HQSWEEP_METRICS"] = metrics_file;
  env["HQSWEEP_RUN_ID"] = config.run_id;
  env["HQSWEEP_SEED"] = values.at("seed");
  env["HQSWEEP_THREADS"] = values.at("threads");
  for (const auto& [name, text] : config.program.env) env[name] = expand_placeholders(text, values);
  std::vector<std::string> out;
  for (const auto& [name, value] : env) out.push_back(name + "=" + value);
  return out;
}

// The executable for argv[0]: a path as given (relative to the program's directory), else the
// first match on the program's PATH. Found before fork, so that the child only calls execve.
std::string resolve_executable(const std::string& name, const std::vector<std::string>& env,
                               const std::string& cwd) {
  if (name.find('/') != std::string::npos) return name;
  std::string path = "/usr/local/bin:/usr/bin:/bin";
  for (const std::string& entry : env) {
    if (entry.rfind("PATH=", 0) == 0) path = entry.substr(5);
  }
  std::stringstream dirs(path);
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (dir.empty()) dir = ".";
    fs::path candidate = fs::path(dir) / name;
    if (candidate.is_relative()) candidate = fs::path(cwd) / candidate;
    if (access(candidate.c_str(), X_OK) == 0 && !fs::is_directory(candidate))
      return candidate.string();
  }
  throw Error("program.command[0]: \"" + name + "\" is not an executable on the PATH");
}

void write_file_atomically(const std::string& path, const std::string& text) {
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << text;
    if (!out) throw Error(path + ": cannot write the program's config file");
  }
  fs::rename(temporary, path);
}

// Resident memory of every process in `group`, in bytes (from /proc/<pid>/stat).
double group_resident_bytes(pid_t group) {
  static const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  double total = 0;
  std::error_code ignored;
  for (const auto& entry : fs::directory_iterator("/proc", ignored)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
    std::ifstream in(entry.path() / "stat");
    std::string stat;
    if (!std::getline(in, stat)) continue;
    const std::size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream fields(stat.substr(close + 2));
    std::vector<std::string> f;
    for (std::string token; fields >> token && f.size() < 22;) f.push_back(token);
    if (f.size() < 22 || std::stol(f[2]) != group) continue;  // f[2]: pgrp, f[21]: rss pages
    total += std::stod(f[21]) * page;
  }
  return total;
}

// The program's output: lines sorted into reports and log text, a tail kept for errors.
class ProgramOutput {
 public:
  explicit ProgramOutput(const std::string& log_path)
      : log_(::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) {}
  ~ProgramOutput() {
    if (log_ >= 0) ::close(log_);
  }
  ProgramOutput(const ProgramOutput&) = delete;
  ProgramOutput& operator=(const ProgramOutput&) = delete;

  // Text the program wrote; on stdout report lines are taken out and handed to `report`.
  template <typename OnReport>
  void add(const char* data, std::size_t size, bool is_stdout, OnReport&& report) {
    std::string& pending = is_stdout ? stdout_ : stderr_;
    pending.append(data, size);
    for (std::size_t end; (end = pending.find('\n')) != std::string::npos;) {
      line(pending.substr(0, end), is_stdout, report);
      pending.erase(0, end + 1);
    }
    if (pending.size() > kMaxLine) {
      line(pending, is_stdout, report);
      pending.clear();
    }
  }

  template <typename OnReport>
  void finish(OnReport&& report) {
    if (!stdout_.empty()) line(stdout_, true, report);
    if (!stderr_.empty()) line(stderr_, false, report);
    stdout_.clear();
    stderr_.clear();
  }

  // A line for the log that the program did not write (a malformed report, hqsweep's notes).
  void note(const std::string& text) { log_line("hqsweep: " + text); }

  std::string tail() const { return tail_; }

 private:
  template <typename OnReport>
  void line(const std::string& text, bool is_stdout, OnReport&& report) {
    const std::string prefix = kProgramReportPrefix;
    if (is_stdout && text.compare(0, prefix.size(), prefix) == 0) {
      std::string problem;
      if (std::optional<ProgramReport> parsed =
              parse_program_report(text.substr(prefix.size()), problem)) {
        report(*parsed);
        log_line(text);
        return;
      }
      note("ignored a malformed report line (" + problem + "): " + text.substr(0, 200));
      return;
    }
    log_line(text);
  }

  void log_line(const std::string& text) {
    const std::string with_newline = text + "\n";
    if (log_ >= 0) write_all(log_, with_newline);
    write_all(2, with_newline);  // the runner's stderr: its parent keeps the tail too
    tail_ += with_newline;
    if (tail_.size() > 2 * kOutputTail) tail_.erase(0, tail_.size() - kOutputTail);
  }

  int log_;
  std::string stdout_, stderr_, tail_;
};

// The reports of the metrics file, read as it grows; a partial last line waits for its end.
class MetricsFile {
 public:
  explicit MetricsFile(std::string path) : path_(std::move(path)) {}

  template <typename OnReport>
  void poll(ProgramOutput& output, OnReport&& report) {
    std::ifstream in(path_, std::ios::binary);
    if (!in) return;
    in.seekg(static_cast<std::streamoff>(offset_));
    std::string chunk((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::size_t used = 0;
    for (std::size_t end; (end = chunk.find('\n', used)) != std::string::npos; used = end + 1) {
      std::string text = chunk.substr(used, end - used);
      const std::string prefix = kProgramReportPrefix;
      if (text.compare(0, prefix.size(), prefix) == 0) text.erase(0, prefix.size());
      if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
      std::string problem;
      if (std::optional<ProgramReport> parsed = parse_program_report(text, problem)) {
        report(*parsed);
      } else {
        output.note("ignored a malformed line of HQSWEEP_METRICS (" + problem +
                    "): " + text.substr(0, 200));
      }
    }
    offset_ += used;
  }

 private:
  std::string path_;
  std::size_t offset_ = 0;
};

// Reports gathered into the run's curves and final metrics.
struct Collected {
  std::map<std::string, std::vector<double>> curves;
  std::map<int64_t, std::map<std::string, double>> epochs;
  std::optional<std::map<std::string, double>> final;

  void add(const ProgramReport& report, const EpochHooks& hooks) {
    if (report.final) {
      final = report.values;
      return;
    }
    epochs[report.epoch] = report.values;  // a resumed program may report an epoch again
    if (hooks.on_epoch) hooks.on_epoch(report.epoch, report.values);
  }

  // Curves of every reported value, one entry per epoch up to the last one (NaN where an epoch
  // did not report that value).
  void build_curves() {
    if (epochs.empty()) return;
    const std::size_t length = static_cast<std::size_t>(epochs.rbegin()->first);
    for (const auto& [epoch, values] : epochs) {
      for (const auto& [name, value] : values) {
        std::vector<double>& curve = curves[name];
        curve.resize(length, NAN);
        curve[static_cast<std::size_t>(epoch - 1)] = value;
      }
    }
  }
};

struct Pipe {
  int read = -1, write = -1;
  Pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw Error(std::string("pipe: ") + std::strerror(errno));
    read = fds[0];
    write = fds[1];
  }
  ~Pipe() {
    if (read >= 0) ::close(read);
    if (write >= 0) ::close(write);
  }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
};

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// fork + execve; the child leads a new process group and dies with this process.
pid_t start_program(const std::string& executable, std::vector<std::string> argv,
                    std::vector<std::string> env, const std::string& cwd, Pipe& out, Pipe& err) {
  std::vector<char*> argv_pointers = pointers(argv), env_pointers = pointers(env);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) throw Error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    // Only async-signal-safe calls from here on.
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    for (int s : {SIGINT, SIGTERM, SIGUSR1, SIGPIPE, SIGHUP}) signal(s, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    const int null = ::open("/dev/null", O_RDONLY);
    if (null >= 0) dup2(null, 0);
    dup2(out.write, 1);
    dup2(err.write, 2);
    if (chdir(cwd.c_str()) != 0) {
      const char* text = "hqsweep: cannot enter the program's directory (program.cwd)\n";
      (void)!write(2, text, std::strlen(text));
      _exit(127);
    }
    execve(executable.c_str(), argv_pointers.data(), env_pointers.data());
    const char* text = "hqsweep: cannot execute the program: ";
    (void)!write(2, text, std::strlen(text));
    (void)!write(2, std::strerror(errno), std::strlen(std::strerror(errno)));
    (void)!write(2, "\n", 1);
    _exit(127);
  }
  setpgid(pid, pid);  // also here, so that the group exists before we signal it
  ::close(out.write);
  ::close(err.write);
  out.write = err.write = -1;
  return pid;
}

std::string describe_exit(int status) {
  if (WIFEXITED(status)) return fmt::format("exited with status {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return fmt::format("was killed by signal {} ({})", WTERMSIG(status),
                       strsignal(WTERMSIG(status)));
  return "ended";
}

// Watches the program until its leader exits: output, reports, the stopping rule's decision
// (SIGTERM to the group, SIGKILL after the grace) and the memory limit.
struct Watch {
  bool stopped = false;  // the stopping rule asked it to stop
  std::string memory_error;
  int status = 0;
};

Watch watch_program(pid_t pid, const RunConfig& config, const WorkerOptions& options,
                    const EpochHooks& hooks, Pipe& out, Pipe& err, ProgramOutput& output,
                    MetricsFile& metrics, Collected& collected) {
  Watch watch;
  auto on_report = [&](const ProgramReport& r) { collected.add(r, hooks); };
  Clock::time_point stop_sent, last_memory_check = Clock::now();
  bool killed = false;
  const double limit = static_cast<double>(config.program.memory_mib) * 1024 * 1024;
  bool open[2] = {true, true};  // a stream at its end is polled no more (poll would not wait)
  for (;;) {
    pollfd fds[2] = {{open[0] ? out.read : -1, POLLIN, 0}, {open[1] ? err.read : -1, POLLIN, 0}};
    const int ready = ::poll(fds, 2, kPollMs);
    char buffer[65536];
    for (int i = 0; i < 2 && ready > 0; ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP))) continue;
      const ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
      if (n > 0) output.add(buffer, static_cast<std::size_t>(n), i == 0, on_report);
      if (n == 0) open[i] = false;
    }
    metrics.poll(output, on_report);
    if (!watch.stopped && hooks.should_stop && hooks.should_stop()) {
      watch.stopped = true;
      stop_sent = Clock::now();
      output.note("stopped by the study's stopping rule (SIGTERM)");
      ::killpg(pid, SIGTERM);
    }
    if (watch.stopped && !killed && seconds_since(stop_sent) > options.grace) {
      output.note(
          fmt::format("still running {:g} s after SIGTERM (--grace): SIGKILL", options.grace));
      ::killpg(pid, SIGKILL);
      killed = true;
    }
    if (limit > 0 && !killed && seconds_since(last_memory_check) > kMemoryCheckSeconds) {
      last_memory_check = Clock::now();
      const double resident = group_resident_bytes(pid);
      if (resident > limit) {
        watch.memory_error =
            fmt::format("its processes held {:.0f} MiB, over program.memory ({} MiB): killed",
                        resident / (1024 * 1024), config.program.memory_mib);
        ::killpg(pid, SIGKILL);
        killed = true;
      }
    }
    const pid_t done = waitpid(pid, &watch.status, WNOHANG);
    if (done == pid) break;
  }
  // The leader is gone; whatever it left running in its group goes too.
  ::killpg(pid, SIGKILL);
  // Drain what was written before the end. The writers are dead, so this reaches end of file,
  // unless a process left the group (setsid); the deadline keeps that from holding us.
  const Clock::time_point drained_by = Clock::now() + std::chrono::seconds(2);
  for (Pipe* p : {&out, &err}) {
    char buffer[65536];
    while (Clock::now() < drained_by) {
      pollfd fd{p->read, POLLIN, 0};
      if (::poll(&fd, 1, 100) <= 0) continue;
      const ssize_t n = ::read(p->read, buffer, sizeof buffer);
      if (n <= 0) break;
      output.add(buffer, static_cast<std::size_t>(n), p == &out, on_report);
    }
  }
  output.finish(on_report);
  metrics.poll(output, on_report);
  return watch;
}

std::string with_tail(const std::string& message, const std::string& tail) {
  return tail.empty() ? message : message + "; its output ended with:\n" + tail;
}

}  // namespace

std::optional<ProgramReport> parse_program_report(const std::string& text, std::string& problem) {
  const json value = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded() || !value.is_object()) {
    problem = "not a JSON object";
    return std::nullopt;
  }
  ProgramReport report;
  const json* values = &value;
  if (value.contains("final")) {
    report.final = true;
    values = &value["final"];
    if (!values->is_object() || value.size() != 1) {
      problem = "\"final\" takes an object of metrics, alone";
      return std::nullopt;
    }
  } else {
    const auto epoch = value.find("epoch");
    if (epoch == value.end() || !epoch->is_number_integer() || epoch->get<int64_t>() < 1 ||
        epoch->get<int64_t>() > 1000000) {
      problem = "expected \"epoch\": N (an integer from 1) or \"final\": {...}";
      return std::nullopt;
    }
    report.epoch = epoch->get<int64_t>();
  }
  for (const auto& [name, v] : values->items()) {
    if (!report.final && name == "epoch") continue;
    if (!v.is_number() || !std::isfinite(v.get<double>())) {
      problem = "\"" + name + "\" is not a finite number";
      return std::nullopt;
    }
    report.values[name] = v.get<double>();
  }
  return report;
}

std::string program_run_directory(const std::string& cache_directory, const std::string& run_id) {
  return (fs::absolute(cache_directory) / "runs" / run_id).lexically_normal().string();
}

RunResult run_program(const RunConfig& config, const WorkerOptions& options,
                      const EpochHooks& hooks) {
  const std::string run_dir = program_run_directory(options.cache_directory, config.run_id);
  std::error_code failed;
  fs::create_directories(run_dir, failed);
  if (failed) throw Error(run_dir + ": cannot create the run's directory: " + failed.message());
  const std::string config_file = run_dir + "/config.json";
  const std::string metrics_file = run_dir + "/metrics.jsonl";
  write_file_atomically(config_file, config.canonical.dump(2) + "\n");
  fs::remove(metrics_file, failed);  // each attempt reports afresh

  const std::map<std::string, std::string> values =
      placeholder_values(config, options, run_dir, config_file);
  std::vector<std::string> argv;
  for (const std::string& arg : config.program.command)
    argv.push_back(expand_placeholders(arg, values));
  const std::string cwd = expand_placeholders(config.program.cwd, values);
  if (!fs::is_directory(cwd)) throw Error("program.cwd: \"" + cwd + "\" is not a directory");
  const std::vector<std::string> env = program_environment(config, values, metrics_file);
  const std::string executable = resolve_executable(argv.front(), env, cwd);

  RunResult result;
  result.run_id = config.run_id;
  result.config = config.canonical;
  result.start_time = wall_seconds();
  ProgramOutput output(run_dir + "/output.log");
  output.note(fmt::format("attempt started {} in {}", wall_seconds(), cwd));
  MetricsFile metrics(metrics_file);
  Collected collected;
  Pipe out, err;
  const pid_t pid = start_program(executable, argv, env, cwd, out, err);
  if (hooks.on_process_group) hooks.on_process_group(pid);
  const Watch watch =
      watch_program(pid, config, options, hooks, out, err, output, metrics, collected);
  result.end_time = wall_seconds();

  if (!watch.memory_error.empty()) throw Error(with_tail(watch.memory_error, output.tail()));
  collected.build_curves();
  result.curves = std::move(collected.curves);
  if (watch.stopped) {
    // Its final report if it wrote one before stopping, else its last epoch's values.
    result.status = RunStatus::pruned;
    if (collected.final) {
      result.metrics = *collected.final;
    } else if (!collected.epochs.empty()) {
      result.metrics = collected.epochs.rbegin()->second;
    }
  } else {
    const bool exited_cleanly = WIFEXITED(watch.status) && WEXITSTATUS(watch.status) == 0;
    if (!exited_cleanly)
      throw Error(with_tail("the program " + describe_exit(watch.status), output.tail()));
    if (!collected.final)
      throw Error(with_tail(
          "the program exited 0 without a final report (a line hqsweep: {\"final\": {...}})",
          output.tail()));
    result.metrics = *collected.final;
  }
  if (!collected.epochs.empty())
    result.metrics["epochs_run"] = static_cast<double>(collected.epochs.rbegin()->first);
  return result;
}

}  // namespace hqsweep
