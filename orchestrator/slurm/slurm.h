// Slurm batch jobs for a sweep: the settings (a sweep file's "slurm" section and `hqsweep submit`'s
// options), the batch script they make, and what Slurm says of submitted jobs (docs/slurm.md).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace hqsweep {

class JsonSource;

struct SlurmSettings {
  int nodes = 1;
  int ntasks_per_node = 1;                         // worker tasks per node
  int cpus_per_task = 1;                           // threads of each task (SLURM_CPUS_PER_TASK)
  std::string mem, time, partition, account, qos;  // "" = the cluster's default
  std::string job_name;                            // "" = the sweep's name
  std::string output, error;                       // "" = results dir/slurm/%x-%j.out
  std::vector<std::string> sbatch;                 // more #SBATCH options, e.g. "--gres=gpu:1"
  std::vector<std::string> setup;                  // shell lines before the run
  std::string launcher = "mpirun";                 // mpirun, srun or none
  int signal_seconds = 300;  // warning signal this long before the time limit; 0 = none
  int grace = -1;            // hqsweep run --grace; -1 = signal_seconds - 60 (at least 10)
  int requeue = 0;           // times the job requeues itself after a graceful stop
  int resubmit = 0;          // times it submits itself again (clusters that forbid requeue)
  int array = 0;             // > 0: a job array of this many shards
  std::vector<std::string> run_args;  // more `hqsweep run` options
};

// The keys of the "slurm" section, which are also `hqsweep submit` options ('_' written '-'),
// with their help text.
struct SlurmKey {
  std::string name;    // "ntasks_per_node"
  std::string option;  // "ntasks-per-node"
  std::string help;
  bool is_list = false;  // repeatable: each option given adds an item
};
const std::vector<SlurmKey>& slurm_keys();

// The sweep file's "slurm" section (absent: defaults), then `overrides` (key -> value; values of
// integer keys may be strings, as options give them). Throws Error naming the file, line and key,
// or the option, and what was expected.
SlurmSettings read_slurm_settings(const JsonSource& sweep_file, const nlohmann::json& overrides);

// What the batch script is made of; paths absolute.
struct BatchJob {
  SlurmSettings settings;
  std::string executable;  // hqsweep
  std::string sweep_path;
  std::string results_path;  // an array's tasks write its shard files
  std::string script_path;   // where the script is kept (for resubmission)
  std::string jobs_path;     // slurm_jobs_path(results_path)
  std::string working_directory;
  std::vector<std::string> run_args;  // settings.run_args and the command line's
};

// The template with its {{PLACEHOLDERS}} filled; `template_text` empty = the built-in one
// (scripts/slurm/hqsweep.sbatch.in). Throws Error naming a placeholder the template lacks.
std::string make_batch_script(const BatchJob& job, const std::string& template_text = "");

// The job ids in a jobs record (store/results_paths.h: slurm_jobs_path), each once, in order.
std::vector<std::string> read_job_ids(const std::string& jobs_path);

// What Slurm knows of a job (one line per array task).
struct SlurmJobState {
  std::string job_id;  // "1234", or "1234_2" for an array task, "1234_[3-5]" for pending ones
  std::string state;   // PENDING, RUNNING, COMPLETED, ... or "gone" when Slurm forgot it
  std::string reason, run_time, time_limit, nodes, exit_code;
  int restarts = 0;
};
// Asks `scontrol show job` about each job. Throws Error when scontrol cannot be run.
std::vector<SlurmJobState> query_slurm_jobs(const std::vector<std::string>& job_ids);

// Runs a program (no shell) and returns its exit code and standard output; stderr passes through.
// Throws Error when it cannot be started.
std::pair<int, std::string> run_program(const std::vector<std::string>& argv);

}  // namespace hqsweep
