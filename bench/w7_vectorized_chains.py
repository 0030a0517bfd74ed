"""Benchmark: W7 of the shared bench (non-centered eight schools, NUTS, 4 chains x (500
warmup + 1000 samples)) with ``chain_method="vectorized"``: the four chains advance as one
batch of the single HMC/NUTS kernel. The shared W7 runs pyro-ppl's default (chains in
processes); its NumPyro twin (``../shared/bench/workloads_numpyro/w7_*``) is vectorized,
so this is the like-for-like comparison. With ``--numpyro PYTHON`` it also runs that twin
with the given interpreter, interleaved, and prints the ratio.

Prints one JSON line per run: wall time, multi-chain min bulk ESS (the shared bench's
``ess.py``, rank-normalized split bulk ESS, for every implementation) and ESS/s.

    python bench/w7_vectorized_chains.py [--reps 1] \
        [--numpyro ~/.cache/pyro-anchors/numpyro/bin/python]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import torch

import pyro
import pyro.distributions as dist
from pyro.infer import MCMC, NUTS

SHARED = os.environ.get("PYRO_SHARED_BENCH",
                        os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                     "shared", "bench"))
NUM_WARMUP, NUM_SAMPLES, NUM_CHAINS = 500, 1000, 4
Y = [28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0]
SIGMA = [15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0]


def model(sigma, y):
    mu = pyro.sample("mu", dist.Normal(0.0, 5.0))
    tau = pyro.sample("tau", dist.HalfCauchy(5.0))
    with pyro.plate("school", sigma.shape[0]):
        theta_tilde = pyro.sample("theta_tilde", dist.Normal(0.0, 1.0))
        theta = mu + tau * theta_tilde
        pyro.sample("obs", dist.Normal(theta, sigma), obs=y)


def run_ours() -> dict:
    sys.path.insert(0, SHARED)
    from ess import min_bulk_ess

    torch.set_num_threads(1)
    pyro.set_rng_seed(0)
    t0 = time.perf_counter()
    mcmc = MCMC(NUTS(model), num_samples=NUM_SAMPLES, warmup_steps=NUM_WARMUP,
                num_chains=NUM_CHAINS, chain_method="vectorized", disable_progbar=True)
    mcmc.run(torch.tensor(SIGMA), torch.tensor(Y))
    wall = time.perf_counter() - t0
    samples = {k: v.numpy() for k, v in mcmc.get_samples(group_by_chain=True).items()}
    min_ess, _ = min_bulk_ess(samples, num_chains=NUM_CHAINS)
    div = sum(len(v) for v in mcmc.diagnostics()["divergences"].values())
    return {"impl": "ours-vectorized", "wall_s": wall, "min_ess_bulk": min_ess,
            "ess_per_s": min_ess / wall, "divergences": div,
            "tau_mean": float(samples["tau"].mean())}


def run_numpyro(python: str) -> dict:
    script = os.path.join(SHARED, "workloads_numpyro", "w7_nuts_vectorized_chains.py")
    env = dict(os.environ, BENCH_THREADS="1", BENCH_IMPL="numpyro")
    out = subprocess.run([python, script], capture_output=True, text=True, env=env, check=True)
    rec = json.loads(out.stdout.strip().splitlines()[-1])
    return {"impl": "numpyro-vectorized", **{k: rec[k] for k in
                                              ("wall_s", "min_ess_bulk", "ess_per_s")},
            "divergences": rec.get("divergences"), "tau_mean": rec.get("tau_mean")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=1)
    parser.add_argument("--numpyro", help="python of a venv with numpyro (optional)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_ours()))
        return
    ours, theirs = [], []
    for _ in range(args.reps):  # interleaved: both see the same machine load
        out = subprocess.run([sys.executable, os.path.abspath(__file__), "--child"],
                             capture_output=True, text=True, check=True)
        ours.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(json.dumps(ours[-1]))
        if args.numpyro:
            theirs.append(run_numpyro(args.numpyro))
            print(json.dumps(theirs[-1]))
    if theirs:
        ratio = (statistics.median(r["ess_per_s"] for r in ours)
                 / statistics.median(r["ess_per_s"] for r in theirs))
        print(json.dumps({"ratio_ess_per_s_ours_over_numpyro": ratio}))


if __name__ == "__main__":
    main()
