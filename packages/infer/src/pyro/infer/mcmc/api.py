"""The MCMC driver: runs a kernel (HMC, NUTS, ...) for one or several chains, collects
the draws, and reports them in constrained space with diagnostics and a summary table."""
from __future__ import annotations

import contextlib
import copy
import logging
import multiprocessing
import pickle
import traceback
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

import pyro.plugins
import pyro.poutine as poutine
from pyro.ops.streaming import CountMeanVarianceStats, StatsOfDict
from pyro.util import set_rng_seed, validation_enabled

from .batched_potential import vectorize_potential
from .hmc import HMC
from .logger import MCMCLoggingHandler, ProgressBar, TqdmHandler
from .mcmc_kernel import MCMCKernel
from .progress import make_progress_bar, set_description, set_postfix
from .util import (
    collect_deterministic,
    diagnostics_from_stats,
    format_stats_summary,
    print_summary,
)
from .util import diagnostics as site_diagnostics

__all__ = ["AbstractMCMC", "MCMC", "StreamingMCMC", "logger_thread"]

CHAIN_METHODS = ("sequential", "parallel", "vectorized")


def _slice_chain(initial_params: dict | None, chain: int, num_chains: int) -> dict | None:
    if initial_params is None:
        return None
    if num_chains == 1:
        return initial_params
    out = {}
    for name, value in initial_params.items():
        value = torch.as_tensor(value)
        if value.dim() == 0 or value.size(0) != num_chains:
            raise ValueError(
                f"initial_params[{name!r}] has shape {tuple(value.shape)}; with num_chains="
                f"{num_chains} each initial value needs a leading dim of size {num_chains}"
            )
        out[name] = value[chain]
    return out


def _start(kernel: MCMCKernel) -> dict:
    """The state a chain starts from once ``kernel`` is set up."""
    params = kernel.initial_params
    if params is None:
        raise RuntimeError(f"{type(kernel).__name__}.setup() left no initial_params to start "
                           f"the chain from")
    return params


def _sample_chain(kernel: MCMCKernel, num_samples: int, warmup_steps: int, args: tuple,
                  kwargs: dict, chain_id: int, initial_params: dict | None,
                  hook_fn: Callable | None, save_params: list | None, progress,
                  num_chains: int = 1, sink: Callable[[dict], None] | None = None) -> dict:
    """Run one chain; ``progress(n, done, logging)`` is called every few iterations.

    ``hook_fn(kernel, params, stage, i)`` gets Pyro's stage labels (``"Warmup"`` /
    ``"Sample"``, with ``" [chain_id]"`` when there are several chains) and the index of
    the iteration within its stage; the ``pyro_mcmc_sample`` event gets ``"warmup"`` /
    ``"sample"`` and the same index.
    """
    suffix = f" [{chain_id}]" if num_chains > 1 else ""
    labels = ("Warmup" + suffix, "Sample" + suffix)
    if initial_params is not None:
        kernel.initial_params = initial_params
    kernel.setup(warmup_steps, *args, **kwargs)
    try:
        kept = _run_iterations(kernel, _start(kernel), num_samples, warmup_steps,
                               hook_fn, labels, save_params, progress, chain_id, 1, sink)
        samples = ({name: torch.stack([p[name].detach() for p in kept]) for name in kept[0]}
                   if kept else {})
        result = {
            "samples": samples,
            "diagnostics": kernel.diagnostics(),
            "transforms": dict(kernel.transforms),
            "deterministic": list(getattr(getattr(kernel, "potential", None),
                                          "deterministic_names", []) or []),
        }
    finally:
        kernel.cleanup()
    return result


