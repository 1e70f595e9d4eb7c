// Where a sweep's files live, in one place: the results file, the files beside it (its journal,
// its writer marker, the Slurm jobs record) and the files of a job array's shards.
#pragma once

#include <string>
#include <vector>

namespace hqsweep {

// A sweep's name, or its file's stem for a sweep without one.
std::string sweep_stem(const std::string& sweep_name, const std::string& sweep_file);
// results/<sweep_stem>.h5.
std::string default_results_path(const std::string& sweep_name, const std::string& sweep_file);

// A file that belongs beside a results file: results/x.h5 + ".slurm-jobs" -> results/x.slurm-jobs
// (a name without ".h5" keeps all of it).
std::string beside_results(const std::string& results_path, const std::string& suffix);

// results/x.h5 -> results/x.h5.journal: the results' truth (docs/hdf5-schema.md).
std::string journal_path(const std::string& results_path);
// results/x.h5 -> results/x.h5.lock: the writer lock (store/writer_lock.h).
std::string writer_lock_path(const std::string& results_path);
// results/x.h5 -> results/x.h5.writing: present while a writer has the HDF5 file open.
std::string writer_marker_path(const std::string& results_path);
// results/x.h5 -> results/x.slurm-jobs: one line per submitted Slurm job.
std::string slurm_jobs_path(const std::string& results_path);

// results/x.h5 -> results/x.shard-I-of-N.h5, the file of one shard (the batch script,
// scripts/slurm/hqsweep.sbatch.in, names array tasks' files the same way).
std::string shard_results_path(const std::string& results_path, int index, int count);
// The shard files of results_path that exist, sorted by shard index.
std::vector<std::string> shard_files(const std::string& results_path);

}  // namespace hqsweep
