"""``Predictive``: draws from the posterior predictive distribution."""
from __future__ import annotations

import warnings
from typing import Callable, Dict, Optional, Sequence, Tuple

import torch

import pyro
from pyro import poutine

from .util import plate_nesting, site_is_subsample

__all__ = ["Predictive"]

_PLATE_NAME = "_num_predictive_samples"


def _guess_max_plate_nesting(model: Callable, args: Tuple, kwargs: dict) -> int:
    with poutine.block():
        trace = poutine.trace(model).get_trace(*args, **kwargs)
    return plate_nesting(trace)


def _predictive(
    model: Callable,
    posterior_samples: Dict[str, torch.Tensor],
    num_samples: int,
    return_sites: Optional[Sequence[str]],
    parallel: bool,
    args: Tuple,
    kwargs: dict,
) -> Dict[str, torch.Tensor]:
    """Run ``model`` ``num_samples`` times conditioned on the ``i``-th entry of each
    posterior sample, and collect the values of the requested sites with shape
    ``(num_samples,) + (1,) * pad + value_shape`` (the value padded to the model's plate
    nesting, as the vectorized run produces it).

    ``return_sites``: ``None`` for every sample site, an empty sequence for the sites not
    in ``posterior_samples``, else those names (``"_RETURN"`` for the return value).
    """
    masked = poutine.mask(model, mask=False)
    with torch.no_grad():
        with poutine.block():
            prototype = poutine.trace(masked).get_trace(*args, **kwargs)
        nesting = plate_nesting(prototype)

        shapes: Dict[str, Optional[torch.Size]] = {}
        for name, site in prototype.nodes.items():
            if site["type"] != "sample" or site_is_subsample(site):
                continue
            if not isinstance(site["value"], torch.Tensor):
                continue
            pad = max(0, nesting - len(getattr(site["fn"], "batch_shape", ())))
            shape = torch.Size((num_samples,) + (1,) * pad + tuple(site["value"].shape))
            if return_sites is None:
                shapes[name] = shape
            elif return_sites:
                if name in return_sites:
                    shapes[name] = shape
            elif name not in posterior_samples:
                shapes[name] = shape
        if return_sites and "_RETURN" in return_sites:
            value = prototype.nodes["_RETURN"]["value"]
            shapes["_RETURN"] = (
                torch.Size((num_samples,) + tuple(value.shape))
                if isinstance(value, torch.Tensor) else None
            )
        if return_sites:
            missing = [s for s in return_sites if s not in shapes]
            if missing:
                names = [n for n, s in prototype.nodes.items() if s["type"] == "sample"]
                raise ValueError(
                    f"Predictive: return_sites {missing} are not sample sites of the model "
                    f"(its sites: {names})"
                )

        if parallel:
            reshaped = {}
            for name, value in posterior_samples.items():
                event = value.shape[1:]
                reshaped[name] = value.reshape(
                    (num_samples,) + (1,) * max(0, nesting - len(event)) + event
                )

            def vectorized(*a, **kw):
                with pyro.plate(_PLATE_NAME, num_samples, dim=-nesting - 1):
                    return masked(*a, **kw)

            trace = poutine.trace(poutine.condition(vectorized, data=reshaped)).get_trace(
                *args, **kwargs
            )
            out = {}
            for name, shape in shapes.items():
                value = trace.nodes[name]["value"]
                if shape is None:
                    out[name] = value
                elif value.numel() < shape.numel():
                    out[name] = value.expand(shape)
                else:
                    out[name] = value.reshape(shape)
            return out

        collected = {name: [] for name in shapes}
        for i in range(num_samples):
            data = {name: value[i] for name, value in posterior_samples.items()}
            trace = poutine.trace(poutine.condition(masked, data=data)).get_trace(*args, **kwargs)
            for name in shapes:
                collected[name].append(trace.nodes[name]["value"])
        out = {}
        for name, shape in shapes.items():
            values = collected[name]
            if shape is None:
                out[name] = values
            else:
                out[name] = torch.stack(values).reshape(shape)
        return out


