"""JIT variants of the shared W1 (svi_tiny) and W5 (enum_gmm) workloads.

Runs the unmodified workload file of ``../shared/bench/workloads`` with its ELBO
replaced by the compiled twin (``Trace_ELBO`` -> ``JitTrace_ELBO``, ``TraceEnum_ELBO`` ->
``JitTraceEnum_ELBO``, both with ``ignore_jit_warnings=True``), so that the data, seeds,
sizes and step counts are the workload's own. Tracing happens in the workload's warm-up
steps, so ``steps_per_s`` is the compiled steady state; ``wall_s`` includes the tracing.

Usage (from the repository root)::

    .venv/bin/python bench/jit_elbos.py [--only w1,w5] [--reps 3] \
        [--eager] [--anchor ~/.cache/pyro-anchors/pyro-ppl/bin/python]

``--anchor PY`` runs the same JIT variant in another Python (e.g. pyro-ppl's venv),
repetitions interleaved so that both see the same machine load; ``--eager`` adds the eager
workload of each side. Prints one JSON line per run, a median table, and the ratios (of the
medians, and of each rep's interleaved runs).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

WORKLOADS = Path(__file__).resolve().parents[1] / ".." / "shared" / "bench" / "workloads"
FILES = {"w1": "w1_svi_tiny.py", "w5": "w5_enum_gmm.py"}
# the eager ELBO of each workload and its compiled twin
SWAPS = {"w1": ("Trace_ELBO", "JitTrace_ELBO"), "w5": ("TraceEnum_ELBO", "JitTraceEnum_ELBO")}

# Run in the child: replace the ELBO class in pyro.infer before the workload imports it.
_CHILD = """
import functools, runpy, sys
import pyro.infer
eager, jit, path = sys.argv[1:4]
if jit != "-":
    setattr(pyro.infer, eager, functools.partial(getattr(pyro.infer, jit),
                                                 ignore_jit_warnings=True))
runpy.run_path(path, run_name="__main__")
"""


def run_one(python: str, workload: str, jit: bool) -> dict:
    eager, compiled = SWAPS[workload]
    path = str((WORKLOADS / FILES[workload]).resolve())
    env = {**os.environ, "BENCH_THREADS": os.environ.get("BENCH_THREADS", "1")}
    out = subprocess.run(
        [python, "-c", _CHILD, eager, compiled if jit else "-", path],
        capture_output=True, text=True, env=env, check=True,
    ).stdout
    record = json.loads(out.strip().splitlines()[-1])
    record["mode"] = "jit" if jit else "eager"
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default="w1,w5")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--eager", action="store_true", help="also run the eager workloads")
    parser.add_argument("--anchor", help="python of a reference venv (e.g. pyro-ppl's)")
    args = parser.parse_args()
    impls = [("ours", sys.executable)] + ([("anchor", args.anchor)] if args.anchor else [])
    modes = [True, False] if args.eager else [True]
    results: dict = {}
    for _ in range(args.reps):
        for workload in args.only.split(","):
            for name, python in impls:
                for jit in modes:
                    record = run_one(python, workload, jit)
                    print(json.dumps({**record, "impl": name}), flush=True)
                    key = (workload, name, record["mode"])
                    results.setdefault(key, []).append(record)
    print(f"\n{'workload':9s} {'impl':7s} {'mode':6s} {'steps/s':>9s} {'final_loss':>12s}")
    medians = {}
    for (workload, name, mode), records in sorted(results.items()):
        rate = statistics.median(r["steps_per_s"] for r in records)
        medians[(workload, name, mode)] = rate
        loss = statistics.median(r["final_loss"] for r in records)
        print(f"{workload:9s} {name:7s} {mode:6s} {rate:9.1f} {loss:12.4f}")
    if args.anchor:
        print()
        for workload in args.only.split(","):
            ours = medians[(workload, "ours", "jit")]
            for mode in ("jit", "eager"):
                anchor = medians.get((workload, "anchor", mode))
                if anchor:
                    # each rep's own ratio (its runs were interleaved): the spread
                    reps = [o["steps_per_s"] / a["steps_per_s"] for o, a in zip(
                        results[(workload, "ours", "jit")], results[(workload, "anchor", mode)])]
                    spread = " / ".join(f"{r:.2f}" for r in reps)
                    print(f"{workload}: ours jit / anchor {mode} = {ours / anchor:.2f}x "
                          f"(per rep {spread})")


if __name__ == "__main__":
    main()
