#!/usr/bin/env python3
"""hqsweep's run_id in Python: FNV-1a 64 of the canonical config's compact, key-sorted JSON.

As a program it reads `hqsweep validate SWEEP --json` from standard input and checks every
run_id against its config: exit 0 when all match, 1 otherwise.
"""
import json
import sys


def run_id(canonical: dict) -> str:
    h = 14695981039346656037
    for b in json.dumps(canonical, sort_keys=True, separators=(",", ":")).encode():
        h = ((h ^ b) * 1099511628211) % 2**64
    return f"{h:016x}"


def main() -> int:
    runs = json.load(sys.stdin)
    bad = [r for r in runs if run_id(r["config"]) != r["run_id"]]
    for r in bad[:5]:
        print(f"run_id {r['run_id']} != {run_id(r['config'])} for {json.dumps(r['config'])}")
    print(f"{len(runs) - len(bad)} of {len(runs)} run_ids match")
    return 1 if bad or not runs else 0


if __name__ == "__main__":
    sys.exit(main())