def _run_iterations(kernel: MCMCKernel, params: dict, num_samples: int, warmup_steps: int,
                    hook_fn: Callable | None, labels: tuple[str, str], save_params: list | None,
                    progress, chain_id: int | None, num_chains: int,
                    sink: Callable[[dict], None] | None = None) -> list[dict]:
    """Warmup then sampling iterations of a set-up kernel; returns the kept params (or
    hands each to ``sink`` and keeps nothing).

    ``chain_id=None`` means the kernel advances ``num_chains`` chains as one batch: the
    ``pyro_mcmc_sample`` event then fires once per chain with that chain's params.
    """
    sample_hook = pyro.plugins.event_hook("pyro_mcmc_sample")
    kept = []
    total = warmup_steps + num_samples
    last_report = 0
    for i in range(total):
        params = kernel.sample(params)
        warm = i < warmup_steps
        j = i if warm else i - warmup_steps
        if not warm:
            draw = params if save_params is None else {k: params[k] for k in save_params}
            if sink is None:
                kept.append(draw)
            else:
                sink(draw)
        if hook_fn is not None:
            hook_fn(kernel, params, labels[0] if warm else labels[1], j)
        if sample_hook is not None:
            stage = "warmup" if warm else "sample"
            if chain_id is None:
                for c in range(num_chains):
                    sample_hook(kernel=kernel, params={k: v[c] for k, v in params.items()},
                                stage=stage, i=j, chain_id=c)
            else:
                sample_hook(kernel=kernel, params=params, stage=stage, i=j, chain_id=chain_id)
        if progress is not None and (i + 1 - last_report >= 10 or i + 1 == total
                                     or i + 1 == warmup_steps):
            progress(i + 1 - last_report, i + 1, kernel.logging())
            last_report = i + 1
    return kept


def logger_thread(log_queue, warmup_steps: int, num_samples: int, num_chains: int,
                  disable_progbar: bool = False) -> None:
    """Draw the progress of ``num_chains`` chains that log into ``log_queue`` (records of
    :mod:`pyro.infer.mcmc.logger`, e.g. from chains in child processes), one bar per
    chain; other records are printed. Returns when ``None`` is put on the queue (run it in
    a thread).
    """
    bars = ProgressBar(warmup_steps, num_samples, disable=disable_progbar, num_bars=num_chains)
    handler = TqdmHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    dispatch = MCMCLoggingHandler(handler, bars)
    try:
        while True:
            record = log_queue.get()
            if record is None:
                break
            dispatch.handle(record)
    finally:
        bars.close()


def _chain_worker(queue, chain_id: int, seed: int, payload: bytes | tuple) -> None:
    """Entry point of a chain run in a child process (``chain_method="parallel"``)."""
    fields: tuple
    if isinstance(payload, bytes):
        try:
            fields = pickle.loads(payload)
        except Exception as e:  # e.g. the model's module cannot be imported here
            queue.put(("unpicklable", chain_id, f"{type(e).__name__}: {e}"))
            return
    else:
        fields = payload
    try:
        (kernel, num_samples, warmup_steps, args, kwargs, initial_params, hook_fn,
         save_params, show_progress, disable_validation, num_chains) = fields
        set_rng_seed(seed)

        def progress(n, done, info):
            queue.put(("progress", chain_id, n, done, info))

        with validation_enabled(False) if disable_validation else contextlib.nullcontext():
            result = _sample_chain(kernel, num_samples, warmup_steps, args, kwargs, chain_id,
                                   initial_params, hook_fn, save_params,
                                   progress if show_progress else None, num_chains)
        result["samples"] = {k: v.cpu().numpy() for k, v in result["samples"].items()}
        result["transforms"] = None  # transforms do not pickle reliably: the parent rebuilds them
        queue.put(("done", chain_id, pickle.dumps(result)))
    except BaseException:  # report every failure to the parent, then exit
        queue.put(("error", chain_id, traceback.format_exc()))


class AbstractMCMC(ABC):
    """Base of the MCMC drivers: a kernel run for ``num_chains`` chains.

    :param MCMCKernel kernel: the transition kernel.
    :param int num_chains: number of chains.
    :param dict transforms: site -> transform from constrained values to the kernel's
        space (None: the kernel's).
    """

    def __init__(self, kernel: MCMCKernel, num_chains: int, transforms: dict | None) -> None:
        self.kernel = kernel
        self.num_chains = int(num_chains)
        self.transforms = transforms

    @abstractmethod
    def run(self, *args: Any, **kwargs: Any) -> None:
        """Run the chains on ``model(*args, **kwargs)``."""

    @abstractmethod
    def diagnostics(self) -> dict[str, Any]:
        """Convergence diagnostics of the run."""


