#!/usr/bin/env python3
"""Reads a results file written by the C++ store with scripts/load_results.py and compares every
value with the JSON the writer printed. Exit 77 (skipped) without h5py or pandas."""
import json
import math
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts"))
try:
    import load_results
except ImportError as error:
    print(f"skipped: {error} (install python3-h5py and python3-pandas)")
    sys.exit(77)


def same(a, b):
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return a == b


def main(path, expected_path):
    expected = json.load(open(expected_path))
    index = load_results.load_index(path)
    failures = []

    def check(what, actual, wanted):
        if not same(actual, wanted):
            failures.append(f"{what}: read {actual!r}, wrote {wanted!r}")

    check("run ids", list(index.run_id), [run["run_id"] for run in expected])
    for row, run in zip(index.to_dict("records"), expected):
        rid = run["run_id"]
        check(f"{rid} status", row["status"], run["status"])
        check(f"{rid} attempt", int(row["attempt"]), run["attempt"])
        check(f"{rid} config", json.loads(row["config"]), run["config"])
        check(f"{rid} error", row["error"], run["error"])
        check(f"{rid} fusion column", row["model.fusion"], run["config"]["model"]["fusion"])
        check(f"{rid} seed column", row["seed"], float(run["config"]["seed"]))
        for metric in ("val_acc", "test_acc", "test_f1", "test_auc"):
            check(f"{rid} index {metric}", float(row[metric]),
                  run["metrics"].get(metric, float("nan")))
        check(f"{rid} duration", round(float(row["duration_s"]), 9),
              round(run["end_time"] - run["start_time"], 9))

        attributes = load_results.load_run(path, rid)
        check(f"{rid} host", attributes["host"], run["host"])
        check(f"{rid} parameters", int(attributes["parameters_total"]), run["parameters_total"])
        check(f"{rid} metrics", load_results.load_metrics(path, rid), run["metrics"])
        curves = load_results.load_curves(path, rid)
        for name, values in run["curves"].items():
            check(f"{rid} curve {name}", list(curves[name]), values)
        if run["test_labels"]:
            probabilities, labels = load_results.load_test_predictions(path, rid)
            check(f"{rid} probabilities", [float(p) for p in probabilities.reshape(-1)],
                  run["test_probabilities"])
            check(f"{rid} labels", labels.tolist(), run["test_labels"])

    if failures:
        print("\n".join(failures))
        return 1
    print(f"load_results.py read {len(expected)} runs back exactly")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
