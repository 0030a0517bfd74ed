"""From a model to what the HMC kernels need, and posterior summaries of MCMC draws.

:func:`initialize_model` traces the model once under an initialization strategy,
lays its continuous latent sites out in one flat unconstrained vector (``biject_to`` of
each site's support), and returns Pyro's ``(initial_params, potential_fn, transforms,
prototype_trace)``. :func:`summary` / :func:`print_summary` / :func:`diagnostics`
report :mod:`pyro.ops.stats` statistics of the draws.
"""
from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import torch
from torch.distributions.transforms import ComposeTransform

import pyro.poutine as poutine
from pyro.ops import stats
from pyro.poutine.messenger import Messenger
from pyro.poutine.util import site_is_subsample

from ..initialization import init_to_uniform
from .batched_potential import max_batch_dims
from .enum_potential import (
    EnumModelPotential,
    TraceEinsumEvaluator,
    TraceTreeEvaluator,
    is_enumerated,
)
from .potential import DictPotential, ModelPotential, latent_sites_from_trace

__all__ = [
    "TraceEinsumEvaluator",
    "TraceTreeEvaluator",
    "diagnostics",
    "diagnostics_from_stats",
    "predictive",
    "select_samples",
    "initialize_model",
    "print_summary",
    "setup_potential",
    "summary",
]

MAX_INIT_ATTEMPTS = 100


def _check_full_data(msg: dict) -> None:
    for frame in msg["cond_indep_stack"]:
        full = getattr(frame, "full_size", None)
        if full is not None and frame.size != full:
            raise ValueError(
                f"MCMC: site {msg['name']!r} is inside plate {frame.name!r} subsampled to "
                f"{frame.size} of {full}; HMC and NUTS need the full data: remove "
                f"subsample_size from the plate"
            )


def _check_site(msg: dict) -> None:
    fn = msg["fn"]
    support = getattr(fn, "support", None)
    if support is not None and getattr(support, "is_discrete", False):
        enum = msg["infer"].get("enumerate")
        if enum == "parallel":  # summed out of the potential (see enum_potential)
            _check_full_data(msg)
            return
        hint = (f" (enumerate={enum!r}: MCMC sums out only parallel enumeration, use "
                f"config_enumerate(model, 'parallel'))" if enum else "")
        raise ValueError(
            f"MCMC: latent sample site {msg['name']!r} is discrete ({type(fn).__name__} "
            f"with support {support}){hint}. HMC and NUTS need continuous latent sites: "
            f"mark it infer={{'enumerate': 'parallel'}} (or config_enumerate) to sum it out, "
            f"observe it, or use a continuous relaxation "
            f"(RelaxedBernoulliStraightThrough, RelaxedOneHotCategorical)."
        )
    _check_full_data(msg)


class _InitMessenger(Messenger):
    """Gives latent sites their initial values from an init strategy and checks them."""

    def __init__(self, init_strategy: Callable) -> None:
        super().__init__()
        self.init_strategy = init_strategy

    def process_message(self, msg) -> None:
        if msg["type"] != "sample" or site_is_subsample(msg):
            return
        if msg["is_observed"]:
            _check_full_data(msg)
            return
        _check_site(msg)
        if is_enumerated(msg):
            return  # sampled here for the prototype trace; enumerated in the potential
        if msg["value"] is None:
            with torch.no_grad():
                value = self.init_strategy(msg)
            value = torch.as_tensor(value)
            expected = msg["fn"].batch_shape + msg["fn"].event_shape
            if value.shape != expected:
                raise ValueError(
                    f"init strategy gave site {msg['name']!r} a value of shape "
                    f"{tuple(value.shape)}; the site's distribution has shape {tuple(expected)}"
                )
            msg["value"] = value.detach()


def _trace_with_init(model, model_args, model_kwargs, init_strategy):
    return poutine.trace(_InitMessenger(init_strategy)(model)).get_trace(
        *model_args, **model_kwargs)


def _deterministic_names(trace) -> list[str]:
    return [name for name, site in trace.nodes.items()
            if site["type"] == "sample" and site["infer"].get("_deterministic")]


def _plate_dims(trace) -> int:
    dims = 0
    for site in trace.nodes.values():
        for frame in site.get("cond_indep_stack", ()):
            if frame.dim is not None:
                dims = max(dims, -frame.dim)
    return dims


