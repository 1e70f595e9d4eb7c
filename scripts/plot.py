#!/usr/bin/env python3
"""Figures from hqsweep results files (PNG, one file per figure and dataset).

    python3 scripts/plot.py RESULTS.h5 [MORE.h5 ...] --out DIR [--kind all|curves|bars|qubits|roc]
                            [--metric test_acc]

  curves  mean learning curves per group (loss, validation accuracy), band = std over seeds
  bars    a metric per group (fusion, qubits, ...), one bar per backbone, error bars = std
          over seeds
  qubits  a metric against the qubit count, one line per backbone and fusion; the classical
          control as a dashed line
  roc     ROC curves from the stored test probabilities, one per group (binary: the positive
          class; several classes: micro-average one-vs-rest), seeds pooled

Groups are the config keys that vary except the seed, as in `hqsweep report`. Several files
(shards) are read as one. Needs Debian's python3-h5py, python3-pandas and python3-matplotlib
(scripts/install-deps.sh installs them); use /usr/bin/python3 if another Python comes first.
Exit codes: 0 figures written, 1 bad input (message names the file), 2 usage.
"""
import argparse
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import load_results  # noqa: E402

KINDS = ("curves", "bars", "qubits", "roc")
FRACTIONS = ("acc", "balanced_acc", "precision", "recall", "f1", "auc")


class BadInput(Exception):
    pass


def flatten(config, prefix=""):
    flat = {}
    for key, value in config.items():
        if isinstance(value, dict):
            flat.update(flatten(value, prefix + key + "."))
        else:
            flat[prefix + key] = json.dumps(value) if isinstance(value, list) else value
    return flat


def load_runs(paths):
    """Done runs of every file, one row per run_id, with flattened config columns and `file`."""
    frames = []
    for path in paths:
        if not os.path.exists(path):
            raise BadInput(f"{path}: no such results file")
        try:
            index = load_results.load_index(path)
        except (OSError, KeyError) as error:
            raise BadInput(f"{path}: not an hqsweep results file ({error})")
        index["file"] = path
        frames.append(index)
    runs = pd.concat(frames, ignore_index=True)
    runs = runs[runs.status == "done"].drop_duplicates("run_id")
    if runs.empty:
        raise BadInput(f"{', '.join(paths)}: no done runs to plot")
    configs = pd.DataFrame([flatten(json.loads(text)) for text in runs.config], index=runs.index)
    metric_columns = [c for c in runs.columns if c.startswith(("val_", "test_"))]
    return pd.concat([runs[["run_id", "file", "duration_s"] + metric_columns], configs], axis=1)


def varying_keys(runs):
    config_keys = [c for c in runs.columns if "." in c or c == "seed"]
    keys = [k for k in config_keys if runs[k].dropna().astype(str).nunique() > 1]
    return [k for k in keys if k != "seed"]


def label_of(row, keys):
    parts = []
    for key in keys:
        value = row[key]
        if pd.isna(value):
            continue
        if isinstance(value, float) and value.is_integer():  # pandas makes 4 -> 4.0 next to NaN
            value = int(value)
        short = key.split(".")[-1] if not key.endswith(".name") else key.split(".")[0]
        parts.append(f"{value}" if short in ("fusion", "backbone", "dataset") else f"{short}={value}")
    return " ".join(parts) or "all runs"


def groups(runs, keys):
    """(label, frame) per group of runs with the same values of keys, in first-seen order."""
    if not keys:
        return [("all runs", runs)]
    filled = runs[keys].astype(str)
    out = []
    by = [filled[k] for k in keys]
    for _, frame in runs.groupby(by if len(by) > 1 else by[0], sort=False):
        out.append((label_of(frame.iloc[0], keys), frame))
    return out


def per_dataset(runs):
    if "dataset.name" not in runs:
        return [("results", runs)]
    return [(name, frame) for name, frame in runs.groupby("dataset.name", sort=False)]


def is_fraction(metric):
    name = metric.split("_", 1)[1] if metric.startswith(("val_", "test_")) else metric
    return name.removesuffix("_tuned") in FRACTIONS


def axis_label(metric):
    split = "test" if metric.startswith("test_") else "validation" if metric.startswith("val_") else ""
    name = metric.split("_", 1)[1] if split else metric
    words = {"acc": "accuracy", "balanced_acc": "balanced accuracy", "f1": "F1", "auc": "ROC AUC"}
    text = f"{split} {words.get(name, name)}".strip()
    return text + (" (%)" if is_fraction(metric) else "")


def scale(metric):
    return 100.0 if is_fraction(metric) else 1.0


def save(figure, out_dir, name, written):
    path = os.path.join(out_dir, name)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    written.append(path)