class MCMC(AbstractMCMC):
    """Markov chain Monte Carlo driver.

    :param MCMCKernel kernel: the transition kernel, e.g. ``NUTS(model)``.
    :param int num_samples: draws kept per chain (after warmup).
    :param int warmup_steps: warmup (adaptation) iterations per chain; defaults to
        ``num_samples``.
    :param dict initial_params: site name -> unconstrained starting value (with a leading
        ``num_chains`` dim when ``num_chains > 1``).
    :param int num_chains: number of chains.
    :param callable hook_fn: ``hook_fn(kernel, params, stage, i)`` called after each
        iteration, with ``stage`` ``"Warmup"`` or ``"Sample"`` (followed by ``" [c]"``
        when there are several chains) and ``i`` the iteration's index within its stage,
        as in Pyro. With ``chain_method="vectorized"`` it is called once per iteration with
        the params of all chains (leading chain dim) and no chain suffix.
    :param str mp_context: multiprocessing start method (``"fork"``, ``"spawn"``,
        ``"forkserver"``) for ``chain_method="parallel"``; giving one selects that method.
    :param bool disable_progbar: hide the progress bars.
    :param bool disable_validation: run without distribution argument checks (faster).
    :param dict transforms: site -> transform from constrained to the kernel's space
        (defaults to the kernel's).
    :param list save_params: keep only these sites (default: all).
    :param str chain_method: ``"sequential"`` (default) runs the chains one after the
        other in this process; ``"parallel"`` runs each in its own process (falling back to
        sequential with a warning when the kernel or the model cannot be pickled for a
        non-fork start method); ``"vectorized"`` runs all chains in lockstep as one batch,
        for HMC and NUTS kernels on models that broadcast over a leading batch dim (see
        :mod:`pyro.infer.mcmc.batched_potential`).
    :raises ValueError: for invalid arguments.

    Draws are kept in the kernel's (unconstrained) space and mapped back to the supports
    by :meth:`get_samples`.
    """

    def __init__(self, kernel: MCMCKernel, num_samples: int, warmup_steps: int | None = None,
                 initial_params: dict | None = None, num_chains: int = 1,
                 hook_fn: Callable | None = None, mp_context: str | None = None,
                 disable_progbar: bool = False, disable_validation: bool = True,
                 transforms: dict | None = None, save_params: list | None = None,
                 chain_method: str | None = None) -> None:
        if not isinstance(kernel, MCMCKernel):
            raise ValueError(f"MCMC needs an MCMCKernel such as NUTS(model) or HMC(model), "
                             f"got {type(kernel).__name__}")
        if int(num_samples) < 1:
            raise ValueError(f"num_samples must be at least 1, got {num_samples}")
        warmup_steps = int(num_samples) if warmup_steps is None else int(warmup_steps)
        if warmup_steps < 0:
            raise ValueError(f"warmup_steps must be >= 0, got {warmup_steps}")
        if int(num_chains) < 1:
            raise ValueError(f"num_chains must be at least 1, got {num_chains}")
        if chain_method is None:
            chain_method = "parallel" if (mp_context is not None and num_chains > 1) \
                else "sequential"
        if chain_method not in CHAIN_METHODS:
            raise ValueError(f"chain_method must be one of {CHAIN_METHODS}, got {chain_method!r}")
        super().__init__(kernel, num_chains, transforms)
        self.num_samples = int(num_samples)
        self.warmup_steps = warmup_steps
        self.initial_params = initial_params
        self.num_chains = int(num_chains)
        self.hook_fn = hook_fn
        self.mp_context = mp_context
        self.disable_progbar = disable_progbar
        self.disable_validation = disable_validation
        self.chain_method = chain_method
        self.save_params = list(save_params) if save_params is not None else None
        self._user_transforms = transforms
        self.transforms: dict | None = transforms
        self._samples: dict[str, torch.Tensor] = {}
        self._constrained: dict[str, torch.Tensor] | None = None
        self._diagnostics: list[dict] = []
        self._args: tuple = ()
        self._kwargs: dict = {}

    # ------------------------------------------------------------------- run

    def run(self, *args: Any, **kwargs: Any) -> None:
        """Run every chain on ``model(*args, **kwargs)``; draws replace previous ones."""
        start = pyro.plugins.event_hook("pyro_inference_start")
        info = {"kind": "mcmc", "kernel": type(self.kernel).__name__,
                "num_samples": self.num_samples, "warmup_steps": self.warmup_steps,
                "num_chains": self.num_chains, "chain_method": self.chain_method}
        if start is not None:
            start(algorithm=self, info=info)
        self._args, self._kwargs = args, kwargs
        with poutine.block(), (validation_enabled(False) if self.disable_validation
                               else contextlib.nullcontext()):
            results = None
            if self.chain_method == "parallel" and self.num_chains > 1:
                results = self._run_parallel(args, kwargs)
            elif self.chain_method == "vectorized":
                results = self._run_vectorized(args, kwargs)
            if results is None:
                results = self._run_sequential(args, kwargs)
            self._collect(results)
        end = pyro.plugins.event_hook("pyro_inference_end")
        if end is not None:
            info = dict(info, divergences=sum(len(d.get("divergences", []))
                                              for d in self._diagnostics))
            end(algorithm=self, info=info)

    def _chain_desc(self, stage: str, chain: int) -> str:
        return stage if self.num_chains == 1 else f"{stage} [{chain}]"

    def _run_sequential(self, args, kwargs) -> list[dict]:
        results = []
        for chain in range(self.num_chains):
            bar = make_progress_bar(self.warmup_steps + self.num_samples,
                                    self._chain_desc("Warmup" if self.warmup_steps else "Sample",
                                                     chain), self.disable_progbar)
            progress = None
            if bar is not None:
                progress = self._bar_updater(bar, chain)
            try:
                results.append(_sample_chain(
                    self.kernel, self.num_samples, self.warmup_steps, args, kwargs, chain,
                    _slice_chain(self.initial_params, chain, self.num_chains), self.hook_fn,
                    self.save_params, progress, self.num_chains, self._sink(chain)))
            finally:
                if bar is not None:
                    bar.close()
        return results

    def _sink(self, chain: int) -> Callable[[dict], None] | None:
        """Where chain ``chain``'s draws go (None: kept in memory)."""
        return None

    def _bar_updater(self, bar, chain: int):
        warmup = self.warmup_steps

        def progress(n: int, done: int, info: dict) -> None:
            bar.update(n)
            set_postfix(bar, info)
            if done == warmup:
                set_description(bar, self._chain_desc("Sample", chain))

        return progress

    def _run_parallel(self, args, kwargs) -> list[dict] | None:
        ctx = multiprocessing.get_context(self.mp_context)
        payload = (self.kernel, self.num_samples, self.warmup_steps, args, kwargs, None,
                   self.hook_fn, self.save_params, not self.disable_progbar,
                   self.disable_validation, self.num_chains)
        try:
            packed = pickle.dumps(payload)
        except Exception as e:  # local functions, lambdas, open files...
            if ctx.get_start_method() != "fork":
                warnings.warn(
                    f"MCMC: chain_method='parallel' with start method "
                    f"{ctx.get_start_method()!r} needs a picklable kernel, model and "
                    f"arguments ({type(e).__name__}: {e}); running the chains sequentially. "
                    f"Define the model at module level, or use mp_context='fork'.",
                    RuntimeWarning, stacklevel=3)
                return None
            packed = None
        seeds = torch.randint(0, 2**31 - 1, (self.num_chains,)).tolist()
        queue = ctx.Queue()
        procs = []
        for chain in range(self.num_chains):
            init = _slice_chain(self.initial_params, chain, self.num_chains)
            chain_payload = payload[:5] + (init,) + payload[6:]
            data = pickle.dumps(chain_payload) if packed is not None else chain_payload
            # (typeshed's BaseContext lacks Process; every concrete context has it)
            procs.append(ctx.Process(  # type: ignore[attr-defined]
                target=_chain_worker, args=(queue, chain, seeds[chain], data), daemon=True))
        bars = [make_progress_bar(self.warmup_steps + self.num_samples,
                                  self._chain_desc("Warmup", c), self.disable_progbar, position=c)
                for c in range(self.num_chains)]
        updaters = [self._bar_updater(b, c) if b is not None else None
                    for c, b in enumerate(bars)]
        results: dict[int, dict] = {}
        try:
            for p in procs:
                p.start()
            while len(results) < self.num_chains:
                try:
                    msg = queue.get(timeout=1.0)
                except Exception:
                    dead = [i for i, p in enumerate(procs)
                            if not p.is_alive() and i not in results and p.exitcode != 0]
                    if dead:
                        raise RuntimeError(f"MCMC: chain process(es) {dead} died (exit codes "
                                           f"{[procs[i].exitcode for i in dead]})") from None
                    continue
                kind, chain = msg[0], msg[1]
                if kind == "progress":
                    if updaters[chain] is not None:
                        updaters[chain](msg[2], msg[3], msg[4])
                elif kind == "unpicklable":
                    warnings.warn(
                        f"MCMC: a chain process could not unpickle the kernel or the model "
                        f"({msg[2]}); running the chains sequentially. Define the model in an "
                        f"importable module, or use mp_context='fork'.",
                        RuntimeWarning, stacklevel=3)
                    return None
                elif kind == "error":
                    raise RuntimeError(f"MCMC: chain {chain} failed in its process:\n{msg[2]}")
                else:
                    result = pickle.loads(msg[2])
                    result["samples"] = {k: torch.from_numpy(np.asarray(v))
                                         for k, v in result["samples"].items()}
                    results[chain] = result
        finally:
            complete = len(results) == self.num_chains
            for p in procs:
                if p.pid is None:  # never started
                    continue
                if p.is_alive() and not complete:
                    p.terminate()
                p.join(timeout=5)
                if p.is_alive():
                    p.kill()
            for b in bars:
                if b is not None:
                    b.close()
        ordered = [results[c] for c in range(self.num_chains)]
        if self._user_transforms is None:
            # the kernel in this process never ran: set it up once for its transforms
            self.kernel.setup(0, *args, **kwargs)
            try:
                ordered[0]["transforms"] = dict(self.kernel.transforms)
            finally:
                self.kernel.cleanup()
        return ordered

    def _run_vectorized(self, args, kwargs) -> list[dict]:
        """All chains in one batch of the kernel (HMC / NUTS): one model run per leapfrog
        step for every chain (see :mod:`~pyro.infer.mcmc.batched_potential`)."""
        kernel = self.kernel
        if not isinstance(kernel, HMC):
            raise ValueError(f"chain_method='vectorized' needs a kernel that advances a batch "
                             f"of chains (HMC, NUTS); {type(kernel).__name__} does not: use "
                             f"chain_method='sequential'")
        c = self.num_chains
        init = self.initial_params
        if init is not None and c > 1:
            _slice_chain(init, c - 1, c)  # checks the leading chain dim

        def vectorize(single, trace, z0):
            return vectorize_potential(single, trace, z0, kernel.max_plate_nesting)

        kernel.setup_chains(self.warmup_steps, args, kwargs, c, init, vectorize)
        bar = make_progress_bar(self.warmup_steps + self.num_samples,
                                "Warmup" if self.warmup_steps else "Sample",
                                self.disable_progbar)
        progress = None
        if bar is not None:
            warmup = self.warmup_steps

            def progress(n: int, done: int, info: dict) -> None:
                bar.update(n)
                set_postfix(bar, info)
                if done == warmup:
                    set_description(bar, "Sample")
        try:
            draws = _run_iterations(kernel, _start(kernel), self.num_samples,
                                    self.warmup_steps, self.hook_fn, ("Warmup", "Sample"),
                                    self.save_params, progress, chain_id=None, num_chains=c)
        finally:
            kernel.cleanup()
            if bar is not None:
                bar.close()
        samples = ({name: torch.stack([p[name].detach() for p in draws], dim=1)
                    for name in draws[0]} if draws else {})
        transforms = dict(kernel.transforms)
        deterministic = list(getattr(kernel.potential, "deterministic_names", []))
        return [{"samples": {k: v[i] for k, v in samples.items()},
                 "diagnostics": kernel.chain_diagnostics(i), "transforms": transforms,
                 "deterministic": deterministic} for i in range(c)]

    def _collect(self, results: list[dict]) -> None:
        self._diagnostics = [r["diagnostics"] for r in results]
        # sites in sorted order, as Pyro's MCMC keeps them (get_samples, summary, diagnostics)
        names = sorted(results[0]["samples"])
        self._samples = {name: torch.stack([r["samples"][name] for r in results])
                         for name in names}
        self.transforms = (dict(self._user_transforms) if self._user_transforms is not None
                           else results[0]["transforms"])
        self._deterministic_names = results[0].get("deterministic", [])
        self._constrained = None

    # --------------------------------------------------------------- results

    def _constrained_samples(self) -> dict[str, torch.Tensor]:
        if self._constrained is None:
            out = {}
            for name, value in self._samples.items():
                t = self.transforms.get(name) if self.transforms else None
                out[name] = value if t is None else t.inv(value)
            self._constrained = out
        return self._constrained

    def get_deterministic(self, group_by_chain: bool = False) -> dict[str, torch.Tensor]:
        """Values of the model's ``pyro.deterministic`` sites at every draw (shaped as
        :meth:`get_samples`), by re-running the model on each draw."""
        model = getattr(self.kernel, "model", None)
        names = [n for n in getattr(self, "_deterministic_names", [])
                 if self.save_params is None or n in self.save_params]
        if model is None or not names:
            return {}
        out = collect_deterministic(model, self._args, self._kwargs,
                                    self._constrained_samples(), names)
        if not group_by_chain:
            out = {k: v.reshape((-1,) + v.shape[2:]) for k, v in out.items()}
        return out

    def get_samples(self, num_samples: int | None = None,
                    group_by_chain: bool = False) -> dict[str, torch.Tensor]:
        """Draws of the latent sites in constrained space (``pyro.deterministic`` sites are
        in :meth:`get_deterministic`, or use :class:`~pyro.infer.Predictive`):
        site -> ``(num_chains * num_samples,) + shape``, or
        ``(num_chains, num_samples) + shape`` with ``group_by_chain``. With ``num_samples``,
        that many draws picked at random with replacement (per chain when grouped).

        :raises ValueError: before :meth:`run`.
        """
        if not self._samples:
            raise ValueError("MCMC.get_samples: no draws yet; call mcmc.run(...) first")
        samples = self._constrained_samples()
        if not group_by_chain:
            samples = {k: v.reshape((-1,) + v.shape[2:]) for k, v in samples.items()}
        if num_samples is not None:
            dim = 1 if group_by_chain else 0
            size = next(iter(samples.values())).size(dim)
            device = next(iter(samples.values())).device
            idx = torch.randint(0, size, (num_samples,), device=device)
            samples = {k: v.index_select(dim, idx) for k, v in samples.items()}
        return samples

    def diagnostics(self) -> dict[str, Any]:
        """Site -> ``{"n_eff", "r_hat"}``, plus per-chain kernel diagnostics:
        ``{"divergences": {"chain 0": [...]}, "acceptance rate": {"chain 0": ...}, ...}``.
        """
        out = site_diagnostics(self.get_samples(group_by_chain=True))
        for key in self._diagnostics[0] if self._diagnostics else []:
            out[key] = {f"chain {i}": d.get(key) for i, d in enumerate(self._diagnostics)}
        return out

    def summary(self, prob: float = 0.9) -> None:
        """Print per-site mean, std, median, ``prob`` HPD interval, n_eff and r_hat, and the
        number of divergent transitions."""
        print_summary(self.get_samples(group_by_chain=True), prob=prob)
        self._print_kernel_counts()

    def _print_kernel_counts(self) -> None:
        divergences = sum(len(d.get("divergences", []) or []) for d in self._diagnostics)
        if any("divergences" in d for d in self._diagnostics):
            print(f"Number of divergences: {divergences}")
        if any("tree depth saturation" in d for d in self._diagnostics):
            saturated = sum(d.get("tree depth saturation", 0) for d in self._diagnostics)
            if saturated:
                print(f"Transitions that hit max_tree_depth: {saturated} (consider a larger "
                      f"max_tree_depth or a reparametrization)")

    def __repr__(self) -> str:
        return (f"MCMC({type(self.kernel).__name__}, num_samples={self.num_samples}, "
                f"warmup_steps={self.warmup_steps}, num_chains={self.num_chains}, "
                f"chain_method={self.chain_method!r})")


