#!/usr/bin/env python3
"""Runs scripts/plot.py on a results file and checks that every kind of figure is a non-trivial
PNG, and that bad input exits 1 naming the problem. Exit 77 (skipped) without the Python libraries.
    check_plot.py PLOT_PY RESULTS.h5 OUT_DIR"""
import os
import shutil
import subprocess
import sys

try:
    import h5py  # noqa: F401
    import matplotlib  # noqa: F401
    import pandas  # noqa: F401
except ImportError as error:
    print(f"skipped: {error} (install python3-h5py, python3-pandas, python3-matplotlib)")
    sys.exit(77)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def run(*args):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True)


def main(plot, results, out):
    shutil.rmtree(out, ignore_errors=True)
    failures = []
    done = run(plot, results, "--out", out)
    if done.returncode != 0:
        print(done.stdout, done.stderr)
        return 1
    written = done.stdout.split()
    for kind in ("curves", "bars", "qubits", "roc"):
        if not any(os.path.basename(path).startswith(kind + "-") for path in written):
            failures.append(f"no {kind} figure among {written}")
    for path in written:
        with open(path, "rb") as f:
            data = f.read()
        if not data.startswith(PNG_SIGNATURE) or len(data) < 10_000:
            failures.append(f"{path}: not a PNG of real content ({len(data)} bytes)")

    auc = run(plot, results, "--out", out, "--kind", "bars", "--metric", "test_auc")
    if auc.returncode != 0 or "bars-test_auc-" not in auc.stdout:
        failures.append(f"--kind bars --metric test_auc: {auc.returncode} {auc.stdout} {auc.stderr}")
    missing = run(plot, results + ".absent", "--out", out)
    if missing.returncode != 1 or "no such results file" not in missing.stderr:
        failures.append(f"absent file: exit {missing.returncode}, {missing.stderr!r}")
    metric = run(plot, results, "--out", out, "--metric", "test_nonsense")
    if metric.returncode != 1 or "no column 'test_nonsense'" not in metric.stderr:
        failures.append(f"unknown metric: exit {metric.returncode}, {metric.stderr!r}")
    not_results = os.path.join(out, "not-results.h5")
    with open(not_results, "w") as f:
        f.write("hello")
    text = run(plot, not_results, "--out", out)
    if text.returncode != 1 or "not an hqsweep results file" not in text.stderr:
        failures.append(f"text file: exit {text.returncode}, {text.stderr!r}")

    if failures:
        print("\n".join(failures))
        return 1
    print(f"plot.py wrote {len(written)} figures: {', '.join(map(os.path.basename, written))}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
