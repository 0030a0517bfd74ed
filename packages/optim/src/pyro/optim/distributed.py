"""Data-parallel SVI on :mod:`torch.distributed`.

Every rank (process) runs the model and the guide on its own shard of the global batch
(:func:`shard_indices` / :func:`plate_shard`), whose plate scales the log likelihood by
``size / local_batch``, so each rank's loss is an unbiased estimate of the whole ELBO.
:class:`DistributedOptim` averages the gradients over the ranks with one all-reduce before
the wrapped optimizer steps, so the update is the one a single process would make on the
global batch, and every rank holds the same parameters after every step.

Launch with ``torchrun`` (it sets ``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``,
``MASTER_PORT``)::

    torchrun --nproc_per_node=2 examples/distributed_svi.py

and in the script::

    init_process_group()                   # gloo on CPU, nccl when CUDA is available
    pyro.set_rng_seed(0)                   # the same seed on every rank (see below)
    optim = DistributedOptim(pyro.optim.Adam({"lr": 0.01}))
    svi = SVI(model, guide, optim, Trace_ELBO())

with the model's data plate written as ``with plate_shard("data", N, subsample_size=B):``.

**Seeds.** With the same seed on every rank, all ranks draw the same global batch and the
same guide samples, and a step on ``W`` ranks equals, to float rounding, a step of one
process on the whole global batch (tested). Parameters first seen by the optimizer are
broadcast from rank 0 before they are stepped, so ranks agree even when seeded apart.

**Checkpoints.** :func:`save_checkpoint` writes from rank 0 only (the ranks are identical)
and waits for it on every rank; :func:`pyro.checkpoint.load_checkpoint` on every rank
resumes on any number of ranks, since the state is keyed by parameter name.
"""
from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

import torch
import torch.distributed as dist

import pyro
import pyro.checkpoint

from .optim import PyroOptim

__all__ = [
    "DistributedOptim",
    "all_reduce_gradients",
    "init_process_group",
    "plate_shard",
    "save_checkpoint",
    "shard_indices",
]


def _rank_and_size(group: Any = None) -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(group), dist.get_world_size(group)
    return 0, 1


def init_process_group(backend: str | None = None, **kwargs: Any) -> tuple[int, int]:
    """Join the process group that ``torchrun`` (or the ``RANK`` / ``WORLD_SIZE`` /
    ``MASTER_ADDR`` / ``MASTER_PORT`` environment) describes, if not joined yet.

    :param backend: ``"nccl"`` when CUDA is available, else ``"gloo"`` (the default).
    :param kwargs: passed to :func:`torch.distributed.init_process_group`.
    :returns: ``(rank, world_size)``; ``(0, 1)`` when no ``WORLD_SIZE`` is set (one
        process, no group is made).
    :raises RuntimeError: if torch was built without distributed support.
    """
    if not dist.is_available():
        raise RuntimeError("this torch build has no torch.distributed; install a torch with it")
    if dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    if "WORLD_SIZE" not in os.environ:
        return 0, 1
    if backend is None:
        backend = "nccl" if torch.cuda.is_available() else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend=backend, **kwargs)
    return dist.get_rank(), dist.get_world_size()


def shard_indices(size: int, subsample_size: int | None = None, *, rank: int | None = None,
                  world_size: int | None = None, device: torch.device | None = None
                  ) -> torch.Tensor:
    """This rank's shard of a global batch of ``size`` data points.

    The global batch is ``subsample_size`` indices drawn without replacement with torch's
    global generator (every rank, seeded alike, draws the same batch), or all ``size``
    indices when ``subsample_size`` is ``None``; rank ``r`` of ``W`` gets its ``r``-th of
    ``W`` contiguous near-equal chunks (``torch.tensor_split``). When ``W`` divides the
    global batch, the ranks' averaged gradients equal the global batch's exactly;
    otherwise the estimate is still unbiased.

    :returns: a LongTensor of shape ``(local_batch,)`` on ``device``.
    :raises ValueError: if ``subsample_size`` is not in ``1..size`` or the global batch is
        smaller than the number of ranks.
    """
    default_rank, default_size = _rank_and_size()
    rank = default_rank if rank is None else rank
    world_size = default_size if world_size is None else world_size
    if not 0 <= rank < world_size:
        raise ValueError(f"shard_indices: rank {rank} is not in 0..{world_size - 1}")
    if subsample_size is None:
        batch = torch.arange(size)
    else:
        if not 1 <= subsample_size <= size:
            raise ValueError(f"shard_indices: subsample_size={subsample_size} must be in "
                             f"1..size={size}")
        batch = torch.randperm(size)[:subsample_size]
    if batch.numel() < world_size:
        raise ValueError(f"shard_indices: a global batch of {batch.numel()} cannot be split "
                         f"over {world_size} ranks; use a batch of at least {world_size}")
    return torch.tensor_split(batch, world_size)[rank].to(device)