class StreamingMCMC(MCMC):
    """MCMC that keeps statistics of the draws instead of the draws: memory does not grow
    with ``num_samples``. Chains run one after the other; each draw (constrained, latent
    sites) updates that chain's copy of ``statistics``.

    :param statistics: a :class:`~pyro.ops.streaming.StreamingStats` over dicts of sites
        (default ``StatsOfDict(default=CountMeanVarianceStats)``: count, mean and variance
        of each site).

    Other arguments as :class:`MCMC` (without ``mp_context``: chains are sequential).
    """

    def __init__(self, kernel: MCMCKernel, num_samples: int, warmup_steps: int | None = None,
                 initial_params: dict | None = None, statistics=None, num_chains: int = 1,
                 hook_fn: Callable | None = None, disable_progbar: bool = False,
                 disable_validation: bool = True, transforms: dict | None = None,
                 save_params: list | None = None) -> None:
        super().__init__(kernel, num_samples, warmup_steps, initial_params, num_chains,
                         hook_fn, None, disable_progbar, disable_validation, transforms,
                         save_params, chain_method="sequential")
        if statistics is None:
            statistics = StatsOfDict(default=CountMeanVarianceStats)
        self._statistics_prototype = statistics
        self._statistics: dict[int, Any] = {}

    def _sink(self, chain: int) -> Callable[[dict], None]:
        stats = copy.deepcopy(self._statistics_prototype)
        self._statistics[chain] = stats
        kernel = self.kernel

        def sink(params: dict) -> None:
            transforms = self._user_transforms or kernel.transforms
            stats.update({name: (transforms[name].inv(v) if name in transforms else v)
                          .detach() for name, v in params.items()})
        return sink

    def run(self, *args: Any, **kwargs: Any) -> None:
        """Run every chain, updating the statistics (previous ones are replaced)."""
        self._statistics = {}
        super().run(*args, **kwargs)

    def _collect(self, results: list[dict]) -> None:
        self._diagnostics = [r["diagnostics"] for r in results]
        self.transforms = (dict(self._user_transforms) if self._user_transforms is not None
                           else results[0]["transforms"])
        self._samples = {}

    def get_samples(self, num_samples=None, group_by_chain=False):
        raise ValueError("StreamingMCMC keeps statistics, not draws: use get_statistics() "
                         "(or MCMC to keep the draws)")

    def get_statistics(self, group_by_chain: bool = True) -> dict:
        """The statistics: ``{chain: stats.get()}`` with ``group_by_chain``, else the
        statistics of all chains merged.

        :raises ValueError: before :meth:`run`.
        """
        if not self._statistics:
            raise ValueError("StreamingMCMC.get_statistics: call run(...) first")
        if group_by_chain:
            return {c: s.get() for c, s in sorted(self._statistics.items())}
        chains = [s for _, s in sorted(self._statistics.items())]
        merged = chains[0]
        for s in chains[1:]:
            merged = merged.merge(s)
        return merged.get()

    def diagnostics(self) -> dict[str, Any]:
        """Site -> ``{"r_hat": ...}`` from the per-chain means and variances (see
        :func:`~pyro.infer.mcmc.util.diagnostics_from_stats`), plus the kernel's per-chain
        diagnostics."""
        out = diagnostics_from_stats(self.get_statistics(group_by_chain=True),
                                     self.num_samples, self.num_chains)
        for key in self._diagnostics[0] if self._diagnostics else []:
            out[key] = {f"chain {i}": d.get(key) for i, d in enumerate(self._diagnostics)}
        return out

    def summary(self, prob: float = 0.9) -> None:
        """Print each site's mean, std and r_hat (quantiles need the draws: use MCMC)."""
        stats = self.get_statistics(group_by_chain=False)
        diag = diagnostics_from_stats(self.get_statistics(group_by_chain=True),
                                      self.num_samples, self.num_chains)
        print(format_stats_summary(stats, diag))
        self._print_kernel_counts()
