"""``TraceTMC_ELBO``: the tensor Monte Carlo bound, contracted by ``pyro.ops.contract``."""
from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import torch

from pyro import poutine
from pyro.ops import packed
from pyro.ops.contract import contract_to_tensor
from pyro.ops.rings import LogRing
from pyro.poutine.enum_messenger import enumerate_site, free_enum_dim
from pyro.poutine.messenger import Messenger
from pyro.primitive_distributions.util import scale_and_mask

from .elbo import ELBO
from .enum import EnumFactors, site_log_prob, warn_if_nothing_enumerated
from .util import is_validation_enabled, site_is_subsample, torch_item

__all__ = ["TraceTMC_ELBO"]


class _TMCMessenger(Messenger):
    """Give every latent site marked ``infer={"enumerate": "parallel"}`` its own batch
    dim left of ``first_available_dim``, holding either its whole support (no
    ``num_samples``) or ``num_samples`` independent draws from its distribution (one set
    of draws for every value of the dims it already depends on: nested sampling).
    Records ``_enumerate_dim`` and ``_dim_to_id`` in the site's ``infer`` dict, as
    :class:`~pyro.poutine.enum_messenger.EnumMessenger` does, so that
    :class:`~pyro.infer.enum.EnumFactors` labels the log densities."""

    def __init__(self, fn: Callable | None = None, first_available_dim: int = -1) -> None:
        super().__init__(fn)
        self.first_available_dim = first_available_dim
        self._dims: dict[str, int] = {}
        self._current: dict[int, int] = {}
        self._sampled: dict[int, int] = {}  # dim of a sampled variable -> its num_samples

    def __enter__(self):
        self._dims = {}
        self._current = {}
        self._sampled = {}
        return super().__enter__()

    def _pyro_sample(self, msg) -> None:
        infer = msg["infer"]
        if msg["done"] or msg["is_observed"] or infer.get("enumerate") != "parallel":
            if self._current or "_dim_to_id" in infer:
                msg["infer"] = {**infer, "_dim_to_id": dict(self._current)}
            return
        fn = msg["fn"]
        batch_shape = fn.batch_shape
        dim = free_enum_dim(batch_shape, set(self._dims.values()), self.first_available_dim)
        num_samples = infer.get("num_samples")
        event_shape = fn.event_shape
        if num_samples is None:
            support = enumerate_site(msg)
            value = support.reshape(support.shape[:1] + (1,) * (-1 - dim) + event_shape)
        diagonal = []
        if num_samples is not None:
            draws = fn.rsample((num_samples,)) if fn.has_rsample else fn.sample((num_samples,))
            nb = len(batch_shape)
            target = max(nb, -dim)
            draws = draws.reshape((num_samples,) + (1,) * (target - nb) + draws.shape[1:])
            # move the draws' dim (leftmost) to ``dim``, whose size is 1 there
            value = draws.transpose(0, 1 + target + dim).squeeze(0)
            # the k-th draw follows the k-th draw of each sampled parent ("diagonal") or a
            # draw of each parent picked at random ("mixture")
            mixture = infer.get("tmc", "diagonal") == "mixture"
            for d in range(-nb, self.first_available_dim + 1):
                if batch_shape[d] != 1 and d in self._sampled:
                    if not mixture and self._sampled[d] != num_samples:
                        raise ValueError(
                            f"TraceTMC_ELBO: site {msg['name']!r} draws {num_samples} samples "
                            f"but depends on a sampled site with {self._sampled[d]}; give "
                            f"dependent sites the same num_samples (or tmc='mixture')"
                        )
                    index = (torch.randint(batch_shape[d], (num_samples,), device=value.device)
                             if mixture else torch.arange(num_samples, device=value.device))
                    value = select_parent(value, dim - len(event_shape),
                                          d - len(event_shape), index)
                    diagonal.append(d)
            self._sampled[dim] = num_samples
        var_id = len(self._dims)
        self._dims[msg["name"]] = dim
        self._current[dim] = var_id
        msg["value"] = value
        msg["infer"] = {**infer, "_enumerate_dim": dim, "_dim_to_id": dict(self._current),
                        "_tmc_diagonal": diagonal}
        msg["done"] = True


def select_parent(tensor: torch.Tensor, dim: int, parent_dim: int,
                  index: torch.Tensor) -> torch.Tensor:
    """The entries of ``tensor`` at ``parent_dim`` index ``index[k]`` for each ``k`` along
    ``dim`` (both negative); ``parent_dim`` is reduced to size 1."""
    r = tensor.dim()
    a, b = r + dim, r + parent_dim
    shape = [1] * r
    shape[a] = index.numel()
    target = list(tensor.shape)
    target[b] = 1
    return tensor.gather(b, index.reshape(shape).expand(target))