def plate_shard(name: str, size: int, subsample_size: int | None = None, dim: int | None = None,
                *, rank: int | None = None, world_size: int | None = None,
                device: torch.device | None = None) -> pyro.plate:
    """A :class:`pyro.plate` over this rank's shard (:func:`shard_indices`) of a global
    batch of ``subsample_size`` (default: all ``size``) data points. The plate scales the
    log densities inside it by ``size / local_batch``, so each rank's ELBO is an unbiased
    estimate of the whole ELBO. Use it as ``with plate_shard("data", N, B) as idx:``.
    """
    idx = shard_indices(size, subsample_size, rank=rank, world_size=world_size, device=device)
    return pyro.plate(name, size, subsample=idx, dim=dim)


def all_reduce_gradients(params: Iterable[torch.Tensor], group: Any = None) -> None:
    """Average the ``.grad`` of ``params`` over the ranks of ``group`` in place, with one
    all-reduce of one flat buffer. A parameter without a gradient on a rank counts zero
    there; it gets a gradient wherever any rank has one (so all ranks step the same
    parameters). Every rank must pass the same parameters, in the same order, with the
    same shapes. Does nothing on one process.
    """
    rank, world = _rank_and_size(group)
    params = list(params)
    if world == 1 or not params:
        return
    ref = params[0]
    pieces = []
    for p in params:
        g = p.grad
        pieces.append((g if g is not None else torch.zeros_like(p)).reshape(-1).to(ref.dtype))
    # one "has a gradient" flag per parameter travels in the same buffer
    flags = torch.tensor([p.grad is not None for p in params], dtype=ref.dtype,
                         device=ref.device)
    flat = torch.cat(pieces + [flags])
    dist.all_reduce(flat, op=dist.ReduceOp.SUM, group=group)
    flat /= world
    offset = 0
    counts = flat[-len(params):]
    for p, has_grad in zip(params, counts.tolist()):
        n = p.numel()
        if has_grad > 0:
            g = flat[offset:offset + n].view_as(p).to(p.dtype)
            if p.grad is None:
                p.grad = g.clone()
            else:
                p.grad.copy_(g)
        offset += n


class DistributedOptim:
    """Wrap any :class:`~pyro.optim.PyroOptim` (or optimizer callable like one) for
    data-parallel SVI: each call averages the gradients over the ranks
    (:func:`all_reduce_gradients`), then steps the wrapped optimizer. Parameters seen for
    the first time are broadcast from rank 0 first, so all ranks start alike.

    Works with any backend (gloo on CPU, nccl on GPU); on one process it is the wrapped
    optimizer. ``get_state`` / ``set_state`` / ``save`` / ``load`` are the wrapped
    optimizer's, so :mod:`pyro.checkpoint` saves and restores it.

    :param pyro_optim: the optimizer to wrap.
    :param group: the process group (default: the whole world).
    :raises TypeError: if ``pyro_optim`` is not callable.
    """

    def __init__(self, pyro_optim: PyroOptim, group: Any = None) -> None:
        if not callable(pyro_optim):
            raise TypeError(f"DistributedOptim wraps a pyro.optim optimizer such as "
                            f"pyro.optim.Adam({{'lr': 0.01}}), got {type(pyro_optim).__name__}")
        self.pyro_optim = pyro_optim
        self.group = group
        self._seen: set[torch.Tensor] = set()

    def __call__(self, params: Iterable[torch.Tensor], *args: Any, **kwargs: Any) -> None:
        params = list(params)
        _, world = _rank_and_size(self.group)
        if world > 1:
            new = [p for p in params if p not in self._seen]
            if new:
                src = dist.get_global_rank(self.group, 0) if self.group is not None else 0
                with torch.no_grad():
                    for p in new:
                        dist.broadcast(p.data, src=src, group=self.group)
                self._seen.update(new)
            all_reduce_gradients(params, self.group)
        self.pyro_optim(params, *args, **kwargs)

    def get_state(self) -> dict:
        return self.pyro_optim.get_state()

    def set_state(self, state_dict: dict, **kwargs: Any) -> None:
        self.pyro_optim.set_state(state_dict, **kwargs)

    def save(self, filename: str) -> None:
        """Save the optimizer state, from rank 0 only (see :func:`save_checkpoint`)."""
        rank, world = _rank_and_size(self.group)
        if rank == 0:
            self.pyro_optim.save(filename)
        if world > 1:
            dist.barrier(self.group)

    def load(self, filename: str, *args: Any, **kwargs: Any) -> None:
        self.pyro_optim.load(filename, *args, **kwargs)

    def __repr__(self) -> str:
        rank, world = _rank_and_size(self.group)
        return f"DistributedOptim({self.pyro_optim!r}, rank={rank}, world_size={world})"


def save_checkpoint(filename: str | os.PathLike, optim: Any = None, *, step: int = 0,
                    extra: dict | None = None, group: Any = None) -> None:
    """:func:`pyro.checkpoint.save_checkpoint` from rank 0 only; every rank waits until
    the file is written (a barrier), so a rank may read it right after. Resume with
    :func:`pyro.checkpoint.load_checkpoint` on every rank, on any number of ranks.
    """
    rank, world = _rank_and_size(group)
    if rank == 0:
        pyro.checkpoint.save_checkpoint(filename, optim, step=step, extra=extra)
    if world > 1:
        dist.barrier(group)
