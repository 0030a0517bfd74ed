"""Discrete latent variables in HMC / NUTS: sites marked for parallel enumeration
(``infer={"enumerate": "parallel"}``, ``config_enumerate``) are summed out of the log
density inside the potential energy, by the one contraction engine
(:mod:`pyro.ops.contract`, through TraceEnum_ELBO's ``enum_model_costs``). After MCMC,
:func:`pyro.infer.discrete.infer_discrete` draws them from their posterior given each draw.

**References**

- F. Obermeyer, E. Bingham, M. Jankowiak, J. Chiu, N. Pradhan, A. Rush, N. Goodman (2019),
  "Tensor Variable Elimination for Plated Factor Graphs", ICML, arXiv:1902.03210.
"""
from __future__ import annotations

from collections.abc import Callable

import torch

import pyro.poutine as poutine
from pyro.poutine.trace_struct import Trace
from pyro.poutine.util import site_is_subsample

from .potential import LatentSite, ModelPotential

__all__ = ["EnumModelPotential", "TraceEinsumEvaluator", "TraceTreeEvaluator",
           "is_enumerated"]


def is_enumerated(site: dict) -> bool:
    """Whether a latent sample site is a discrete variable MCMC sums out."""
    if site["type"] != "sample" or site["is_observed"] or site_is_subsample(site):
        return False
    try:
        support = site["fn"].support
    except NotImplementedError:
        return False
    return (True
            and getattr(support, "is_discrete", False)
            and site["infer"].get("enumerate") == "parallel")


class TraceEinsumEvaluator:
    """The log joint density of an enumerated model trace with its enumerated variables
    summed out (variable elimination over plates, :mod:`pyro.ops.contract`).

    :param model_trace: a trace of the model (its structure; unused beyond Pyro's API).
    :param bool has_enumerable_sites: whether the model enumerates; when False the
        density is ``model_trace.log_prob_sum()``.
    :param int max_plate_nesting: the number of plate dims the model uses.

    **References** Obermeyer et al. (2019), arXiv:1902.03210.
    """

    def __init__(self, model_trace, has_enumerable_sites: bool = False,
                 max_plate_nesting: int | None = None) -> None:
        self.has_enumerable_sites = has_enumerable_sites
        self.max_plate_nesting = max_plate_nesting

    def log_density(self, model_trace) -> torch.Tensor:
        """The log density of a trace recorded under ``poutine.enum`` (a scalar)."""
        if not self.has_enumerable_sites:
            return model_trace.log_prob_sum()
        from ..traceenum_elbo import enum_model_costs

        total = None
        for _, term in enum_model_costs(model_trace, Trace()):
            part = term.sum() if isinstance(term, torch.Tensor) else torch.as_tensor(term)
            total = part if total is None else total + part
        return torch.zeros(()) if total is None else total


class TraceTreeEvaluator(TraceEinsumEvaluator):
    """Pyro's evaluator for models with ``pyro.markov`` dependence. Here the contraction
    engine labels factors by variable, so markov chains and plates are contracted exactly
    by the same code as :class:`TraceEinsumEvaluator`; this name is kept for programs
    written against Pyro.
    """


class EnumModelPotential(ModelPotential):
    """Potential energy of a model with enumerated discrete sites: the continuous sites
    take their values from the flat vector, the model runs under ``poutine.enum`` and the
    enumerated variables are summed out by :class:`TraceEinsumEvaluator`.

    :param int max_plate_nesting: the model's plate dims (enumeration uses dims left of
        them).
    """

    def __init__(self, model: Callable, model_args: tuple, model_kwargs: dict,
                 sites: list[LatentSite], max_plate_nesting: int) -> None:
        super().__init__(model, model_args, model_kwargs, sites)
        self.max_plate_nesting = max_plate_nesting
        self.evaluator = TraceEinsumEvaluator(None, has_enumerable_sites=True,
                                              max_plate_nesting=max_plate_nesting)

    def _potential_impl(self, z: torch.Tensor) -> torch.Tensor:
        values, log_det = self._constrained_values(z)
        # conditioning (not substitute, which is for params) fixes the continuous sites
        model = poutine.enum(poutine.condition(self.model, data=values),
                             first_available_dim=-1 - self.max_plate_nesting)
        trace = poutine.trace(model).get_trace(*self.model_args, **self.model_kwargs)
        log_joint = self.evaluator.log_density(trace)
        return -log_joint if log_det is None else -(log_joint + log_det)
