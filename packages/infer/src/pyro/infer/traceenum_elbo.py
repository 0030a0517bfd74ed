"""``TraceEnum_ELBO``: the ELBO with discrete latent variables summed out exactly."""
from __future__ import annotations

import math
import warnings
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import torch

from pyro.ops.contract import contract_tensor_tree
from pyro.ops.rings import LogRing
from pyro.poutine.messenger import Messenger
from pyro.poutine.trace_struct import site_log_prob, site_unscaled_log_prob
from pyro.poutine.util import site_is_subsample
from pyro.primitive_distributions.util import scale_and_mask

from .checks import check_model_guide_match, check_traces_site_shapes
from .elbo import ELBO, backward_loss, collect_params
from .enum import (
    EnumFactors,
    enum_factor_tree,
    iter_discrete_traces,
    sample_enumerated,
    warn_if_nothing_enumerated,
)
from .jit_elbo import JitELBOMixin
from .util import is_identically_one, is_validation_enabled, plate_frames, torch_item

__all__ = ["BackwardSampleMessenger", "JitTraceEnum_ELBO", "TraceEnum_ELBO"]


class TraceEnum_ELBO(ELBO):
    """An ELBO that sums discrete latent variables out exactly instead of sampling them.

    Sites marked ``infer={"enumerate": "parallel"}`` (e.g. by
    :func:`~pyro.infer.config_enumerate`) are enumerated along dims left of
    ``max_plate_nesting``:

    - in the **model** (sites the guide does not sample), they are marginalized by tensor
      variable elimination over the plates, giving ``log sum_z p(x, z | ...)`` exactly;
    - in the **guide**, every value is weighted by its guide probability, giving the
      exact expectation over those variables (and its exact gradient).

    Sites marked ``"sequential"`` in the guide are enumerated by running the guide once
    per value. Non-reparameterized sampled guide sites get score-function gradients
    (DiCE estimator with plate-wise dependencies).

    Subsampling scales apply where the product over a subsampled plate is taken; the
    other scales of the sites (``poutine.scale``) must agree within each group of factors
    that share an enumerated variable.

    :param max_plate_nesting: bound on nested plates (guessed when ``inf``); the
        enumeration dims start at ``-1 - max_plate_nesting``.

    Example (a Gaussian mixture with the assignment enumerated in the model)::

        elbo = TraceEnum_ELBO(max_plate_nesting=1)
        svi = SVI(config_enumerate(model), guide, Adam({"lr": 0.05}), elbo)

    **References**

    [1] F. Obermeyer et al., "Tensor Variable Elimination for Plated Factor Graphs",
        ICML 2019.
    [2] J. Foerster et al., "DiCE: The Infinitely Differentiable Monte Carlo Estimator",
        ICML 2018.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._checked: set = set()

    # ------------------------------------------------------------------ traces

    def _first_enum_dim(self) -> int:
        return -1 - int(self.max_plate_nesting)

    def _get_trace(self, model: Callable, guide: Callable, args, kwargs):
        traces = list(self._iter_enum_traces(model, guide, args, kwargs))
        return traces[0]

    def _iter_enum_traces(self, model: Callable, guide: Callable, args, kwargs):
        """Yield ``(model_trace, guide_trace)`` for each sequentially enumerated guide
        trace, in Pyro's order (one pair when the guide has no sequential sites). The
        guide runs under parallel enumeration first; the model then runs once against
        each complete guide trace, its enumeration dims left of the guide's."""
        if self.max_plate_nesting == float("inf"):
            self._guess_max_plate_nesting(model, guide, args, kwargs)
        from pyro.poutine.enum_messenger import EnumMessenger

        first = self._first_enum_dim()
        enum_guide = EnumMessenger(first_available_dim=first)(guide)
        for guide_trace in iter_discrete_traces("flat", enum_guide, *args, **kwargs):
            model_trace = self._run_model(model, guide_trace, args, kwargs, first)
            self._validate(model_trace, guide_trace)
            yield model_trace, guide_trace

    def _model_first_dim(self, guide_trace, first: int) -> int:
        # The model's enumeration dims go left of the guide's.
        dims = [
            site["infer"]["_enumerate_dim"]
            for site in guide_trace.nodes.values()
            if site["type"] == "sample" and site["infer"].get("_enumerate_dim") is not None
        ]
        return min(dims) - 1 if dims else first

    def _run_model(self, model, guide_trace, args, kwargs, first):
        from pyro import poutine
        from pyro.poutine.enum_messenger import EnumMessenger

        model_first = self._model_first_dim(guide_trace, first)
        return poutine.trace(
            EnumMessenger(first_available_dim=model_first)(
                poutine.replay(model, trace=guide_trace)
            )
        ).get_trace(*args, **kwargs)

    def _get_traces(self, model, guide, args, kwargs):
        if self.vectorize_particles:
            if self.max_plate_nesting == float("inf"):
                self._guess_max_plate_nesting(model, guide, args, kwargs)
            wrapped_model = self._vectorized_num_particles(model)
            wrapped_guide = self._vectorized_num_particles(guide)
            yield from self._iter_enum_traces(wrapped_model, wrapped_guide, args, kwargs)
        else:
            for _ in range(self.num_particles):
                yield from self._iter_enum_traces(model, guide, args, kwargs)

    def _validate(self, model_trace, guide_trace) -> None:
        if self.strict_enumeration_warning:
            warn_if_nothing_enumerated("TraceEnum_ELBO", model_trace, guide_trace, stacklevel=4)
        if not is_validation_enabled():
            return
        key = (tuple(model_trace.nodes), tuple(guide_trace.nodes))
        if key in self._checked:
            return
        check_model_guide_match(model_trace, guide_trace, self.max_plate_nesting)
        check_traces_site_shapes(int(self.max_plate_nesting), model_trace, guide_trace)
        if len(self._checked) > 64:
            self._checked.clear()
        self._checked.add(key)

    # --------------------------------------------------------------- the ELBO

    def _compute_particle(self, model_trace,
                          guide_trace) -> tuple[torch.Tensor | float, torch.Tensor | float]:
        """``(elbo, surrogate_elbo)`` of one (model, guide) trace pair."""
        guide_nodes = guide_trace.nodes
        costs: list[tuple[frozenset, Any]] = []
        dice: list[tuple[frozenset, torch.Tensor]] = []
        guide_enum_dims: dict[int, frozenset] = {}

        for site in guide_nodes.values():
            if site["type"] != "sample" or site_is_subsample(site):
                continue
            ordinal = plate_frames(site)
            raw = site_unscaled_log_prob(site)
            infer = site["infer"]
            enum_dim = infer.get("_enumerate_dim")
            mask = site["mask"]
            if enum_dim is not None or infer.get("_enum_total") is not None:
                dice.append((ordinal, scale_and_mask(raw, 1.0, mask)))
                if enum_dim is not None:
                    guide_enum_dims[enum_dim] = ordinal
            elif not getattr(site["fn"], "has_rsample", False):
                sf = scale_and_mask(raw, 1.0, mask)
                dice.append((ordinal, sf - sf.detach()))
            costs.append((ordinal, -site_log_prob(site)))

        # Model sites: enumerated ones (not sampled by the guide) and the factors that
        # depend on them go through tensor variable elimination; the rest are plain costs.
        for ordinal, term in enum_model_costs(model_trace, guide_trace):
            costs.append((ordinal, term))

        # Expectations over the guide's enumerated / score-function variables.
        surrogate: torch.Tensor | float = 0.0
        if not dice:
            for _, cost in costs:
                surrogate = surrogate + cost.sum()
            return surrogate, surrogate
        for ordinal, cost in costs:
            logw = None
            for o, f in dice:
                if o <= ordinal:
                    logw = f if logw is None else logw + f
            if logw is None:
                surrogate = surrogate + cost.sum()
            else:
                surrogate = surrogate + (logw.exp() * cost).sum()
        return _detach(surrogate), surrogate

    # -------------------------------------------------------------------- API

    def compute_marginals(self, model: Callable, guide: Callable, *args, **kwargs) -> dict:
        """The exact posterior marginal of each site the model enumerates, given the
        observations and one sample of the guide.

        Computed as the gradient of the log partition function with respect to an
        indicator factor per variable (:class:`~pyro.ops.rings.MarginalRing`).

        :returns: an ``OrderedDict`` from site name to a distribution over the site's
            values with the site's plate batch shape: ``Bernoulli(logits=...)`` for a
            Bernoulli site, ``Categorical(logits=...)`` over support positions otherwise.
        :raises ValueError: when the guide enumerates variables (marginals are then
            conditional on each of their values; sample them in the guide instead).
        """
        model_trace, guide_trace = next(iter(self._iter_enum_traces(model, guide, args, kwargs)))
        return enum_marginals(model_trace, guide_trace)

    def sample_posterior(self, model: Callable, guide: Callable, *args, **kwargs):
        """Run the model once with every site it enumerates drawn from its exact joint
        posterior given the observations and one sample of the guide (backward sampling
        through the same contraction as the loss); returns what the model returns."""
        model_trace, guide_trace = next(iter(self._iter_enum_traces(model, guide, args, kwargs)))
        from pyro import poutine

        with BackwardSampleMessenger(model_trace, guide_trace):
            return poutine.replay(model, trace=guide_trace)(*args, **kwargs)

    def differentiable_loss(self, model: Callable, guide: Callable, *args, **kwargs):
        """The negative ELBO as a differentiable tensor (exact over enumerated sites)."""
        loss: torch.Tensor | float = 0.0
        for model_trace, guide_trace in self._get_traces(model, guide, args, kwargs):
            _, surrogate = self._compute_particle(model_trace, guide_trace)
            loss = loss - surrogate
        loss = loss / self.num_particles
        return loss if isinstance(loss, torch.Tensor) else torch.tensor(float(loss))

    def loss(self, model: Callable, guide: Callable, *args, **kwargs) -> float:
        """The negative ELBO estimate (a float)."""
        with torch.no_grad():
            loss = 0.0
            for model_trace, guide_trace in self._get_traces(model, guide, args, kwargs):
                elbo, _ = self._compute_particle(model_trace, guide_trace)
                loss = loss - torch_item(elbo)
        loss = loss / self.num_particles
        if is_validation_enabled() and math.isnan(loss):
            warnings.warn("Encountered NaN: loss", stacklevel=2)
        return loss

    def _loss_and_grads_and_params(self, model, guide, args, kwargs):
        loss = 0.0
        params: dict[str, torch.Tensor] = {}
        n = self.num_particles
        for model_trace, guide_trace in self._get_traces(model, guide, args, kwargs):
            elbo, surrogate = self._compute_particle(model_trace, guide_trace)
            loss = loss - _detach(elbo)
            for name, p in collect_params(guide_trace, model_trace).items():
                params.setdefault(name, p)
            if isinstance(surrogate, torch.Tensor) and surrogate.requires_grad:
                # (times -1 is the negation: the same bits and gradient, no scalar operand)
                scaled = -surrogate if n == 1 else surrogate * (-1.0 / n)
                backward_loss(scaled, self.retain_graph)
        loss = torch_item(loss) / n
        if is_validation_enabled() and math.isnan(loss):
            warnings.warn("Encountered NaN: loss", stacklevel=2)
        return loss, params


