"""``pyro.infer.fit`` and the fitting recipes (runners) behind ``pyro fit --algo NAME``.

A runner is ``runner(model, data, *, num_steps=1000, num_samples=1000, warmup_steps=None,
num_chains=1, seed=0, lr=None, progress_bar=True, **extra) -> dict`` returning
``{"samples": {site: tensor}, "group_by_chain": bool, "info": {...}}``; samples have a
leading draw dim, or ``(chains, draws)`` leading dims when ``group_by_chain`` is true.
The model is called as ``model(**data)``.

Runners that create parameters (``svi``) work in a fresh parameter store, which the result
keeps (``result.param_store``); the user's own store is never cleared or changed.
"""
from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import torch

import pyro
from pyro import poutine
from pyro.params.param_store import ParamStoreDict
from pyro.plugins import event_hook, lookup

from .util import site_is_subsample

if TYPE_CHECKING:  # imported where used: the inference modules load on demand
    from .abstract_infer import TracePosterior
    from .elbo import ELBO
    from .svi import SVI

__all__ = [
    "FitResult",
    "fit",
    "hmc_runner",
    "importance_runner",
    "nuts_runner",
    "progress_bar",
    "search_runner",
    "svi_runner",
]


class _NullBar:
    def update(self, n: int = 1) -> None:
        pass

    def set_postfix(self, *args, **kwargs) -> None:
        pass

    def close(self) -> None:
        pass


def progress_bar(total: int, desc: str, disable: bool = False) -> Any:
    """A progress bar (``update``, ``set_postfix``, ``close``) for ``total`` iterations:
    a plugin's (``pyro_progress_bar`` hook, first answer wins), else tqdm's, else a
    silent one when disabled or tqdm is missing."""
    hook = event_hook("pyro_progress_bar")
    if hook is not None:
        bar = hook(total=total, desc=desc, disable=disable)
        if bar is not None:
            return bar
    if disable:
        return _NullBar()
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency of the dev env only
        return _NullBar()
    return tqdm(total=total, desc=desc, leave=False)


def _latent_sites(model: Callable, data: dict[str, Any]) -> dict[str, Any]:
    """The sites a fit reports, from one prior run of the model: latent sample sites and
    ``pyro.deterministic`` sites (functions of them, as MCMC reports them too)."""
    with poutine.block():
        trace = poutine.trace(model).get_trace(**data)
    return {name: site for name, site in trace.nodes.items() if _is_reported(site)}


def _is_reported(site: dict[str, Any]) -> bool:
    return (site["type"] == "sample" and not site_is_subsample(site)
            and (not site["is_observed"] or bool(site["infer"].get("_deterministic"))))


def _fire(name: str, algorithm: Any, info: dict) -> None:
    hook = event_hook(name)
    if hook is not None:
        hook(algorithm=algorithm, info=info)


def svi_runner(model: Callable, data: dict[str, Any], *, num_steps: int = 1000,
               num_samples: int = 1000, warmup_steps: int | None = None,
               num_chains: int = 1, seed: int = 0, lr: float | None = None,
               progress_bar: bool = True, **extra) -> dict[str, Any]:
    """Fit a guide by SVI (Adam) and draw ``num_samples`` posterior samples of the latent
    sites from it, in a fresh parameter store (returned as ``"param_store"``).

    Extra options: ``guide`` (an autoguide class or its name, default ``"AutoNormal"``,
    or a guide function ``guide(**data)``), ``loss`` (an ELBO instance, class or name such
    as ``"TraceEnum_ELBO"``, default ``"Trace_ELBO"``), ``num_particles`` (default 1).
    :raises ValueError: for an unknown guide or loss name, or a loss that is not an ELBO.
    """
    from .svi import SVI

    guide_opt = extra.pop("guide", "AutoNormal")
    loss_opt = extra.pop("loss", "Trace_ELBO")
    num_particles = int(extra.pop("num_particles", 1))
    _reject_extra("svi", extra)
    elbo = make_elbo(loss_opt, num_particles)
    # autoguides and optimizers come from the packages above this one, via the registry
    Adam = _lookup("optimizers", "Adam", "pyro-optim")
    with _fresh_param_store() as store:
        pyro.set_rng_seed(seed)
        guide = make_guide(guide_opt, model)
        svi = SVI(model, guide, Adam({"lr": 0.01 if lr is None else lr}), elbo)
        result = _run_svi(svi, model, guide, data, num_steps, num_samples, progress_bar)
    result["param_store"] = store
    result["info"]["loss"] = type(elbo).__name__
    result["info"]["guide"] = getattr(guide, "__name__", type(guide).__name__)
    return result


