#!/usr/bin/env python3
"""Recomputes `hqsweep report --compare fusion=classical --format csv` with pandas and SciPy from
scripts/load_results.py, an independent reading of the same file. Exit 77 (skipped) without them.
    check_report.py HQSWEEP RESULTS.h5"""
import csv
import io
import math
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts"))
try:
    import load_results
    from scipy import stats
except ImportError as error:
    print(f"skipped: {error} (install python3-h5py, python3-pandas, python3-scipy)")
    sys.exit(77)


def close(a, b, tolerance=1e-9):
    return abs(a - b) <= tolerance * max(1.0, abs(b))


def main(hqsweep, path):
    output = subprocess.run([hqsweep, "report", path, "--compare", "fusion=classical",
                             "--metrics", "acc,auc", "--format", "csv"],
                            capture_output=True, text=True, check=True).stdout
    rows = list(csv.DictReader(io.StringIO(output)))
    runs = load_results.load_index(path)
    runs = runs[runs.status == "done"].copy()
    runs["qubits"] = runs["quantum.qubits"].fillna(-1).astype(int)
    keys = ["model.backbone", "model.fusion", "qubits"]
    failures = []
    if len(rows) != runs.groupby(keys).ngroups:
        failures.append(f"{len(rows)} rows, {runs.groupby(keys).ngroups} groups")
    for row in rows:
        qubits = int(row["quantum.qubits"]) if row["quantum.qubits"] else -1
        name = f"{row['model.backbone']} {row['model.fusion']} {qubits}"
        group = runs[(runs["model.backbone"] == row["model.backbone"]) &
                     (runs["model.fusion"] == row["model.fusion"]) & (runs.qubits == qubits)]
        for metric in ("test_acc", "test_auc"):
            values = group[metric].to_numpy()
            n = len(values)
            mean, std = values.mean(), values.std(ddof=1)
            half = stats.t.ppf(0.975, n - 1) * std / math.sqrt(n)
            # Fractions: the t interval clipped to [0, 1] (docs/analysis.md).
            for column, expected in (("mean", mean), ("std", std),
                                     ("ci_low", max(0.0, mean - half)),
                                     ("ci_high", min(1.0, mean + half))):
                if not close(float(row[f"{metric}_{column}"]), expected):
                    failures.append(f"{name} {metric}_{column}: {row[f'{metric}_{column}']} vs {expected}")
            if row["model.fusion"] == "classical":
                continue
            baseline = runs[(runs["model.backbone"] == row["model.backbone"]) &
                            (runs["model.fusion"] == "classical")]
            paired = group.merge(baseline, on="seed", suffixes=("", "_baseline"))
            if int(row["pairs"]) != len(paired):
                failures.append(f"{name}: {row['pairs']} pairs, pandas finds {len(paired)}")
            a, b = paired[metric].to_numpy(), paired[metric + "_baseline"].to_numpy()
            for column, expected in (("difference", mean - baseline[metric].mean()),
                                     ("p_t", stats.ttest_rel(a, b).pvalue),
                                     ("p_wilcoxon", stats.wilcoxon(a, b).pvalue)):
                if not close(float(row[f"{metric}_{column}"]), expected):
                    failures.append(f"{name} {metric}_{column}: {row[f'{metric}_{column}']} vs {expected}")
    if failures:
        print("\n".join(failures))
        return 1
    print(f"hqsweep report agrees with pandas and SciPy on {len(rows)} groups")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