def enum_model_costs(model_trace, guide_trace) -> list[tuple[frozenset, Any]]:
    """The model's log densities as ``[(plate frames, log factor)]``, with the variables
    the model enumerates (and the guide does not sample) summed out exactly.

    Each factor that holds a model-enumerated variable is labelled by variable (not by
    tensor dim, which ``pyro.markov`` recycles) and contracted by
    :func:`pyro.ops.contract.contract_tensor_tree`; the results, multiplied over their
    plates' subsampling scales and the sites' common ``poutine.scale``, are returned with
    the factors that hold no such variable.
    """
    enum = enum_factor_tree(model_trace, guide_trace)
    packer, tree = enum.packer, enum.tree
    costs: list[tuple[frozenset, Any]] = [
        (plate_frames(site), site_log_prob(site))
        for site in enum.plain_sites
    ]
    if not tree:
        return costs
    common = _common_scale(enum.scales)
    ring = LogRing(plate_scale=packer.plate_scale)
    for ordinal, terms in contract_tensor_tree(tree, enum.sum_syms, ring=ring).items():
        frames = packer.frames(ordinal)
        scale = 1.0
        for sym in ordinal:
            scale *= packer.plate_scale.get(sym, 1.0)
        if not is_identically_one(common):
            scale = common * scale
        for term in terms:
            _check_guide_variables(term, ordinal, packer, guide_trace)
            term = packer.unpack(term)
            costs.append((frames, term if is_identically_one(scale) else term * scale))
    return costs


