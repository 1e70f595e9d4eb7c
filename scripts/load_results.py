#!/usr/bin/env python3
"""Read an hqsweep results file into pandas (layout: docs/hdf5-schema.md).

    import sys; sys.path.insert(0, "scripts")
    from load_results import load_index, load_curves, load_test_predictions
    runs = load_index("results.h5")                  # one row per run, one call
    done = runs[runs.status == "done"]
    curves = load_curves("results.h5", done.run_id.iloc[0])

Run as a script it prints the index, or one run's curves:
    python3 scripts/load_results.py results.h5 [RUN_ID]
Needs Debian's python3-h5py and python3-pandas (scripts/install-deps.sh installs them).
"""
import json
import sys

import h5py
import pandas as pd


def _text(value):
    return value.decode("utf-8") if isinstance(value, bytes) else value


def _frame(table):
    """A compound HDF5 dataset as a DataFrame with str (not bytes) text columns."""
    frame = pd.DataFrame(table[()])
    for column in frame.columns:
        if frame[column].dtype == object:
            frame[column] = frame[column].map(_text)
    return frame


def load_index(path):
    """One row per run: run_id, status (done, failed, diverged, timeout, cancelled, pruned,
    proposed), attempt, trial (a study's trial number, -1 otherwise; absent in files written before
    schema 2), duration_s, host, error, cache_key, config (JSON text), the main metrics (NaN where
    absent) and the sweep's varying keys."""
    with h5py.File(path, "r") as f:
        return _frame(f["index"])


def load_run(path, run_id):
    """A run's attributes as a dict, with the config parsed."""
    with h5py.File(path, "r") as f:
        attributes = {k: _text(v) for k, v in f["runs"][run_id].attrs.items()}
    attributes["config"] = json.loads(attributes["config"])
    return attributes


def load_metrics(path, run_id):
    """Every final metric of a run (val_* and test_*) as a dict; empty for failed runs."""
    with h5py.File(path, "r") as f:
        group = f["runs"][run_id]
        if "metrics" not in group:
            return {}
        row = group["metrics"][0]
        return {name: float(row[name]) for name in row.dtype.names}


def load_curves(path, run_id):
    """Per-epoch curves of a run: one row per epoch, one column per curve."""
    with h5py.File(path, "r") as f:
        group = f["runs"][run_id]
        return _frame(group["curves"]) if "curves" in group else pd.DataFrame()


def load_test_predictions(path, run_id):
    """(probabilities [samples, classes], labels [samples]) of a run's test set."""
    with h5py.File(path, "r") as f:
        group = f["runs"][run_id]
        return group["test_probabilities"][()], group["test_labels"][()]


def main(argv):
    if len(argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    pd.set_option("display.width", 200)
    if len(argv) == 3:
        print(load_curves(argv[1], argv[2]).to_string(index=False))
        return 0
    runs = load_index(argv[1]).drop(columns=["config", "error"])
    print(runs.to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
