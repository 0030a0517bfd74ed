"""Posterior samples and MAP values of a model's discrete latent variables.

:func:`infer_discrete` runs the model once with its discrete sites enumerated, contracts
the log factors by tensor variable elimination with a ring that records each elimination
(:class:`~pyro.ops.rings.SampleRing` or :class:`~pyro.ops.rings.MapRing`), draws every
enumerated variable backwards (last eliminated first, given those drawn before), and runs
the model again with those values. :class:`TraceEnumSample_ELBO` does the same with the
traces a :class:`~pyro.infer.TraceEnum_ELBO` loss computation has already made.

**References**

[1] F. Obermeyer et al., "Tensor Variable Elimination for Plated Factor Graphs", ICML 2019.

[2] A. Viterbi, "Error bounds for convolutional codes and an asymptotically optimum
    decoding algorithm", IEEE Trans. Inf. Theory 13(2), 1967.
"""
from __future__ import annotations

import functools
import warnings
from collections.abc import Callable

import torch

from pyro import poutine
from pyro.poutine.messenger import Messenger

from .enum import posterior_ring, sample_enumerated
from .traceenum_elbo import TraceEnum_ELBO

__all__ = ["SamplePosteriorMessenger", "TraceEnumSample_ELBO", "infer_discrete"]


class SamplePosteriorMessenger(Messenger):
    """Replay a model against ``trace`` (its enumerated run), giving the sites named in
    ``params`` those values instead (posterior values of its enumerated sites, see
    :func:`infer_discrete`). Sites not in ``trace`` run as usual.

    :param trace: a trace of the model; its latent sites are replayed.
    :param dict params: ``{site name: value}`` overriding the trace's values.
    """

    def __init__(self, trace, params: dict[str, torch.Tensor] | None = None) -> None:
        super().__init__()
        self.trace = trace
        self.params = params or {}

    def _pyro_sample(self, msg) -> None:
        name = msg["name"]
        if msg["is_observed"] or name not in self.trace.nodes:
            return
        if name in self.params:
            msg["value"] = self.params[name]
        else:
            msg["value"] = self.trace.nodes[name]["value"]
        # the value is now a posterior sample, no longer an enumeration
        msg["infer"] = {k: v for k, v in msg["infer"].items() if k != "enumerate"}
        msg["done"] = True


def infer_discrete(
    fn: Callable | None = None,
    first_available_dim: int | None = None,
    temperature: int = 1,
    *,
    strict_enumeration_warning: bool = True,
) -> Callable:
    """Condition a model's discrete latent sites on its observations: the returned
    function runs ``fn`` with every site marked ``infer={"enumerate": "parallel"}`` given
    a value drawn from the exact joint posterior of those sites (``temperature=1``, forward
    filtering backward sampling generalized to plated factor graphs) or their jointly most
    probable value (``temperature=0``, Viterbi-like MAP). Non-enumerated latent sites keep
    the values of the first (enumerated) run; ``pyro.markov`` steps are supported.

    Usable as a decorator: ``infer_discrete(first_available_dim=-2)(model)``.

    :param callable fn: the model (sites to infer marked for parallel enumeration, e.g. by
        :func:`~pyro.infer.config_enumerate`).
    :param int first_available_dim: the first enumeration dim, ``-1 - max_plate_nesting``.
    :param int temperature: 1 to sample, 0 for the MAP value.
    :param bool strict_enumeration_warning: warn when no site is enumerated.
    :returns: a function with ``fn``'s signature returning what ``fn`` returns.
    :raises ValueError: for a ``first_available_dim`` that is not a negative int, or a
        temperature other than 0 or 1.

    Example::

        @infer_discrete(first_available_dim=-2, temperature=0)
        @config_enumerate
        def decoded(data):
            return model(data)

    **References**

    [1] F. Obermeyer et al., "Tensor Variable Elimination for Plated Factor Graphs", 2019.
    """
    if fn is None:
        return functools.partial(infer_discrete, first_available_dim=first_available_dim,
                                 temperature=temperature,
                                 strict_enumeration_warning=strict_enumeration_warning)
    if not isinstance(first_available_dim, int) or first_available_dim >= 0:
        raise ValueError(f"infer_discrete: first_available_dim must be a negative int "
                         f"(-1 - max_plate_nesting), got {first_available_dim!r}")
    posterior_ring(temperature)  # validate early

    @functools.wraps(fn)
    def conditioned(*args, **kwargs):
        enum_model = poutine.enum(fn, first_available_dim=first_available_dim)
        # the enumerated pass is internal: handlers outside (an outer trace) see only
        # the decoded run, so each site appears once
        with poutine.block():
            trace = poutine.trace(enum_model).get_trace(*args, **kwargs)
        values = sample_enumerated(trace, temperature)
        if not values and strict_enumeration_warning:
            warnings.warn("infer_discrete found no sample sites configured for enumeration; "
                          "mark discrete sites with config_enumerate or "
                          "infer={'enumerate': 'parallel'}", stacklevel=2)
        return SamplePosteriorMessenger(trace, values)(fn)(*args, **kwargs)

    return conditioned


class TraceEnumSample_ELBO(TraceEnum_ELBO):
    """:class:`~pyro.infer.TraceEnum_ELBO` that keeps the traces of its last loss
    computation, so that :meth:`sample_saved` draws the model-enumerated variables from
    their posterior (given the guide's sample) without running the model again::

        elbo = TraceEnumSample_ELBO(max_plate_nesting=1)
        loss = elbo.loss(model, guide, data)
        guide_trace = elbo.sample_saved()   # guide sites + sampled model-enumerated sites
    """

    def _get_traces(self, model, guide, args, kwargs):
        for model_trace, guide_trace in super()._get_traces(model, guide, args, kwargs):
            self._saved_traces = (model_trace, guide_trace)
            yield model_trace, guide_trace

    def sample_saved(self):
        """A copy of the last guide trace with a site for each variable the model
        enumerated, valued by a draw from its exact posterior given the guide's values.

        :raises RuntimeError: before any loss has been computed.
        """
        if getattr(self, "_saved_traces", None) is None:
            raise RuntimeError("TraceEnumSample_ELBO.sample_saved: compute a loss first "
                               "(loss, differentiable_loss or loss_and_grads)")
        model_trace, guide_trace = self._saved_traces
        values = sample_enumerated(model_trace, 1, guide_trace)
        trace = guide_trace.copy()
        for name, value in values.items():
            site = dict(model_trace.nodes[name])
            site["value"] = value
            site["infer"] = {k: v for k, v in site["infer"].items()
                             if k not in ("enumerate", "_enumerate_dim", "_dim_to_id")}
            site.pop("unscaled_log_prob", None)
            site.pop("log_prob", None)
            trace.add_node(name, **site)
        return trace
