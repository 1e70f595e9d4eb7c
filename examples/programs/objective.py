#!/usr/bin/env python3
"""The analytic functions of the search benchmarks, as an hqsweep program task and as a module.

As a program (docs/programs.md): `objective.py FUNCTION` reads the point from $HQSWEEP_CONFIG's
params (x0, x1, ... for branin, hartmann6 and rosenbrock10; x, n and c for mixed), reports
`objective` = f(point) + 1/epoch for each of params.epochs epochs (a curve that improves with
"training" and keeps the functions' order, for the stopping rules), each after params.epoch_seconds,
then the final value f(point). All are minimised.
As a module: SPACES and evaluate(), so that scripts/bench-samplers.py runs the same functions under
Optuna.
"""
import json
import math
import os
import sys
import time

HARTMANN_A = [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14],
              [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]]
HARTMANN_P = [[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991],
              [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]]
HARTMANN_ALPHA = [1.0, 1.2, 3.0, 3.2]

# Each function's parameters: ("float", low, high), ("int", low, high) or ("choice", [values]).
SPACES = {
    "branin": {"x0": ("float", -5, 10), "x1": ("float", 0, 15)},
    "hartmann6": {f"x{i}": ("float", 0, 1) for i in range(6)},
    "rosenbrock10": {f"x{i}": ("float", -5, 10) for i in range(10)},
    "mixed": {"x": ("float", 0, 1), "n": ("int", 0, 20), "c": ("choice", ["a", "b", "c", "d"])},
}


def evaluate(function, p):
    if function == "branin":
        x, y = p["x0"], p["x1"]
        b, c, s = 5.1 / (4 * math.pi ** 2), 5 / math.pi, 1 / (8 * math.pi)
        return (y - b * x * x + c * x - 6) ** 2 + 10 * (1 - s) * math.cos(x) + 10
    if function == "hartmann6":
        x = [p[f"x{i}"] for i in range(6)]
        return -sum(HARTMANN_ALPHA[i] * math.exp(-sum(
            HARTMANN_A[i][j] * (x[j] - HARTMANN_P[i][j] * 1e-4) ** 2 for j in range(6)))
            for i in range(4))
    if function == "rosenbrock10":
        x = [p[f"x{i}"] for i in range(10)]
        return sum(100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2 for i in range(9))
    if function == "mixed":
        return ((p["x"] - 0.3) ** 2 * 10 + (p["n"] - 7) ** 2 / 10 +
                {"a": 0.5, "b": 0.0, "c": 1.0, "d": 2.0}[p["c"]])
    raise KeyError(function)


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in SPACES:
        sys.exit(f"usage: objective.py {{{','.join(SPACES)}}} (an hqsweep program task)")
    function = sys.argv[1]
    params = json.load(open(os.environ["HQSWEEP_CONFIG"]))["params"]
    missing = [k for k in SPACES[function] if k not in params]
    if missing:
        sys.exit(f"objective.py {function}: params {', '.join(missing)} are missing")
    value = evaluate(function, params)
    epochs = int(params.get("epochs", 1))
    for epoch in range(1, epochs + 1):
        time.sleep(float(params.get("epoch_seconds", 0)))
        print("hqsweep: " + json.dumps({"epoch": epoch, "objective": value + 1 / epoch}),
              flush=True)
    print("hqsweep: " + json.dumps({"final": {"objective": value}}), flush=True)


if __name__ == "__main__":
    main()