def setup_potential(model: Callable, model_args: tuple = (), model_kwargs: dict | None = None,
                    transforms: dict | None = None, init_strategy: Callable = init_to_uniform,
                    initial_params: dict | None = None, max_plate_nesting: int | None = None):
    """Trace ``model`` and build its flat potential.

    Tries up to 100 initializations from ``init_strategy`` until the potential energy and
    its gradient are finite (``initial_params``, unconstrained, are used as given).

    :returns: ``(potential, z0, prototype_trace)``: a
        :class:`~pyro.infer.mcmc.potential.ModelPotential`, the flat initial point, and the
        trace of the model at initialization.
    :raises ValueError: if no finite starting point is found, naming the offending sites.
    """
    model_kwargs = {} if model_kwargs is None else model_kwargs
    potential: ModelPotential | None = None
    bad: list[str] = []
    for _ in range(MAX_INIT_ATTEMPTS):
        trace = _trace_with_init(model, model_args, model_kwargs, init_strategy)
        sites, init = latent_sites_from_trace(trace.nodes, transforms)
        if potential is None:
            if any(is_enumerated(site) for site in trace.nodes.values()):
                mpn = max(max_batch_dims(trace) if max_plate_nesting is None
                          else max_plate_nesting, _plate_dims(trace))
                potential = EnumModelPotential(model, model_args, model_kwargs, sites, mpn)
            else:
                potential = ModelPotential(model, model_args, model_kwargs, sites)
            potential.deterministic_names = _deterministic_names(trace)
        if initial_params is not None:
            z0 = potential.pack({k: torch.as_tensor(v) for k, v in initial_params.items()})
        else:
            z0 = potential.pack(init)
        pe, grad = potential(z0)
        if math.isfinite(pe) and bool(torch.isfinite(grad).all()):
            return potential, z0, trace
        bad = [s.name for s, g in zip(potential.sites, grad.split(potential.sizes))
               if not bool(torch.isfinite(g).all())] or ["(log density)"]
        if initial_params is not None:
            break
    raise ValueError(
        f"MCMC: could not find a starting point with finite potential energy and gradient "
        f"after {MAX_INIT_ATTEMPTS} tries of {getattr(init_strategy, '__name__', init_strategy)}"
        f" (non-finite at {bad}); check the model's parameters and data, pass "
        f"initial_params, or use init_strategy=init_to_feasible / init_to_median"
    )


def unconstraining_transforms(potential) -> dict:
    """Pyro's ``transforms``: site -> transform from constrained to unconstrained values."""
    out = {}
    for s in potential.sites:
        out[s.name] = ComposeTransform([]) if s.transform is None else s.transform.inv
    return out


def initialize_model(model: Callable, model_args: tuple = (), model_kwargs: dict | None = None,
                     transforms: dict | None = None, max_plate_nesting: int | None = None,
                     jit_compile: bool = False, jit_options: dict | None = None,
                     skip_jit_warnings: bool = False, num_chains: int = 1,
                     init_strategy: Callable = init_to_uniform,
                     initial_params: dict | None = None):
    """Pyro's ``initialize_model``: what HMC needs to sample ``model``.

    :returns: ``(initial_params, potential_fn, transforms, prototype_trace)`` where
        ``initial_params`` maps site names to unconstrained starting values (with a
        leading ``num_chains`` dim when ``num_chains > 1``), ``potential_fn(params)``
        returns the potential energy of a dict of unconstrained values, ``transforms``
        maps site names to transforms from constrained to unconstrained space, and
        ``prototype_trace`` is the trace of the model at the (first) starting point.
    :raises ValueError: for discrete or subsampled latent sites, or when no finite
        starting point is found.
    """
    inits = []
    first = None
    for chain in range(num_chains):
        chain_init = None
        if initial_params is not None:
            chain_init = ({k: v[chain] for k, v in initial_params.items()}
                          if num_chains > 1 else initial_params)
        potential, z0, trace = setup_potential(
            model, model_args, model_kwargs, transforms, init_strategy, chain_init,
            max_plate_nesting)
        if first is None:
            first = (potential, trace)
        inits.append(potential.unpack(z0))
    if first is None:
        raise ValueError(f"initialize_model: num_chains must be at least 1, got {num_chains}")
    potential, trace = first
    if num_chains > 1:
        init = {k: torch.stack([d[k] for d in inits]) for k in inits[0]}
    else:
        init = inits[0]
    return init, potential.dict_potential_fn, unconstraining_transforms(potential), trace


def make_dict_potential(potential_fn: Callable, initial_params: dict) -> DictPotential:
    """Flat potential of a user ``potential_fn`` over dicts of unconstrained values."""
    if not initial_params:
        raise ValueError("HMC/NUTS with potential_fn= need initial_params: pass "
                         "MCMC(..., initial_params={name: tensor}) or set "
                         "kernel.initial_params before running")
    return DictPotential(potential_fn, {k: torch.as_tensor(v) for k, v in initial_params.items()})


# ------------------------------------------------------------------------- summaries


