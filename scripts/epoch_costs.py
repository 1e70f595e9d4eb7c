#!/usr/bin/env python3
"""Training seconds per epoch of the done runs of hqsweep results files, per group, next to the
matched classical control: what the quantum branch adds to training on real sweeps.

    python3 scripts/epoch_costs.py RESULTS.h5 [MORE.h5 ...] [--by model.backbone,model.fusion]

Per group: runs, the median of train_seconds / epochs_run, and for hybrid groups the ratio to the
classical group that agrees on every other --by key and the share of a hybrid epoch beyond the
classical one, (hybrid - classical) / hybrid. Prints a Markdown table. SHF heads train on cached
features, so their epochs are not comparable and they are left out (their extraction is a
classical training). Needs python3-h5py and python3-pandas.
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load_results import load_index, load_metrics  # noqa: E402


def text(value):
    """A key's value as the config writes it: 4, not the 4.0 pandas makes next to NaN."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "-" if value != value else str(value)  # NaN: the key does not apply


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", nargs="+")
    parser.add_argument("--by", default="model.backbone,model.fusion")
    args = parser.parse_args(argv)
    keys = args.by.split(",")
    if "model.fusion" not in keys:
        sys.exit("epoch_costs.py: --by must include model.fusion (the classical control is found by it)")

    rows = []
    for path in args.results:
        try:
            runs = load_index(path)
        except (OSError, KeyError) as error:
            sys.exit(f"epoch_costs.py: {path}: not a readable hqsweep results file ({error})")
        missing = [k for k in keys if k not in runs]
        if missing:
            sys.exit(f"epoch_costs.py: {path}: no column {', '.join(missing)} "
                     "(a key that does not vary in the file is not a column)")
        for _, run in runs[(runs.status == "done") & (runs["model.fusion"] != "shf")].iterrows():
            metrics = load_metrics(path, run.run_id)
            epochs = metrics.get("epochs_run", 0)
            if epochs > 0:
                rows.append({**{k: text(run[k]) for k in keys},
                             "seconds_per_epoch": metrics["train_seconds"] / epochs})
    if not rows:
        sys.exit("epoch_costs.py: no done run with train_seconds and epochs_run")

    import pandas as pd  # after the argument checks: pandas is slow to import
    frame = pd.DataFrame(rows)
    table = frame.groupby(keys, sort=False).seconds_per_epoch.agg(["count", "median"]).reset_index()
    other = [k for k in keys if k != "model.fusion"]
    print("| " + " | ".join(k.split(".")[-1] for k in keys) +
          " | runs | s per epoch (median) | x classical | beyond classical |")
    print("|" + "---|" * (len(keys) + 4))
    for _, row in table.iterrows():
        control = table[(table["model.fusion"] == "classical")]
        for k in other:
            control = control[control[k] == row[k]]
        ratio, share = "", ""
        if row["model.fusion"] != "classical" and len(control) == 1:
            base = control["median"].iloc[0]
            ratio = f"{row['median'] / base:.2f}"
            share = f"{(row['median'] - base) / row['median'] * 100:.0f}%"
        cells = [row[k] for k in keys] + [str(row["count"]), f"{row['median']:.3g}", ratio, share]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