def proposal_log_prob(site, lp: torch.Tensor) -> torch.Tensor:
    """The log density of the distribution a sampled site's draws came from: ``lp``
    (the site's density given every parent draw) on the diagonal of each sampled
    parent's dim, or averaged over that dim for ``tmc="mixture"``."""
    own = site["infer"]["_enumerate_dim"]
    mixture = site["infer"].get("tmc", "diagonal") == "mixture"
    for parent in site["infer"].get("_tmc_diagonal", ()):
        if lp.dim() < -parent or lp.shape[parent] == 1:
            continue
        if mixture:
            lp = lp.logsumexp(parent, keepdim=True) - math.log(lp.shape[parent])
        else:
            lp = diagonal_of(lp, own, parent)
    return lp


def diagonal_of(tensor: torch.Tensor, dim: int, parent_dim: int) -> torch.Tensor:
    """The entries of ``tensor`` where the index along ``dim`` equals the index along
    ``parent_dim`` (both negative, ``dim`` left of ``parent_dim``, equal sizes): kept
    along ``dim``, with ``parent_dim`` reduced to size 1."""
    if tensor.dim() < -parent_dim or tensor.shape[parent_dim] == 1:
        return tensor
    r = tensor.dim()
    a, b = r + dim, r + parent_dim
    diag = tensor.diagonal(dim1=a, dim2=b).movedim(-1, a)
    return diag.unsqueeze(b)


