"""Data-parallel SVI: Bayesian logistic regression on several processes.

Run on 2 processes of this machine (gloo on CPU, nccl on GPU)::

    torchrun --nproc_per_node=2 examples/distributed_svi.py --num-steps 1000

on 2 machines of 4 processes each (run on each machine, ``--node_rank`` 0 and 1)::

    torchrun --nnodes=2 --nproc_per_node=4 --node_rank=0 \\
        --master_addr=HOST0 --master_port=29500 examples/distributed_svi.py

or as one process: ``python examples/distributed_svi.py`` (also ``pyro fit
examples/distributed_svi.py``). Every rank holds the data (here a synthetic set drawn with a
fixed seed, as the bench's logistic-regression workload) and works on its shard of each global
batch (``plate_shard``); ``DistributedOptim`` all-reduces the gradients, so every rank holds
the same parameters and a step equals one process's step on the global batch.

Reference: the weights that generated the data (``true_weights()``); the fitted posterior
mean recovers them (relative error about 0.1 with N=50000, D=50).

Options: ``--num-steps``, ``--batch-size`` (global), ``--lr``, ``--seed``, ``--size`` (N),
``--dim`` (D), ``--checkpoint FILE`` (saved by rank 0 at the end and every
``--checkpoint-every`` steps), ``--resume`` (continue from ``--checkpoint``, on any number of
ranks), ``--report FILE`` (this rank's parameters, one file per rank: FILE.rankR.pt),
``--grad-report`` (the averaged gradient of the first step goes in the report too).
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

import pyro
import pyro.distributions as dist
from pyro.optim.distributed import plate_shard

N, D = 50000, 50


def make_data(size: int = N, dim: int = D, seed: int = 1234):
    rng = np.random.default_rng(seed)
    w = rng.normal(0.0, 0.5, size=dim)
    X = rng.normal(size=(size, dim))
    p = 1.0 / (1.0 + np.exp(-(X @ w + 0.5)))
    y = (rng.uniform(size=size) < p).astype(np.float32)
    return torch.from_numpy(X.astype(np.float32)), torch.from_numpy(y), w


def true_weights(dim: int = D) -> np.ndarray:
    return make_data(N, dim)[2]


def model(X: torch.Tensor, y: torch.Tensor, batch_size: int | None = None) -> None:
    dim = X.shape[1]
    w = pyro.sample("w", dist.Normal(X.new_zeros(dim), X.new_ones(dim)).to_event(1))
    b = pyro.sample("b", dist.Normal(X.new_tensor(0.0), 1.0))
    # this rank's shard of the global batch, scaled by N / local batch
    with plate_shard("data", X.shape[0], batch_size, device=X.device) as idx:
        pyro.sample("obs", dist.Bernoulli(logits=X[idx] @ w + b), obs=y[idx])


def data() -> dict:
    X, y, _ = make_data(2000, 5)
    return {"X": X, "y": y, "batch_size": 500}


def main(argv: list[str] | None = None) -> dict:
    from pyro.checkpoint import load_checkpoint
    from pyro.infer import SVI, Trace_ELBO
    from pyro.infer.autoguide import AutoNormal
    from pyro.optim import Adam, DistributedOptim
    from pyro.optim.distributed import all_reduce_gradients, init_process_group, save_checkpoint

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--num-steps", type=int, default=1000)
    p.add_argument("--batch-size", type=int, default=1000)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--size", type=int, default=N)
    p.add_argument("--dim", type=int, default=D)
    p.add_argument("--checkpoint")
    p.add_argument("--checkpoint-every", type=int, default=0)
    p.add_argument("--resume", action="store_true")
    p.add_argument("--report")
    p.add_argument("--grad-report", action="store_true")
    args = p.parse_args(argv)
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))

    rank, world = init_process_group()
    device = torch.device(f"cuda:{torch.cuda.current_device()}") if (
        torch.distributed.is_initialized() and torch.distributed.get_backend() == "nccl"
    ) else torch.device("cpu")
    X, y, w_true = make_data(args.size, args.dim)
    X, y = X.to(device), y.to(device)
    pyro.clear_param_store()
    pyro.set_rng_seed(args.seed)  # the same seed on every rank: the same global batches
    guide = AutoNormal(model)
    optim = DistributedOptim(Adam({"lr": args.lr}))
    elbo = Trace_ELBO()
    svi = SVI(model, guide, optim, elbo)
    report: dict = {"rank": rank, "world_size": world}
    if args.grad_report:
        elbo.loss_and_grads(model, guide, X, y, args.batch_size)
        named = sorted(pyro.get_param_store().named_parameters(), key=lambda kv: kv[0])
        all_reduce_gradients([p for _, p in named])
        report["grads"] = {n: p.grad.detach().cpu().clone()
                           for n, p in named if p.grad is not None}
        pyro.clear_param_store()
        pyro.set_rng_seed(args.seed)
        guide = AutoNormal(model)
        svi = SVI(model, guide, optim, elbo)
    start = 0
    if args.resume:
        guide(X, y, args.batch_size)  # the guide's parameters exist before their state loads
        start = load_checkpoint(args.checkpoint, optim, map_location=device).step
    t0 = time.perf_counter()
    loss = float("nan")
    for step in range(start, args.num_steps):
        loss = svi.step(X, y, args.batch_size)
        if args.checkpoint and args.checkpoint_every and (step + 1) % args.checkpoint_every == 0:
            save_checkpoint(args.checkpoint, optim, step=step + 1)
    elapsed = time.perf_counter() - t0
    if args.checkpoint and not args.checkpoint_every:
        save_checkpoint(args.checkpoint, optim, step=args.num_steps)
    steps = args.num_steps - start
    report.update({
        "params": {k: v.detach().cpu().clone() for k, v in pyro.get_param_store().items()},
        "loss": loss,
        "steps_per_s": steps / elapsed if elapsed > 0 else float("nan"),
        "points_per_s": steps * args.batch_size / elapsed if elapsed > 0 else float("nan"),
    })
    if args.report:
        torch.save(report, f"{args.report}.rank{rank}.pt")
    if rank == 0:
        loc = pyro.param("AutoNormal.locs.w").detach().cpu().numpy()
        err = np.linalg.norm(loc - w_true) / np.linalg.norm(w_true)
        print(f"{world} rank(s): {report['steps_per_s']:.1f} steps/s, "
              f"{report['points_per_s']:.0f} data points/s, final loss {loss:.1f}, "
              f"weight relative error {err:.3f}")
    if torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
    return report


if __name__ == "__main__":
    main()