def make_elbo(loss: Any = "Trace_ELBO", num_particles: int = 1) -> ELBO:
    """An ELBO from an instance (returned as is), an ELBO class or its name in
    ``pyro.infer`` (``"Trace_ELBO"``, ``"TraceEnum_ELBO"``, ``"RenyiELBO"``, ...).

    :raises ValueError: naming the ELBOs installed, for an unknown name or a non-ELBO.
    """
    from .elbo import ELBO

    if isinstance(loss, ELBO):
        return loss
    cls = loss
    if isinstance(loss, str):
        try:
            cls = lookup("inference", loss)
        except KeyError:
            cls = None
    if not (isinstance(cls, type) and issubclass(cls, ELBO)):
        raise ValueError(f"loss {loss!r} is not an ELBO; use one of {', '.join(elbo_names())}")
    return cls(num_particles=num_particles)


def elbo_names() -> list[str]:
    """The names of the ELBO classes in the ``inference`` registry."""
    from pyro.plugins import get_registry

    from .elbo import ELBO

    reg = get_registry("inference")
    return sorted(n for n, obj, _ in reg.items()
                  if isinstance(obj, type) and issubclass(obj, ELBO) and obj is not ELBO)


def make_guide(guide: Any, model: Callable) -> Callable:
    """A guide for ``model``: an autoguide class (or its name in
    ``pyro.infer.autoguide``) is instantiated on the model; any other callable is a guide
    function used as is.

    :raises ValueError: for an unknown autoguide name.
    """
    if isinstance(guide, str):
        try:
            guide = lookup("autoguides", guide)
        except KeyError:
            from pyro.plugins import get_registry

            names = ", ".join(sorted(get_registry("autoguides"))) or "none (install pyro-autoguide)"
            raise ValueError(f"no autoguide named {guide!r}; installed: {names}") from None
    if isinstance(guide, type):
        return guide(model)
    if not callable(guide):
        raise ValueError(f"guide must be an autoguide name or class or a guide function, "
                         f"got {type(guide).__name__}")
    return guide


@contextlib.contextmanager
def _fresh_param_store() -> Iterator[ParamStoreDict]:
    """Run the block on an empty parameter store and yield a new store that, on exit,
    holds the parameters the block trained. The user's parameters (the same tensors) are
    back in the process-wide store afterwards (``ParamStoreDict.scope``)."""
    outer = pyro.get_param_store()
    trained = type(outer)()
    with outer.scope() as state:
        yield trained
    trained.set_state(state)


