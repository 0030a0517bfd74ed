"""``pyro.infer.fit`` and the fitting recipes (runners) behind ``pyro fit --algo NAME``.

A runner is ``runner(model, data, *, num_steps=1000, num_samples=1000, warmup_steps=None,
num_chains=1, seed=0, lr=None, progress_bar=True, **extra) -> dict`` returning
``{"samples": {site: tensor}, "group_by_chain": bool, "info": {...}}``; samples have a
leading draw dim, or ``(chains, draws)`` leading dims when ``group_by_chain`` is true.
The model is called as ``model(**data)``.
"""
from __future__ import annotations

import time
from typing import Any, Callable, Dict, Optional

import torch

import pyro
from pyro import poutine
from pyro.plugins import event_hook, lookup

from .util import site_is_subsample

__all__ = ["fit", "hmc_runner", "importance_runner", "nuts_runner", "progress_bar", "svi_runner"]


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


def _latent_sites(model: Callable, data: Dict[str, Any]) -> Dict[str, Any]:
    """The sites a fit reports, from one prior run of the model: latent sample sites and
    ``pyro.deterministic`` sites (functions of them, as MCMC reports them too)."""
    with poutine.block():
        trace = poutine.trace(model).get_trace(**data)
    return {name: site for name, site in trace.nodes.items() if _is_reported(site)}


def _is_reported(site: Dict[str, Any]) -> bool:
    return (site["type"] == "sample" and not site_is_subsample(site)
            and (not site["is_observed"] or bool(site["infer"].get("_deterministic"))))


def _fire(name: str, algorithm: Any, info: dict) -> None:
    hook = event_hook(name)
    if hook is not None:
        hook(algorithm=algorithm, info=info)


def svi_runner(model: Callable, data: Dict[str, Any], *, num_steps: int = 1000,
               num_samples: int = 1000, warmup_steps: Optional[int] = None,
               num_chains: int = 1, seed: int = 0, lr: Optional[float] = None,
               progress_bar: bool = True, **extra) -> Dict[str, Any]:
    """Fit an AutoNormal guide by SVI (Trace_ELBO, Adam) and draw ``num_samples``
    posterior samples of the latent sites from it.

    Extra options: ``guide`` (an autoguide class or name, default ``"AutoNormal"``),
    ``num_particles`` (default 1).
    """
    from .svi import SVI
    from .trace_elbo import Trace_ELBO

    # autoguides and optimizers come from the packages above this one, via the registry
    guide_cls = extra.pop("guide", "AutoNormal")
    if isinstance(guide_cls, str):
        guide_cls = _lookup("autoguides", guide_cls, "pyro-autoguide")
    Adam = _lookup("optimizers", "Adam", "pyro-optim")
    pyro.set_rng_seed(seed)
    pyro.clear_param_store()
    num_particles = int(extra.pop("num_particles", 1))
    _reject_extra("svi", extra)
    guide = guide_cls(model)
    elbo = Trace_ELBO(num_particles=num_particles)
    svi = SVI(model, guide, Adam({"lr": 0.01 if lr is None else lr}), elbo)
    info: Dict[str, Any] = {"algo": "svi", "num_steps": num_steps}
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


def _posterior_draws(model, guide, num_samples, latent, data) -> Dict[str, torch.Tensor]:
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


def importance_runner(model: Callable, data: Dict[str, Any], *, num_steps: int = 1000,
                      num_samples: int = 1000, warmup_steps: Optional[int] = None,
                      num_chains: int = 1, seed: int = 0, lr: Optional[float] = None,
                      progress_bar: bool = True, **extra) -> Dict[str, Any]:
    """Importance sampling with the prior as proposal: ``num_samples`` weighted traces,
    resampled (multinomially, with replacement) into ``num_samples`` posterior draws.
    ``info`` reports the effective sample size and the log evidence estimate."""
    from .importance import Importance

    _reject_extra("importance", extra)
    pyro.set_rng_seed(seed)
    info: Dict[str, Any] = {"algo": "importance", "num_samples": num_samples}
    importance = Importance(model, guide=None, num_samples=num_samples)
    _fire("pyro_inference_start", importance, info)
    t0 = time.perf_counter()
    importance.run(**data)
    weights = importance.get_normalized_weights()
    idx = torch.multinomial(weights, num_samples, replacement=True)
    latent = [name for name, site in importance.exec_traces[0].nodes.items() if _is_reported(site)]
    samples = {}
    for name in latent:
        values = torch.stack([tr.nodes[name]["value"].detach() for tr in importance.exec_traces])
        samples[name] = values[idx]
    info.update({
        "ess": float(importance.get_ESS()),
        "log_evidence": float(importance.get_log_normalizer()),
        "time_s": time.perf_counter() - t0,
    })
    _fire("pyro_inference_end", importance, info)
    return {"samples": samples, "group_by_chain": False, "info": info}


def _mcmc_runner(kernel_name: str, model: Callable, data: Dict[str, Any], *,
                 num_steps: int = 1000, num_samples: int = 1000,
                 warmup_steps: Optional[int] = None, num_chains: int = 1, seed: int = 0,
                 lr: Optional[float] = None, progress_bar: bool = True,
                 **extra) -> Dict[str, Any]:
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


def nuts_runner(model: Callable, data: Dict[str, Any], **options) -> Dict[str, Any]:
    """NUTS via :class:`pyro.infer.mcmc.MCMC` (``num_samples`` draws per chain after
    ``warmup_steps``, default ``num_samples // 2``). Kernel options (``step_size``,
    ``target_accept_prob``, ``max_tree_depth``, ...) pass through."""
    return _mcmc_runner("nuts", model, data, **options)


def hmc_runner(model: Callable, data: Dict[str, Any], **options) -> Dict[str, Any]:
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


def _reject_extra(algo: str, extra: Dict[str, Any]) -> None:
    if extra:
        raise ValueError(f"fit(algo={algo!r}): unknown options {sorted(extra)}")


def _progress(total: int, desc: str, disable: bool) -> Any:
    return progress_bar(total, desc, disable)


def fit(model: Callable, data: Optional[Dict[str, Any]] = None, algo: str = "svi",
        **options) -> Dict[str, Any]:
    """Fit ``model`` to ``data`` with the recipe ``algo`` (``"svi"``, ``"nuts"``,
    ``"hmc"``, ``"importance"`` or a plugin's runner) — what ``pyro fit`` runs.

    :param model: a function called as ``model(**data)``.
    :param dict data: keyword arguments of the model.
    :param str algo: the runner's name in the ``runners`` registry.
    :param options: runner options (``num_steps``, ``num_samples``, ``warmup_steps``,
        ``num_chains``, ``seed``, ``lr``, ``progress_bar``, ...).
    :returns: ``{"samples": {site: tensor}, "group_by_chain": bool, "info": dict}``.
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
    return runner(model, data or {}, **options)
