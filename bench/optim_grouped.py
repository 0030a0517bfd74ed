"""Benchmark: PyroOptim grouped mode vs per-parameter mode on a model with many parameters.

A model with ``--params`` parameters (each a vector of ``--size`` floats in the ParamStore)
is trained for ``--steps`` steps in each mode from the same start, with the same gradients
(those of 0.5 ||p - target||^2, set directly so that only the optimizer is timed). The two
runs must end at bit-identical parameters. Prints one JSON line:
``per_param_s`` / ``grouped_s`` are seconds per step (after a warm-up step that creates the
optimizer state), ``ratio`` = per_param_s / grouped_s (how many times faster grouped is).

    python bench/optim_grouped.py [--params 1000] [--steps 100] [--optim Adam] [--foreach]
"""
import argparse
import json
import time

import torch

import pyro
import pyro.optim


def make_params(n: int, size: int):
    pyro.clear_param_store()
    gen = torch.Generator().manual_seed(0)
    params = [
        pyro.param(f"p{i}", torch.randn(size, generator=gen)).unconstrained() for i in range(n)
    ]
    targets = [torch.randn(size, generator=gen) for _ in range(n)]
    return params, targets


def run(grouped: bool, n: int, size: int, steps: int, optim_name: str, settings: dict):
    params, targets = make_params(n, size)
    optim = getattr(pyro.optim, optim_name)(settings, grouped=grouped)

    def step():
        with torch.no_grad():
            for p, t in zip(params, targets):
                p.grad = p - t
        optim(params)
        for p in params:
            p.grad = None

    step()  # warm-up: creates the optimizers and their state
    start = time.perf_counter()
    for _ in range(steps):
        step()
    elapsed = time.perf_counter() - start
    n_optimizers = len({id(o) for o in optim.optim_objs.values()})
    return elapsed / steps, torch.stack([p.detach().clone() for p in params]), n_optimizers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=int, default=1000)
    parser.add_argument("--size", type=int, default=10)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--optim", default="Adam")
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--foreach", action="store_true",
                        help="pass foreach=True to the torch optimizer (both modes)")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    settings = {"lr": args.lr, **({"foreach": True} if args.foreach else {})}

    shape = (args.params, args.size, args.steps, args.optim, settings)
    per_s, per_values, per_n = run(False, *shape)
    grp_s, grp_values, grp_n = run(True, *shape)
    if not torch.equal(per_values, grp_values):
        raise SystemExit("grouped and per-parameter modes disagree: this is a bug")
    print(json.dumps({
        "benchmark": "optim_grouped",
        "optim": args.optim,
        "settings": settings,
        "n_params": args.params,
        "param_size": args.size,
        "steps": args.steps,
        "per_param_s": round(per_s, 6),
        "grouped_s": round(grp_s, 6),
        "ratio": round(per_s / grp_s, 2),
        "optimizers_per_param_mode": per_n,
        "optimizers_grouped_mode": grp_n,
        "same_numbers": True,
        "torch": torch.__version__,
    }))


if __name__ == "__main__":
    main()