def _run_svi(svi: SVI, model: Callable, guide: Callable, data: dict[str, Any],
             num_steps: int, num_samples: int, progress_bar: bool) -> dict[str, Any]:
    info: dict[str, Any] = {"algo": "svi", "num_steps": num_steps}
    _fire("pyro_inference_start", svi, info)
    t0 = time.perf_counter()
    bar = _progress(num_steps, "SVI", not progress_bar)
    losses = []
    every = max(1, num_steps // 100)
    try:
        for step in range(num_steps):
            loss = svi.step(**data)
            losses.append(loss)
            if (step + 1) % every == 0 or step + 1 == num_steps:
                bar.set_postfix(loss=f"{loss:.4g}")
                bar.update(every if (step + 1) % every == 0 else (step + 1) % every)
    finally:
        bar.close()
    latent = list(_latent_sites(model, data))
    with torch.no_grad():
        samples = _posterior_draws(model, guide, num_samples, latent, data)
    tail = losses[-max(1, len(losses) // 10):] if losses else []
    info.update({
        "final_loss": losses[-1] if losses else float("nan"),
        "mean_final_loss": sum(tail) / len(tail) if tail else float("nan"),
        "losses": losses,
        "time_s": time.perf_counter() - t0,
    })
    _fire("pyro_inference_end", svi, info)
    return {"samples": samples, "group_by_chain": False, "info": info}


def _posterior_draws(model, guide, num_samples, latent, data) -> dict[str, torch.Tensor]:
    """``num_samples`` draws of the latent sites from the guide (vectorized when the
    model allows it, one run per draw otherwise), each with shape ``(num_samples,) +
    site_shape``."""
    from .predictive import Predictive

    try:
        out = Predictive(model, guide=guide, num_samples=num_samples, return_sites=latent,
                         parallel=True)(**data)
    except (RuntimeError, ValueError, IndexError):
        out = Predictive(model, guide=guide, num_samples=num_samples, return_sites=latent)(**data)
    prototype = _latent_sites(model, data)
    result = {}
    for name in latent:
        value = out[name]
        shape = prototype[name]["value"].shape
        if value.numel() == num_samples * shape.numel():
            value = value.reshape((num_samples,) + shape)
        result[name] = value
    return result


def importance_runner(model: Callable, data: dict[str, Any], *, num_steps: int = 1000,
                      num_samples: int = 1000, warmup_steps: int | None = None,
                      num_chains: int = 1, seed: int = 0, lr: float | None = None,
                      progress_bar: bool = True, **extra) -> dict[str, Any]:
    """Importance sampling: ``num_samples`` weighted traces with the prior as proposal (or
    the extra option ``guide``, a guide function), resampled (multinomially, with
    replacement) into ``num_samples`` posterior draws. ``info`` reports the effective
    sample size and the log evidence estimate."""
    from .importance import Importance

    guide = extra.pop("guide", None)
    _reject_extra("importance", extra)
    pyro.set_rng_seed(seed)
    info: dict[str, Any] = {"algo": "importance", "num_samples": num_samples}
    importance = Importance(model, guide=guide, num_samples=num_samples)
    _fire("pyro_inference_start", importance, info)
    t0 = time.perf_counter()
    importance.run(**data)
    samples = _resample(importance, num_samples)
    info.update({
        "ess": float(importance.get_ESS()),
        "log_evidence": float(importance.get_log_normalizer()),
        "time_s": time.perf_counter() - t0,
    })
    _fire("pyro_inference_end", importance, info)
    return {"samples": samples, "group_by_chain": False, "info": info}


def _resample(posterior: TracePosterior, num_samples: int) -> dict[str, torch.Tensor]:
    """``num_samples`` draws (with replacement, by weight) of the reported sites of a
    :class:`~pyro.infer.abstract_infer.TracePosterior`'s traces."""
    log_w = posterior.log_weight_tensor()
    weights = torch.softmax(log_w - log_w.max(), 0)
    idx = torch.multinomial(weights, num_samples, replacement=True)
    first = posterior.exec_traces[0]
    latent = [name for name, site in first.nodes.items() if _is_reported(site)]
    samples = {}
    for name in latent:
        values = torch.stack([torch.as_tensor(tr.nodes[name]["value"]).detach()
                              for tr in posterior.exec_traces])
        samples[name] = values[idx.to(values.device)]
    return samples


def search_runner(model: Callable, data: dict[str, Any], *, num_steps: int = 1000,
                  num_samples: int = 1000, warmup_steps: int | None = None,
                  num_chains: int = 1, seed: int = 0, lr: float | None = None,
                  progress_bar: bool = True, **extra) -> dict[str, Any]:
    """Exact inference for models whose latent sites are all discrete:
    :class:`~pyro.infer.Search` runs the model once per combination of latent values,
    weighted by its joint density; ``num_samples`` posterior draws are taken from those
    weights. ``info`` gives ``log_evidence`` (exact), ``num_traces`` and ``exact_means``
    (each reported site's exact posterior mean, as nested lists).

    Extra option: ``max_tries`` (the bound on executions, default 10**6).
    """
    from .search import Search

    max_tries = int(extra.pop("max_tries", int(1e6)))
    _reject_extra("search", extra)
    pyro.set_rng_seed(seed)
    continuous = [name for name, site in _latent_sites(model, data).items()
                  if not site["infer"].get("_deterministic")
                  and not getattr(site["fn"], "has_enumerate_support", False)]
    if continuous:
        raise ValueError(f"search enumerates discrete latent sites, but {continuous} are "
                         f"continuous; use svi, nuts or importance for this model")
    search = Search(model, max_tries=max_tries)
    info: dict[str, Any] = {"algo": "search", "num_samples": num_samples}
    _fire("pyro_inference_start", search, info)
    t0 = time.perf_counter()
    search.run(**data)
    samples = _resample(search, num_samples)
    # exact posterior means: the traces' values weighted by their normalized weights
    probs = torch.softmax(search.log_weight_tensor().double(), 0)
    exact = {}
    for name in samples:
        values = torch.stack([torch.as_tensor(tr.nodes[name]["value"]).double()
                              for tr in search.exec_traces])
        w = probs.to(values.device).reshape((-1,) + (1,) * (values.dim() - 1))
        exact[name] = (w * values).sum(0).tolist()
    info.update({
        "log_evidence": float(torch.logsumexp(search.log_weight_tensor(), 0)),
        "num_traces": len(search.exec_traces),
        "exact_means": exact,
        "time_s": time.perf_counter() - t0,
    })
    _fire("pyro_inference_end", search, info)
    return {"samples": samples, "group_by_chain": False, "info": info}


def _mcmc_runner(kernel_name: str, model: Callable, data: dict[str, Any], *,
                 num_steps: int = 1000, num_samples: int = 1000,
                 warmup_steps: int | None = None, num_chains: int = 1, seed: int = 0,
                 lr: float | None = None, progress_bar: bool = True,
                 **extra) -> dict[str, Any]:
    from .mcmc import HMC, MCMC, NUTS

    pyro.set_rng_seed(seed)
    kernel_cls = {"nuts": NUTS, "hmc": HMC}[kernel_name]
    kernel_options = {k: extra.pop(k) for k in list(extra) if k in _KERNEL_OPTIONS}
    # `num_steps` means SVI steps on the command line; HMC's leapfrog count is num_steps_hmc
    if "num_steps_hmc" in kernel_options:
        if kernel_name != "hmc":
            raise ValueError("num_steps_hmc (leapfrog steps per iteration) applies to hmc only; "
                             "NUTS chooses its trajectory length itself")
        kernel_options["num_steps"] = kernel_options.pop("num_steps_hmc")
    _reject_extra(kernel_name, extra)
    kernel = kernel_cls(model, **kernel_options)
    if warmup_steps is None:
        warmup_steps = num_samples // 2 if num_samples else 0
    mcmc = MCMC(kernel, num_samples=num_samples, warmup_steps=warmup_steps,
                num_chains=num_chains, disable_progbar=not progress_bar)
    t0 = time.perf_counter()
    mcmc.run(**data)
    group = num_chains > 1
    samples = dict(mcmc.get_samples(group_by_chain=group))
    samples.update(mcmc.get_deterministic(group_by_chain=group))  # reported beside latents
    info = {"algo": kernel_name, "num_samples": num_samples, "warmup_steps": warmup_steps,
            "num_chains": num_chains, "time_s": time.perf_counter() - t0}
    diagnostics = getattr(mcmc, "diagnostics", None)
    if callable(diagnostics):
        try:
            info["diagnostics"] = diagnostics()
        except (RuntimeError, ValueError, AssertionError):
            pass
    return {"samples": dict(samples), "group_by_chain": group, "info": info}


_KERNEL_OPTIONS = {"step_size", "adapt_step_size", "adapt_mass_matrix", "full_mass",
                   "target_accept_prob", "max_tree_depth", "num_steps_hmc", "trajectory_length",
                   "jit_compile", "init_strategy", "max_plate_nesting"}


def nuts_runner(model: Callable, data: dict[str, Any], **options) -> dict[str, Any]:
    """NUTS via :class:`pyro.infer.mcmc.MCMC` (``num_samples`` draws per chain after
    ``warmup_steps``, default ``num_samples // 2``). Kernel options (``step_size``,
    ``target_accept_prob``, ``max_tree_depth``, ...) pass through."""
    return _mcmc_runner("nuts", model, data, **options)


def hmc_runner(model: Callable, data: dict[str, Any], **options) -> dict[str, Any]:
    """HMC via :class:`pyro.infer.mcmc.MCMC` (see :func:`nuts_runner`)."""
    return _mcmc_runner("hmc", model, data, **options)


def _lookup(kind: str, name: str, package: str) -> Any:
    try:
        return lookup(kind, name)
    except KeyError:
        raise ValueError(
            f"the svi runner needs {kind[:-1]} {name!r}, which no installed plugin provides; "
            f"install {package}"
        ) from None


def _reject_extra(algo: str, extra: dict[str, Any]) -> None:
    if extra:
        raise ValueError(f"fit(algo={algo!r}): unknown options {sorted(extra)}")


def _progress(total: int, desc: str, disable: bool) -> Any:
    return progress_bar(total, desc, disable)


class FitResult(dict):
    """What :func:`fit` returns: a dict ``{"samples", "group_by_chain", "info"}`` (plus
    ``"param_store"`` for runners that train parameters) with the same table, plots and
    ArviZ data as ``pyro fit``.

    :ivar dict samples: site -> draws, shape ``(num_draws,) + site_shape`` or, when
        :attr:`group_by_chain`, ``(num_chains, num_draws) + site_shape``.
    """

    @property
    def samples(self) -> dict[str, torch.Tensor]:
        return self["samples"]

    @property
    def group_by_chain(self) -> bool:
        return bool(self.get("group_by_chain", False))

    @property
    def info(self) -> dict[str, Any]:
        return self.get("info", {})

    @property
    def param_store(self) -> ParamStoreDict | None:
        """The parameter store the fit trained (``None`` for sampling runners)."""
        return self.get("param_store")

    def summary_rows(self, prob: float = 0.9) -> list:
        """One dict per scalar element of each site (see :func:`pyro.cli.summary_rows`)."""
        from pyro.cli import summary_rows

        return summary_rows(self.samples, self.group_by_chain, prob)

    def summary(self, prob: float = 0.9) -> str:
        """The posterior summary table ``pyro fit`` prints: mean, std, the ``(1-prob)/2``,
        50% and ``(1+prob)/2`` quantiles (n_eff and r_hat with several chains)."""
        from pyro.cli import format_summary

        return format_summary(self.summary_rows(prob), prob)

    def plot(self, path: str | None = None) -> Any:
        """Trace plots and marginal histograms of every scalar element (needs
        matplotlib); written to ``path`` (PNG, PDF, SVG by its extension) when given.

        :returns: the matplotlib figure.
        """
        from pyro.cli import plot_samples

        return plot_samples(self.samples, self.group_by_chain, path)

    def to_arviz(self) -> Any:
        """The samples as an ``arviz.InferenceData`` (posterior group, dims
        ``chain, draw, ...``); needs the optional ``arviz`` package
        (``pip install pyro-infer[arviz]``)."""
        from pyro.cli import to_inference_data

        return to_inference_data(self.samples, self.group_by_chain)

    def __repr__(self) -> str:
        return f"FitResult(algo={self.info.get('algo')!r}, sites={list(self.samples)})"


def fit(model: Callable, data: dict[str, Any] | None = None, algo: str = "svi",
        **options) -> FitResult:
    """Fit ``model`` to ``data`` with the recipe ``algo`` (``"svi"``, ``"nuts"``,
    ``"hmc"``, ``"importance"``, ``"search"`` or a plugin's runner) — what ``pyro fit``
    runs. The user's parameter store is left as it is (SVI trains in a fresh one, kept
    in ``result.param_store``).

    :param model: a function called as ``model(**data)``.
    :param dict data: keyword arguments of the model.
    :param str algo: the runner's name in the ``runners`` registry.
    :param options: runner options (``num_steps``, ``num_samples``, ``warmup_steps``,
        ``num_chains``, ``seed``, ``lr``, ``progress_bar``; for svi ``guide``, ``loss``,
        ``num_particles``; ...).
    :returns: a :class:`FitResult` (a dict ``{"samples": {site: tensor},
        "group_by_chain": bool, "info": dict}`` with ``.summary()``, ``.plot()``,
        ``.to_arviz()``).
    :raises ValueError: for an unknown ``algo`` (listing the installed ones).
    """
    try:
        runner = lookup("runners", algo)
    except KeyError:
        from pyro.plugins import get_registry

        installed = ", ".join(sorted(get_registry("runners"))) or "none"
        raise ValueError(
            f"pyro.infer.fit: no runner named {algo!r} (installed: {installed})"
        ) from None
    result = runner(model, data or {}, **options)
    return FitResult(result) if isinstance(result, dict) else result