def summary(samples: dict[str, torch.Tensor], prob: float = 0.9,
            group_by_chain: bool = True) -> dict[str, Any]:
    """Per-site statistics: see :func:`pyro.ops.stats.summary` (mean, std, median, the
    ``prob`` HPD interval, ``n_eff`` (Geyer) and split ``r_hat``)."""
    return stats.summary(samples, prob=prob, group_by_chain=group_by_chain)


def diagnostics(samples: dict[str, torch.Tensor], group_by_chain: bool = True) -> dict:
    """Site -> ``{"n_eff": ..., "r_hat": ...}`` for draws shaped ``(chains, draws, ...)``."""
    out = OrderedDict()
    for name, value in samples.items():
        value = value if group_by_chain else value.unsqueeze(0)
        value = value.to(torch.get_default_dtype()) if not value.is_floating_point() else value
        site = OrderedDict()
        for key, fn in (("n_eff", stats.effective_sample_size),
                        ("r_hat", stats.split_gelman_rubin)):
            try:
                site[key] = fn(value)
            except ValueError:
                site[key] = value.new_full(value.shape[2:], float("nan"))
        out[name] = site
    return out


def format_summary(samples: dict[str, torch.Tensor], prob: float = 0.9,
                   group_by_chain: bool = True) -> str:
    """The table :func:`print_summary` prints, one row per scalar component."""
    if not samples:
        return ""
    table = summary(samples, prob=prob, group_by_chain=group_by_chain)
    columns = list(next(iter(table.values())).keys())
    labels = []
    rows = []
    width = 10  # Pyro's layout: at least 10; two spaces before a scalar site's name
    for name, site in table.items():
        shape = site["mean"].shape
        flat = {k: v.detach().reshape(-1).tolist() for k, v in site.items()}
        if len(shape) == 0:
            labels.append(name)
            rows.append([flat[c][0] for c in columns])
            width = max(width, len(name) + 2)
        else:
            for i, idx in enumerate(torch.cartesian_prod(*[torch.arange(n) for n in shape])
                                    .reshape(-1, len(shape)).tolist()):
                labels.append(f"{name}[{','.join(str(j) for j in idx)}]")
                rows.append([flat[c][i] for c in columns])
                width = max(width, len(labels[-1]))
    header = " " * width + "".join(f"{c:>10}" for c in columns)
    lines = [header]
    for label, row in zip(labels, rows):
        lines.append(f"{label:>{width}}" + "".join(f"{v:>10.2f}" for v in row))
    return "\n".join(lines)


def print_summary(samples: dict[str, torch.Tensor], prob: float = 0.9,
                  group_by_chain: bool = True) -> None:
    """Print mean, std, median, HPD interval bounds, n_eff and r_hat of every site, one row
    per scalar component (``name[i,j]`` for tensors).

    :param dict samples: site -> draws shaped ``(num_chains, num_samples) + shape`` when
        ``group_by_chain`` else ``(num_samples,) + shape``.
    """
    text = format_summary(samples, prob=prob, group_by_chain=group_by_chain)
    if text:
        print("\n" + text + "\n")


class _DeterministicCollector(Messenger):
    """Substitutes latent values and records the values of deterministic sites."""

    def __init__(self, names: list[str]) -> None:
        super().__init__()
        self.names = set(names)
        self.values: dict = {}
        self.collected: dict = {}

    def process_message(self, msg) -> None:
        if msg["type"] == "sample" and not msg["is_observed"] and msg["name"] in self.values:
            msg["value"] = self.values[msg["name"]]

    def postprocess_message(self, msg) -> None:
        if msg["type"] == "sample" and msg["name"] in self.names:
            self.collected[msg["name"]] = msg["value"]


def collect_deterministic(model: Callable, model_args: tuple, model_kwargs: dict,
                          samples: dict[str, torch.Tensor], names: list[str],
                          batch_dims: int = 2) -> dict[str, torch.Tensor]:
    """Values of the ``pyro.deterministic`` sites ``names`` at every draw of ``samples``
    (constrained values shaped ``batch + site shape`` with ``batch_dims`` leading dims),
    by re-running the model on each draw."""
    if not names or not samples:
        return {}
    first = next(iter(samples.values()))
    batch = first.shape[:batch_dims]
    collector = _DeterministicCollector(names)
    out: dict[str, list] = {name: [] for name in names}
    with torch.no_grad():
        for idx in torch.cartesian_prod(*[torch.arange(n) for n in batch]).reshape(
                -1, len(batch)).tolist():
            collector.values = {k: v[tuple(idx)] for k, v in samples.items()}
            collector.collected = {}
            with poutine.block(), collector:
                model(*model_args, **model_kwargs)
            for name in names:
                out[name].append(collector.collected[name])
    return {name: torch.stack(vals).reshape(batch + vals[0].shape) for name, vals in out.items()}


