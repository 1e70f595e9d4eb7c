#!/usr/bin/env python3
"""Runs scripts/plot.py on a results file and checks that every kind of figure is a non-trivial
PNG, and that bad input exits 1 naming the problem; with MANY.h5 (a sweep of 25 groups, one of
them without a backbone) also that each figure stays readable: at most 14 x 12 inches, at most 10
bars a row, a bar for every group, no "nan" in a legend, percentage axes within 100, bands only
for a few groups and a panel per group otherwise, whole epochs on the x axes.
Exit 77 (skipped) without the Python libraries.
    check_plot.py PLOT_PY RESULTS.h5 OUT_DIR [MANY.h5]"""
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


def check_layout(plot_py, many, out):
    """Figures of many groups, inspected as matplotlib objects before plot.py saves them."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(plot_py)))
    import numpy as np
    import plot
    seen = []
    original = plot.save

    def inspect(figure, out_dir, name, written):
        seen.append((name, figure.get_size_inches().copy(), [
            {"bars": [p for p in axis.patches if np.isfinite(p.get_height()) and p.get_height() > 0],
             "legend": [t.get_text() for t in axis.get_legend().get_texts()] if axis.get_legend() else [],
             "ylim": axis.get_ylim(), "ylabel": axis.get_ylabel(),
             "xticks": [t for t in axis.get_xticks()], "bands": len(axis.collections),
             "xlabel": axis.get_xlabel()} for axis in figure.axes]))
        original(figure, out_dir, name, written)

    plot.save = inspect
    if plot.main(["plot.py", many, "--out", os.path.join(out, "many")]) != 0:
        return ["plot.py failed on the many-group file"]
    failures = []
    for name, size, axes in seen:
        if size[0] > 14 or size[1] > 12:
            failures.append(f"{name}: {size[0]:.1f} x {size[1]:.1f} inches")
        for axis in axes:
            if any("nan" in text.lower() for text in axis["legend"]):
                failures.append(f"{name}: legend {axis['legend']}")
            if "%" in axis["ylabel"] and axis["ylim"][1] > 100.0001:
                failures.append(f"{name}: y axis up to {axis['ylim'][1]}")
            if axis["xlabel"] == "epoch" and any(t != int(t) for t in axis["xticks"]):
                failures.append(f"{name}: epoch ticks {axis['xticks']}")
    bars = [(name, axes) for name, _, axes in seen if name.startswith("bars-")]
    counted = sum(len(axis["bars"]) for _, axes in bars for axis in axes)
    if counted != 2 * 9 + 8:  # 2 backbones x (classical + 8 dhf) + 8 circuit-only groups
        failures.append(f"{counted} bars for 26 backbone-group pairs")
    if any(len(axis["bars"]) > 10 * 3 for _, axes in bars for axis in axes):
        failures.append("a row holds more than 10 groups")
    if not any("none" in axis["legend"] for _, axes in bars for axis in axes):
        failures.append("no 'none' backbone for the circuit-only fusion")
    overview = [axes for name, _, axes in seen if name == "curves-breastmnist.png"]
    if not overview or any(axis["bands"] for axis in overview[0]):
        failures.append("the curves overview of 25 groups has bands")
    if not any(name.startswith("curves-breastmnist-groups") for name, _, _ in seen):
        failures.append("no per-group curve panels")
    return failures


def main(plot, results, out, many=None):
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

    if many:
        failures += check_layout(plot, many, out)
    if failures:
        print("\n".join(failures))
        return 1
    print(f"plot.py wrote {len(written)} figures: {', '.join(map(os.path.basename, written))}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