class Predictive(torch.nn.Module):
    """The posterior predictive distribution: run the model conditioned on posterior
    draws of its latent sites.

    The draws come from ``posterior_samples`` (a dict ``site -> tensor`` with a leading
    draw dim, e.g. ``mcmc.get_samples()``) or from running ``guide`` ``num_samples``
    times. Observed sites keep the data passed to the model: call the model with
    ``obs=None`` arguments to sample new observations.

    ``Predictive(model, guide=guide, num_samples=1000)(*args)`` returns a dict of tensors
    of shape ``(num_samples,) + (1,) * pad + site_shape`` (``pad`` puts the site's batch
    dims at the model's plate dims, as a vectorized run does).

    :param model: the model.
    :param dict posterior_samples: posterior draws (leading dim = number of draws).
    :param guide: a guide to draw latent values from (exclusive with
        ``posterior_samples``).
    :param int num_samples: the number of draws (from the guide or the prior);
        inferred from ``posterior_samples`` when given.
    :param return_sites: the sites to return; by default the sample sites not in
        ``posterior_samples`` (every sample site when a guide is given), observed and
        ``pyro.deterministic`` sites included (``predictive(...)["rate"]``), plate
        subsample sites excluded.
        ``"_RETURN"`` requests the model's return value.
    :param bool parallel: run all draws at once inside an outer plate (the model must
        broadcast correctly over batch dims).
    :raises ValueError: if neither ``posterior_samples`` nor ``num_samples`` is given,
        or both ``guide`` and ``posterior_samples`` are.
    """

    def __init__(
        self,
        model: Callable,
        posterior_samples: Optional[Dict[str, torch.Tensor]] = None,
        guide: Optional[Callable] = None,
        num_samples: Optional[int] = None,
        return_sites: Sequence[str] = (),
        parallel: bool = False,
    ) -> None:
        super().__init__()
        if posterior_samples is None:
            if num_samples is None:
                raise ValueError("Predictive: give posterior_samples or num_samples")
            posterior_samples = {}
        for name, value in posterior_samples.items():
            size = value.shape[0]
            if num_samples is None:
                num_samples = size
            elif num_samples != size:
                warnings.warn(
                    f"Predictive: posterior sample {name!r} has {size} draws but "
                    f"num_samples={num_samples}; using {size}",
                    UserWarning,
                    stacklevel=2,
                )
                num_samples = size
        if num_samples is None:
            raise ValueError("Predictive: posterior_samples is empty; give num_samples")
        if guide is not None and posterior_samples:
            raise ValueError("Predictive: give either posterior_samples or guide, not both")
        if return_sites is not None and not isinstance(return_sites, (list, tuple, set)):
            raise ValueError(
                f"Predictive: return_sites must be a list, tuple or set of site names, got "
                f"{type(return_sites).__name__}"
            )
        self.model = model
        self.posterior_samples = posterior_samples
        self.num_samples = int(num_samples)
        self.guide = guide
        self.return_sites = return_sites
        self.parallel = parallel

    def forward(self, *args, **kwargs) -> Dict[str, torch.Tensor]:
        """Draw from the posterior predictive; ``args``/``kwargs`` go to the model (and
        guide)."""
        posterior_samples = self.posterior_samples
        return_sites = self.return_sites
        if self.guide is not None:
            return_sites = return_sites if return_sites else None
            posterior_samples = _predictive(
                self.guide, {}, self.num_samples, None, self.parallel, args, kwargs
            )
        return _predictive(
            self.model, posterior_samples, self.num_samples, return_sites, self.parallel,
            args, kwargs,
        )

    def get_samples(self, *args, **kwargs) -> Dict[str, torch.Tensor]:
        """Same as calling the predictive (kept for older code)."""
        return self.forward(*args, **kwargs)

    def get_vectorized_trace(self, *args, **kwargs):
        """One trace of the model run on all draws at once (inside an outer plate)."""
        posterior_samples = self.posterior_samples
        if self.guide is not None:
            posterior_samples = _predictive(
                self.guide, {}, self.num_samples, None, True, args, kwargs
            )
        nesting = _guess_max_plate_nesting(self.model, args, kwargs)
        reshaped = {}
        for name, value in posterior_samples.items():
            event = value.shape[1:]
            reshaped[name] = value.reshape(
                (self.num_samples,) + (1,) * max(0, nesting - len(event)) + event
            )
        num_samples = self.num_samples
        model = self.model

        def vectorized(*a, **kw):
            with pyro.plate(_PLATE_NAME, num_samples, dim=-nesting - 1):
                return model(*a, **kw)

        return poutine.trace(poutine.condition(vectorized, data=reshaped)).get_trace(
            *args, **kwargs
        )