# ------------------------------------------------------------------ streaming / samples


def diagnostics_from_stats(statistics: dict, num_samples: int, num_chains: int) -> dict:
    """Gelman-Rubin ``r_hat`` of each site from per-chain streaming statistics (no draws
    kept, so no split chains and no ``n_eff``).

    :param dict statistics: chain -> site -> ``{"count", "mean", "variance"}`` (what
        :meth:`StreamingMCMC.get_statistics` returns).
    :param int num_samples: draws per chain.
    :param int num_chains: number of chains.
    :returns: site -> ``{"r_hat": tensor}`` (NaN with a single chain).

    **References** A. Gelman, D. B. Rubin (1992), "Inference from iterative simulation
    using multiple sequences", Statistical Science 7(4).
    """
    out: dict = OrderedDict()
    chains = [statistics[c] for c in sorted(statistics)]
    if not chains:
        return out
    n = float(num_samples)
    for name in chains[0]:
        site = [c[name] for c in chains if "mean" in c.get(name, {})]
        if not site:
            continue
        means = torch.stack([torch.as_tensor(s["mean"]) for s in site])
        variances = torch.stack([torch.as_tensor(s["variance"]) for s in site])
        if num_chains < 2 or len(site) < 2:
            out[name] = {"r_hat": torch.full_like(means[0], float("nan"))}
            continue
        within = variances.mean(0)
        between = n * means.var(0)
        var_plus = (n - 1) / n * within + between / n
        out[name] = {"r_hat": (var_plus / within).sqrt()}
    return out


def format_stats_summary(stats: dict, diagnostics: dict) -> str:
    """A table of mean, std and r_hat per scalar component from merged streaming
    statistics (site -> ``{"mean", "variance", ...}``)."""
    lines = [f"{'':>20}{'mean':>10}{'std':>10}{'r_hat':>10}"]
    for name, site in stats.items():
        if "mean" not in site:
            continue
        mean = torch.as_tensor(site["mean"]).reshape(-1).tolist()
        std = torch.as_tensor(site["variance"]).sqrt().reshape(-1).tolist()
        r_hat = diagnostics.get(name, {}).get("r_hat")
        r_hat = ([math.nan] * len(mean) if r_hat is None else r_hat.reshape(-1).tolist())
        for i, (m, s, r) in enumerate(zip(mean, std, r_hat)):
            label = name if len(mean) == 1 else f"{name}[{i}]"
            lines.append(f"{label:>20}{m:>10.2f}{s:>10.2f}{r:>10.2f}")
    return "\n".join(lines)


def select_samples(samples: dict[str, torch.Tensor], num_samples: int | None = None,
                   group_by_chain: bool = False) -> dict[str, torch.Tensor]:
    """``num_samples`` draws picked at random without replacement from ``samples``
    (site -> ``(num_draws, ...)``, or ``(num_chains, num_draws, ...)`` with
    ``group_by_chain``, the same draws for every site); all of them when None.

    :raises ValueError: when more draws are asked for than there are.
    """
    if num_samples is None or not samples:
        return samples
    dim = 1 if group_by_chain else 0
    first = next(iter(samples.values()))
    total = first.size(dim)
    if num_samples > total:
        raise ValueError(f"select_samples: asked for {num_samples} draws, only {total} exist")
    idx = torch.randperm(total, device=first.device)[:num_samples]
    return {k: v.index_select(dim, idx) for k, v in samples.items()}


def predictive(model: Callable, posterior_samples: dict[str, torch.Tensor], *args: Any,
               **kwargs: Any) -> dict[str, torch.Tensor]:
    """Pyro's deprecated helper: :class:`pyro.infer.Predictive` of ``model`` at the
    posterior draws, called with ``*args, **kwargs``.

    Keyword options (taken out of ``kwargs``): ``num_samples`` (default: the number of
    draws), ``return_sites`` (default: the sites not in ``posterior_samples``),
    ``return_trace`` (return the vectorized trace instead).

    :returns: site -> tensor with a leading draw dim.
    """
    from ..predictive import Predictive

    num_samples = kwargs.pop("num_samples", None)
    return_sites = kwargs.pop("return_sites", None)
    return_trace = kwargs.pop("return_trace", False)
    pred = Predictive(model, posterior_samples=posterior_samples, num_samples=num_samples,
                      return_sites=return_sites)
    if return_trace:
        return pred.get_vectorized_trace(*args, **kwargs)
    out = pred(*args, **kwargs)
    if return_sites is None:
        out = {k: v for k, v in out.items() if k not in posterior_samples}
    return out