def enum_marginals(model_trace, guide_trace) -> OrderedDict[str, Any]:
    """Posterior marginals of the model-enumerated sites of ``model_trace`` (see
    :meth:`TraceEnum_ELBO.compute_marginals`)."""
    import pyro.distributions as dist
    from pyro.ops.contract import contract_to_tensor
    from pyro.ops.rings import MarginalRing, align, label

    for site in guide_trace.nodes.values():
        if site["type"] == "sample" and site["infer"].get("_enumerate_dim") is not None:
            raise ValueError(
                f"compute_marginals: the guide enumerates site {site['name']!r}; the model's "
                f"marginals would depend on its value. Sample it in the guide instead"
            )
    enum = enum_factor_tree(model_trace, guide_trace)
    packer = enum.packer
    tree = {o: list(ts) for o, ts in enum.tree.items()}
    markers = []
    for sym, name in packer.var_site.items():
        if sym not in enum.sum_syms:
            continue
        site = model_trace.nodes[name]
        ordinal = packer.ordinal(site)
        plates = sorted(ordinal, key=lambda p: packer.symbol_to_dim[p])
        k = site["fn"].enumerate_support(expand=False).shape[0]
        like = site_unscaled_log_prob(site)
        shape = (k,) + tuple(packer.plate_frame[p].size for p in plates)
        marker = torch.zeros(shape, dtype=like.dtype, device=like.device).requires_grad_()
        tree.setdefault(ordinal, []).append(label(marker, sym + "".join(plates)))
        markers.append((name, site, marker, sym, plates))
    result: OrderedDict[str, Any] = OrderedDict()
    if not markers:
        return result
    with torch.enable_grad():
        log_z = contract_to_tensor(tree, enum.sum_syms,
                                   ring=MarginalRing(plate_scale=packer.plate_scale))
        grads = torch.autograd.grad(log_z.sum(), [m[2] for m in markers])
    for (name, site, _, sym, plates), grad in zip(markers, grads):
        # d log Z / d indicator is the marginal, times the subsampling scale of its plates
        probs = grad / grad.sum(0, keepdim=True)
        probs = align(probs, sym + "".join(plates), "".join(plates) + sym)
        depth = max([-packer.symbol_to_dim[p] for p in plates], default=0)
        batch = [1] * depth
        for p in plates:
            batch[depth + packer.symbol_to_dim[p]] = packer.plate_frame[p].size
        logits = probs.reshape(tuple(batch) + (probs.shape[-1],)).log()
        if isinstance(site["fn"], torch.distributions.Bernoulli):
            result[name] = dist.Bernoulli(logits=logits[..., 1] - logits[..., 0])
        else:
            result[name] = dist.Categorical(logits=logits)
    return result


