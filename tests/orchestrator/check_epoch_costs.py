#!/usr/bin/env python3
"""Runs scripts/epoch_costs.py on report_fixture's file, whose hybrid epochs cost 1.25 classical
ones, and checks the table and the refusals. Exit 77 (skipped) without h5py and pandas.
    check_epoch_costs.py EPOCH_COSTS_PY RESULTS.h5"""
import os
import shutil
import subprocess
import sys

try:
    import h5py  # noqa: F401
    import pandas  # noqa: F401
except ImportError as error:
    print(f"skipped: {error} (install python3-h5py, python3-pandas)")
    sys.exit(77)


def run(*args):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True)


def main(script, results):
    failures = []
    done = run(script, results)
    if done.returncode != 0:
        print(done.stdout, done.stderr)
        return 1
    rows = {tuple(cells[:2]): cells[2:] for cells in
            ([c.strip() for c in line.strip("|").split("|")] for line in done.stdout.splitlines()
             if line.startswith("| ") and not line.startswith("| backbone"))}
    expected = {("hqcnn", "classical"): ["3", "2", "", ""],
                ("hqcnn", "dhf"): ["6", "2.5", "1.25", "20%"],
                ("resnet18", "tshf"): ["6", "30", "1.25", "20%"],
                ("resnet18", "classical"): ["3", "24", "", ""]}
    for key, cells in expected.items():
        if rows.get(key) != cells:
            failures.append(f"{key}: expected {cells}, got {rows.get(key)}\n{done.stdout}")
    for args, words in [((results, "--by", "model.backbone"), "must include model.fusion"),
                        (("missing.h5",), "missing.h5"),
                        ((results, "--by", "model.fusion,train.lr"), "no column train.lr")]:
        refused = run(script, *args)
        if refused.returncode == 0 or words not in refused.stderr:
            failures.append(f"{args}: expected a refusal naming '{words}', got "
                            f"{refused.returncode}: {refused.stderr}")
    # A file without a done run: every status rewritten to failed in a copy.
    no_done = os.path.join(os.path.dirname(os.path.abspath(results)), "epoch-fixture-failed.h5")
    shutil.copyfile(results, no_done)
    with h5py.File(no_done, "r+") as f:
        index = f["index"][()]
        index["status"] = b"failed"
        f["index"][...] = index
    refused = run(script, no_done)
    if refused.returncode == 0 or "no done run with train_seconds" not in refused.stderr:
        failures.append(f"a file without done runs: got {refused.returncode}: {refused.stderr}")
    for failure in failures:
        print("FAIL:", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
