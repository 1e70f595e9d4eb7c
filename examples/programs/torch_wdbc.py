#!/usr/bin/env python3
"""A PyTorch MLP on WDBC (UCI breast cancer, 569 x 30), as an hqsweep program task.

The protocol of docs/programs.md, complete: it reads its config from $HQSWEEP_CONFIG (its own
settings under "params"), reports every epoch's validation values and a final report on standard
output, keeps a checkpoint in $HQSWEEP_RUN_DIR so that a run started again continues where it
stopped (re-reporting the epochs it restores), and on SIGTERM (a pruned trial, a stopped job)
ends after the current epoch with its final report.

Usage: torch_wdbc.py DATA_CSV   (sklearn's breast_cancer.csv; scripts/fetch-data.sh puts it in data/)
params: lr (1e-3), hidden (32), weight_decay (0), dropout (0), epochs (30), batch_size (32).
The split (60/20/20, stratified) is fixed; the run's seed sets the weights and the data order.
"""
import json
import math
import os
import signal
import sys

import torch

stop_requested = False


def on_sigterm(signum, frame):
    global stop_requested
    stop_requested = True


def report(values):
    print("hqsweep: " + json.dumps(values), flush=True)


def load_wdbc(path):
    with open(path) as f:
        header = f.readline().split(",")
        rows = [line.strip().split(",") for line in f if line.strip()]
    if len(rows) != int(header[0]):
        sys.exit(f"{path}: expected {header[0]} rows, found {len(rows)}")
    x = torch.tensor([[float(v) for v in r[:-1]] for r in rows])
    y = torch.tensor([int(r[-1]) for r in rows])
    return x, y


def fixed_split(y, generator):
    """Stratified 60/20/20 split, the same for every run."""
    parts = {"train": [], "val": [], "test": []}
    for label in y.unique():
        idx = (y == label).nonzero().flatten()
        idx = idx[torch.randperm(len(idx), generator=generator)]
        n_val, n_test = round(0.2 * len(idx)), round(0.2 * len(idx))
        parts["val"].append(idx[:n_val])
        parts["test"].append(idx[n_val:n_val + n_test])
        parts["train"].append(idx[n_val + n_test:])
    return {k: torch.cat(v) for k, v in parts.items()}


def auc(scores, labels):
    """ROC AUC by ranks (ties averaged)."""
    order = scores.argsort()
    ranks = torch.empty_like(scores)
    ranks[order] = torch.arange(1, len(scores) + 1, dtype=scores.dtype)
    for value in scores.unique():
        tied = scores == value
        ranks[tied] = ranks[tied].mean()
    pos = labels == 1
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def evaluate(model, x, y):
    model.eval()
    with torch.no_grad():
        logits = model(x)
        loss = torch.nn.functional.cross_entropy(logits, y).item()
        prob = logits.softmax(1)[:, 1]
        acc = (logits.argmax(1) == y).float().mean().item()
    return {"loss": loss, "acc": acc, "auc": auc(prob, y)}


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    config = json.load(open(os.environ["HQSWEEP_CONFIG"]))
    params = config.get("params", {})
    lr = float(params.get("lr", 1e-3))
    hidden = int(params.get("hidden", 32))
    weight_decay = float(params.get("weight_decay", 0.0))
    dropout = float(params.get("dropout", 0.0))
    epochs = int(params.get("epochs", 30))
    batch_size = int(params.get("batch_size", 32))
    run_dir = os.environ["HQSWEEP_RUN_DIR"]
    torch.set_num_threads(int(os.environ.get("HQSWEEP_THREADS", "1")))
    signal.signal(signal.SIGTERM, on_sigterm)

    x, y = load_wdbc(sys.argv[1])
    split = fixed_split(y, torch.Generator().manual_seed(0))
    mean, std = x[split["train"]].mean(0), x[split["train"]].std(0)
    x = (x - mean) / std
    data = {k: (x[v], y[v]) for k, v in split.items()}

    torch.manual_seed(int(os.environ["HQSWEEP_SEED"]))
    model = torch.nn.Sequential(torch.nn.Linear(30, hidden), torch.nn.ReLU(),
                                torch.nn.Dropout(dropout), torch.nn.Linear(hidden, 2))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    order = torch.Generator().manual_seed(int(os.environ["HQSWEEP_SEED"]))

    checkpoint_path = os.path.join(run_dir, "checkpoint.pt")
    history, best = [], None  # best: (val_auc, epoch, state)
    if os.path.exists(checkpoint_path):
        saved = torch.load(checkpoint_path)
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        order.set_state(saved["order"])
        history, best = saved["history"], saved["best"]
        print(f"continuing after epoch {len(history)} from {checkpoint_path}", file=sys.stderr)
        for values in history:  # the stopping rule hears the restored epochs again
            report(values)

    for epoch in range(len(history) + 1, epochs + 1):
        if stop_requested:
            break
        model.train()
        train_x, train_y = data["train"]
        permutation = torch.randperm(len(train_y), generator=order)
        for start in range(0, len(train_y), batch_size):
            batch = permutation[start:start + batch_size]
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(train_x[batch]), train_y[batch])
            loss.backward()
            optimizer.step()
        val = evaluate(model, *data["val"])
        values = {"epoch": epoch, "val_loss": val["loss"], "val_acc": val["acc"],
                  "val_auc": val["auc"]}
        history.append(values)
        if best is None or val["auc"] > best[0]:
            best = (val["auc"], epoch, {k: v.clone() for k, v in model.state_dict().items()})
        torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "order": order.get_state(), "history": history, "best": best},
                   checkpoint_path + ".tmp")
        os.replace(checkpoint_path + ".tmp", checkpoint_path)
        report(values)

    if best is None:
        sys.exit("stopped before its first epoch ended: nothing to report")
    # The model of the best validation AUC, as hqsweep's built-in runs choose theirs.
    model.load_state_dict(best[2])
    chosen = history[best[1] - 1]
    test = evaluate(model, *data["test"])
    report({"final": {"val_auc": chosen["val_auc"], "val_acc": chosen["val_acc"],
                      "val_loss": chosen["val_loss"], "best_epoch": best[1],
                      "test_acc": test["acc"], "test_auc": test["auc"],
                      "test_loss": test["loss"]}})


if __name__ == "__main__":
    main()