class TraceTMC_ELBO(ELBO):
    """Tensor Monte Carlo [1]: a bound on ``log p(x)`` from importance sampling with
    exponentially many particles, computed in polynomial time by tensor variable
    elimination (:mod:`pyro.ops.contract`).

    Latent sites marked ``infer={"enumerate": "parallel", "num_samples": K}`` (e.g. by
    ``config_enumerate(guide, num_samples=K)``) get ``K`` draws along their own batch
    dim: in the guide, draws from ``q``; in the model (sites the guide does not sample),
    draws from the prior. The ``k``-th draw of a site follows the ``k``-th draws of the
    sampled sites it depends on (``tmc="diagonal"``, the default; dependent sites need the
    same ``K``) or a draw of each picked at random (``tmc="mixture"``: the proposal is
    the mixture over the parents' draws), so every factor has at most one sample dim per
    variable it holds.
    Sites marked ``"parallel"`` without ``num_samples`` are summed over their whole
    support, exactly. The estimate

    .. math:: \\hat p(x) = \\sum_{k_1 .. k_n} \\prod_i \\frac{1}{K_i}
        \\prod_{\\text{sites}} \\frac{p(\\cdot)}{q(\\cdot)}

    averages the importance weights of every combination of draws; it is contracted
    variable by variable, plate by plate (a local variable's draws are averaged inside
    its plate). ``E[p_hat] = p(x)``, so ``-E[log p_hat] >= -log p(x)``, tighter as ``K``
    grows, and exact when everything is enumerated. In the weight of a combination of
    draws the model's factors pair every draw of a child with every draw of its parents,
    while the guide's density of the child's ``k``-th draw is the one it was drawn from
    (given the parents' ``k``-th draws), which keeps ``p_hat`` unbiased.

    Gradients: reparameterized draws carry them; non-reparameterized guide draws add
    the score-function term ``log p_hat * grad sum log q``. Takes
    :class:`~pyro.infer.elbo.ELBO`'s arguments; ``num_particles`` independent estimates
    are averaged.

    :raises ValueError: naming the site, for a site enumerated without ``num_samples``
        whose distribution has no finite support.

    **References**

    [1] L. Aitchison, "Tensor Monte Carlo: Particle Methods for the GPU Era", NeurIPS
        2019.
    [2] F. Obermeyer et al., "Tensor Variable Elimination for Plated Factor Graphs",
        ICML 2019.
    """

    def _get_trace(self, model: Callable, guide: Callable, args, kwargs) -> tuple[Any, Any]:
        if self.max_plate_nesting == float("inf"):
            self._guess_max_plate_nesting(model, guide, args, kwargs)
        first = -1 - int(self.max_plate_nesting)
        guide_trace = poutine.trace(_TMCMessenger(guide, first)).get_trace(*args, **kwargs)
        dims = [s["infer"]["_enumerate_dim"] for s in guide_trace.nodes.values()
                if s["type"] == "sample" and "_enumerate_dim" in s["infer"]]
        model_first = min(dims) - 1 if dims else first
        model_trace = poutine.trace(
            _TMCMessenger(poutine.replay(model, trace=guide_trace), model_first)
        ).get_trace(*args, **kwargs)
        if is_validation_enabled():
            from .checks import check_model_guide_match

            check_model_guide_match(model_trace, guide_trace, self.max_plate_nesting)
        if self.strict_enumeration_warning:
            warn_if_nothing_enumerated("TraceTMC_ELBO", model_trace, guide_trace, stacklevel=4)
        return model_trace, guide_trace

    def _log_estimate(self, model_trace, guide_trace) -> tuple[torch.Tensor, Any]:
        """``(log p_hat, score)``: the contracted log estimate and the sum of the
        non-reparameterized guide draws' log densities (0 if none)."""
        packer = EnumFactors(guide_trace)
        tree: dict[frozenset, list[torch.Tensor]] = {}
        sum_syms = set()
        score: Any = 0.0

        def add(site, tensor, side, own_variable=True):
            ordinal = packer.ordinal(site)
            subsample = 1.0
            for sym in ordinal:
                subsample *= packer.plate_scale.get(sym, 1.0)
            scale = site["scale"] if subsample == 1.0 else site["scale"] / subsample
            term = packer.pack(scale_and_mask(tensor, scale, site["mask"]), site, side)
            sym = packer.site_symbol(site, side) if own_variable else None
            if sym is not None:
                sum_syms.add(sym)
                num = site["infer"].get("num_samples")
                if num is not None:  # the 1/K of the average over this site's draws
                    term = packed.labelled(term - math.log(num), packed.dims_of(term))
            tree.setdefault(ordinal, []).append(term)

        guide_nodes = guide_trace.nodes
        for name, site in model_trace.nodes.items():
            if site["type"] != "sample" or site_is_subsample(site):
                continue
            lp = site_log_prob(site)
            if name not in guide_nodes and site["infer"].get("num_samples") is not None:
                # drawn from the prior: the proposal of the k-th draw is the prior given the
                # parents' k-th draws, so p / q is 1 on the diagonal (for non-reparameterized
                # draws the score carries the parameters' gradient)
                proposal = proposal_log_prob(site, lp)
                lp = lp - (proposal if site["fn"].has_rsample else proposal.detach())
            add(site, lp, "model", own_variable=name not in guide_nodes)
        for site in guide_nodes.values():
            if site["type"] != "sample" or site_is_subsample(site):
                continue
            lp = site_log_prob(site)
            enumerated = "_enumerate_dim" in site["infer"]
            exact = enumerated and site["infer"].get("num_samples") is None
            if exact:
                # summed over the support: the guide's probabilities drop out
                lp = torch.zeros_like(lp)
            elif enumerated:
                # the proposal of the k-th draw is q given the k-th draws of its parents
                lp = proposal_log_prob(site, lp)
            elif not site["fn"].has_rsample:
                sf = scale_and_mask(lp, 1.0, site["mask"]).sum()
                score = score + sf
            add(site, -lp, "guide")
        if not tree:
            return torch.zeros(()), score
        ring = LogRing(plate_scale=packer.plate_scale)
        log_p_hat = contract_to_tensor(tree, sum_syms, ring=ring)
        return log_p_hat.reshape(()), score

    def differentiable_loss(self, model: Callable, guide: Callable, *args, **kwargs):
        """``-log p_hat`` averaged over particles, as a differentiable tensor."""
        loss: torch.Tensor | float = 0.0
        for model_trace, guide_trace in self._get_traces(model, guide, args, kwargs):
            log_p_hat, score = self._log_estimate(model_trace, guide_trace)
            surrogate = log_p_hat
            if isinstance(score, torch.Tensor):
                surrogate = surrogate + log_p_hat.detach() * (score - score.detach())
            loss = loss - surrogate / self.num_particles
        if is_validation_enabled() and isinstance(loss, torch.Tensor) and torch.isnan(loss):
            warnings.warn("Encountered NaN: loss", stacklevel=2)
        return loss if isinstance(loss, torch.Tensor) else torch.tensor(float(loss))

    def loss(self, model: Callable, guide: Callable, *args, **kwargs) -> float:
        """``-log p_hat`` averaged over particles (a float)."""
        with torch.no_grad():
            return torch_item(self.differentiable_loss(model, guide, *args, **kwargs))