def _check_guide_variables(term, ordinal, packer: EnumFactors, guide_trace) -> None:
    """A guide-enumerated variable local to a plate must not be multiplied over it."""
    for site in guide_trace.nodes.values():
        if site["type"] != "sample" or site["infer"].get("_enumerate_dim") is None:
            continue
        sym = packer.site_symbol(site, "guide")
        home = packer.ordinal(site)
        if sym in term._pyro_dims and not home <= ordinal:
            raise ValueError(
                f"TraceEnum_ELBO: a factor depends on the guide-enumerated site "
                f"{site['name']!r}, local to plates {sorted(f.name for f in plate_frames(site))}, "
                f"and on a model-enumerated variable outside them; enumerate that variable in "
                f"the model instead, or sample it in the guide"
            )


class BackwardSampleMessenger(Messenger):
    """While the model runs again, give each site the model enumerated in ``enum_trace``
    (a model trace from :class:`TraceEnum_ELBO`, replayed against ``guide_trace``) a value
    drawn from its exact posterior given the guide's values and the observations.

    :param enum_trace: the enumerated model trace.
    :param guide_trace: the guide trace it was replayed against.
    """

    def __init__(self, enum_trace, guide_trace) -> None:
        super().__init__()
        self.enum_trace = enum_trace
        self.guide_trace = guide_trace
        self.values = sample_enumerated(enum_trace, 1, guide_trace)

    def _pyro_sample(self, msg) -> None:
        value = self.values.get(msg["name"])
        if value is None or msg["is_observed"]:
            return
        msg["value"] = value
        msg["infer"] = {k: v for k, v in msg["infer"].items() if k != "enumerate"}
        msg["done"] = True


def _detach(x: Any) -> Any:
    return x.detach() if isinstance(x, torch.Tensor) else x


def _common_scale(named_scales: list[tuple[str, Any]]) -> Any:
    """The one scale shared by the factors of the enumerated variables (besides
    subsampling). Raises ``ValueError`` naming the sites when they differ."""
    first_name, first = named_scales[0]
    for name, s in named_scales[1:]:
        if s is first:
            continue
        if isinstance(s, torch.Tensor) or isinstance(first, torch.Tensor):
            same = torch.equal(torch.as_tensor(s), torch.as_tensor(first))
        else:
            same = s == first
        if not same:
            raise ValueError(
                f"TraceEnum_ELBO: sites {first_name!r} and {name!r} depend on the same "
                f"enumerated variable but have different scales ({first} vs {s}); "
                f"enumeration needs a common poutine.scale for them"
            )
    return first


class JitTraceEnum_ELBO(JitELBOMixin, TraceEnum_ELBO):
    """:class:`TraceEnum_ELBO` compiled with :func:`pyro.ops.jit.trace`: the same loss and
    gradient estimates, with the model and guide replayed as a recorded graph (see
    :mod:`pyro.infer.jit_elbo` for the models this supports and why).

    Takes :class:`TraceEnum_ELBO`'s arguments; ``ignore_jit_warnings=True`` silences the
    tracer's warnings and ``jit_options`` are passed to ``torch.jit.trace``.

    :raises RuntimeError: at the first call, naming the model, the guide and the cause,
        when their run cannot be compiled.
    """