def plot_curves(runs, keys, out_dir, written):
    for dataset, frame in per_dataset(runs):
        inner = [k for k in keys if k != "dataset.name"]
        figure, (loss_axis, acc_axis) = plt.subplots(1, 2, figsize=(12, 4.5))
        drawn = 0
        for index, (label, group) in enumerate(groups(frame, inner)):
            curves = [load_results.load_curves(row.file, row.run_id) for row in group.itertuples()]
            curves = [c for c in curves if not c.empty]
            if not curves:
                continue
            color = f"C{index % 10}"
            for axis, name, style in ((loss_axis, "train_loss", "--"), (loss_axis, "val_loss", "-"),
                                      (acc_axis, "val_acc", "-")):
                series = [c[name].to_numpy() for c in curves if name in c]
                if not series:
                    continue
                length = min(len(s) for s in series)  # early stopping ends runs at different epochs
                values = np.array([s[:length] for s in series]) * (100 if name.endswith("acc") else 1)
                epochs = np.arange(1, length + 1)
                mean = values.mean(axis=0)
                axis.plot(epochs, mean, style, color=color,
                          label=label if name != "train_loss" else None)
                if len(series) > 1:
                    std = values.std(axis=0, ddof=1)
                    axis.fill_between(epochs, mean - std, mean + std, color=color, alpha=0.15)
            drawn += 1
        if drawn == 0:
            plt.close(figure)
            continue
        loss_axis.set(title=f"{dataset}: loss (dashed train, solid validation)", xlabel="epoch",
                      ylabel="cross-entropy loss")
        acc_axis.set(title=f"{dataset}: validation accuracy", xlabel="epoch",
                     ylabel="validation accuracy (%)")
        acc_axis.legend(fontsize="small", loc="lower right")
        for axis in (loss_axis, acc_axis):
            axis.grid(alpha=0.3)
        save(figure, out_dir, f"curves-{dataset}.png", written)


def plot_bars(runs, keys, metric, out_dir, written):
    """x: the groups apart from dataset and backbone (fusion, qubits, ...); one bar per backbone."""
    factor = scale(metric)
    for dataset, frame in per_dataset(runs):
        backbone_key = "model.backbone" if "model.backbone" in keys else None
        inner = [k for k in keys if k not in ("dataset.name", "model.backbone")]
        categories = [label for label, _ in groups(frame, inner)]
        backbones = list(dict.fromkeys(frame[backbone_key])) if backbone_key else [None]
        figure, axis = plt.subplots(figsize=(max(6, 0.9 * len(categories) * len(backbones) + 2), 4.8))
        width = 0.8 / len(backbones)
        for b, backbone in enumerate(backbones):
            chosen = frame if backbone is None else frame[frame[backbone_key] == backbone]
            found = {label: group[metric].dropna() * factor for label, group in groups(chosen, inner)}
            means = [found[c].mean() if c in found and len(found[c]) else np.nan for c in categories]
            stds = [found[c].std(ddof=1) if c in found and len(found[c]) > 1 else 0 for c in categories]
            positions = np.arange(len(categories)) + (b - (len(backbones) - 1) / 2) * width
            axis.bar(positions, means, width, yerr=stds, capsize=3, label=backbone)
        axis.set_xticks(np.arange(len(categories)), [c.replace(" ", "\n") for c in categories])
        if factor > 1:
            axis.set_ylim(max(0, np.nanmin(frame[metric]) * factor - 10), None)
        axis.set(title=f"{dataset}: {axis_label(metric)}\nmean ± std over seeds",
                 xlabel=" / ".join(k.split(".")[-1] for k in inner) or None, ylabel=axis_label(metric))
        if backbone_key:
            axis.legend(title="backbone", fontsize="small")
        axis.grid(axis="y", alpha=0.3)
        save(figure, out_dir, f"bars-{metric}-{dataset}.png", written)


def plot_qubits(runs, keys, metric, out_dir, written):
    if "quantum.qubits" not in runs or runs["quantum.qubits"].dropna().nunique() < 2:
        print("qubits: skipped, the qubit count does not vary in these runs", file=sys.stderr)
        return
    factor = scale(metric)
    for dataset, frame in per_dataset(runs):
        hybrid = frame[frame["quantum.qubits"].notna()]
        inner = [k for k in keys if k not in ("dataset.name", "quantum.qubits")]
        figure, axis = plt.subplots(figsize=(7, 4.5))
        for label, group in groups(hybrid, inner):
            stats = group.groupby("quantum.qubits")[metric].agg(["mean", "std"]).sort_index()
            axis.errorbar(stats.index, stats["mean"] * factor, yerr=stats["std"].fillna(0) * factor,
                          marker="o", capsize=3, label=label)
        # The classical control (no circuit, so no qubit count): a dashed line, mean over seeds.
        control = frame[(frame["quantum.qubits"].isna()) & (frame["model.fusion"] == "classical")]
        control_keys = [k for k in inner
                        if k != "model.fusion" and k in control and control[k].notna().any()]
        for label, group in groups(control, control_keys):
            axis.axhline(group[metric].mean() * factor, linestyle="--", color="grey",
                         label=f"{label} (classical control)" if control_keys else
                         "classical control")
        qubit_counts = sorted(hybrid["quantum.qubits"].dropna().unique())
        axis.set_xticks(qubit_counts, [str(int(q)) for q in qubit_counts])
        axis.set(title=f"{dataset}: {axis_label(metric)} against qubits\nmean ± std over seeds",
                 xlabel="qubits", ylabel=axis_label(metric))
        axis.legend(fontsize="small")
        axis.grid(alpha=0.3)
        save(figure, out_dir, f"qubits-{metric}-{dataset}.png", written)


def roc_points(scores, positives):
    """False and true positive rates at every threshold (ties handled as one step)."""
    order = np.argsort(-scores, kind="mergesort")
    scores, positives = scores[order], positives[order]
    distinct = np.r_[np.nonzero(np.diff(scores))[0], len(scores) - 1]
    true_positives = np.cumsum(positives)[distinct]
    false_positives = (distinct + 1) - true_positives
    tpr = np.r_[0, true_positives / max(1, positives.sum())]
    fpr = np.r_[0, false_positives / max(1, (1 - positives).sum())]
    return fpr, tpr


def plot_roc(runs, keys, out_dir, written):
    for dataset, frame in per_dataset(runs):
        inner = [k for k in keys if k != "dataset.name"]
        figure, axis = plt.subplots(figsize=(6.5, 6))
        drawn = 0
        for label, group in groups(frame, inner):
            scores, positives = [], []
            for row in group.itertuples():
                try:
                    probabilities, labels = load_results.load_test_predictions(row.file, row.run_id)
                except KeyError:
                    continue
                probabilities = np.asarray(probabilities, dtype=float)
                if probabilities.ndim != 2 or len(labels) == 0:
                    continue
                if probabilities.shape[1] == 2:
                    scores.append(probabilities[:, 1])
                    positives.append(np.asarray(labels) == 1)
                else:  # micro-average: every (sample, class) pair is one binary decision
                    scores.append(probabilities.reshape(-1))
                    positives.append((np.arange(probabilities.shape[1]) == np.asarray(labels)[:, None]).reshape(-1))
            if not scores:
                continue
            fpr, tpr = roc_points(np.concatenate(scores), np.concatenate(positives).astype(float))
            area = np.trapz(tpr, fpr)
            axis.plot(fpr, tpr, label=f"{label} (AUC {area:.3f}, {len(scores)} seeds)")
            drawn += 1
        if drawn == 0:
            plt.close(figure)
            print(f"roc: skipped {dataset}, no stored test probabilities", file=sys.stderr)
            continue
        axis.plot([0, 1], [0, 1], ":", color="grey", label="chance")
        axis.set(title=f"{dataset}: ROC on the test set (seeds pooled)",
                 xlabel="false positive rate", ylabel="true positive rate", xlim=(0, 1), ylim=(0, 1.01))
        axis.legend(fontsize="x-small", loc="lower right")
        axis.grid(alpha=0.3)
        save(figure, out_dir, f"roc-{dataset}.png", written)


def main(argv):
    parser = argparse.ArgumentParser(description="Figures from hqsweep results files.")
    parser.add_argument("results", nargs="+", help="results files (HDF5); shards are read as one")
    parser.add_argument("--out", required=True, help="directory for the PNG files (created)")
    parser.add_argument("--kind", default="all", choices=("all",) + KINDS)
    parser.add_argument("--metric", default="test_acc",
                        help="metric of bars and qubits, e.g. test_acc, test_auc, test_f1")
    args = parser.parse_args(argv[1:])
    try:
        runs = load_runs(args.results)
        if args.metric not in runs:
            available = ", ".join(c for c in runs.columns if c.startswith(("val_", "test_")))
            raise BadInput(f"--metric: no column '{args.metric}' in the index (available: {available})")
        keys = varying_keys(runs)
        os.makedirs(args.out, exist_ok=True)
        written = []
        kinds = KINDS if args.kind == "all" else (args.kind,)
        if "curves" in kinds:
            plot_curves(runs, keys, args.out, written)
        if "bars" in kinds:
            plot_bars(runs, keys, args.metric, args.out, written)
        if "qubits" in kinds:
            plot_qubits(runs, keys, args.metric, args.out, written)
        if "roc" in kinds:
            plot_roc(runs, keys, args.out, written)
    except BadInput as error:
        print(f"plot.py: error: {error}", file=sys.stderr)
        return 1
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
