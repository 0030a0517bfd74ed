"""Pyro's extras on top of :class:`torch.distributions.Distribution`.

:class:`TorchDistributionMixin` adds the methods Pyro's language and inference use
(``__call__``, ``shape``, ``to_event``, ``mask``, ``expand_by``, ``score_parts``); the
wrappers :class:`Independent`, :class:`MaskedDistribution` and
:class:`ExpandedDistribution` are what those methods return.

Shapes follow Pyro's laws: ``sample(sample_shape).shape == sample_shape + batch_shape +
event_shape`` and ``log_prob(x).shape == sample_shape + batch_shape``.
"""
from __future__ import annotations

from collections import namedtuple
from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch
import torch.distributions as _td
from torch.distributions.utils import _sum_rightmost

from .util import broadcast_shape, scale_and_mask, sum_rightmost

__all__ = [
    "ExpandedDistribution",
    "Independent",
    "MaskedDistribution",
    "ScoreParts",
    "TorchDistribution",
    "TorchDistributionMixin",
    "score_parts_of",
]


class ScoreParts(namedtuple("ScoreParts", ["log_prob", "score_function", "entropy_term"])):
    """The three terms an ELBO needs from a sample site.

    ``log_prob`` is the log density; ``score_function`` is the term whose gradient gives the
    REINFORCE estimator (the log density for non-reparameterized sites, ``0`` otherwise);
    ``entropy_term`` is the term whose gradient flows through reparameterized samples.
    """

    __slots__ = ()

    def scale_and_mask(self, scale=1.0, mask=None) -> ScoreParts:
        """Scale and mask ``log_prob`` and ``entropy_term``; ``score_function`` is masked but
        not scaled (the REINFORCE estimator multiplies it by costs that are already scaled;
        masked-out entries must add no gradient at all)."""
        log_prob = scale_and_mask(self.log_prob, scale, mask)
        score_function = scale_and_mask(self.score_function, 1.0, mask)
        entropy_term = scale_and_mask(self.entropy_term, scale, mask)
        return ScoreParts(log_prob, score_function, entropy_term)


def score_parts_of(fn, value) -> ScoreParts:
    """``fn.score_parts(value)`` for Pyro distributions; the equivalent for plain torch ones."""
    method = getattr(fn, "score_parts", None)
    if method is not None:
        return method(value)
    log_prob = fn.log_prob(value)
    if fn.has_rsample:
        return ScoreParts(log_prob, 0, log_prob)
    return ScoreParts(log_prob, log_prob, 0)


if TYPE_CHECKING:
    # the mixin only ever runs mixed into a torch Distribution, whose methods it calls
    _MixinBase = _td.Distribution
else:
    _MixinBase = object


class TorchDistributionMixin(_MixinBase):
    """Pyro's methods for any :class:`torch.distributions.Distribution` subclass.

    Mix it in *after* the torch class: ``class Normal(torch.distributions.Normal,
    TorchDistributionMixin)``.
    """

    def __call__(self, sample_shape: torch.Size = torch.Size()) -> torch.Tensor:
        """Draw a sample (``rsample`` when reparameterizable, else ``sample``) of shape
        ``sample_shape + batch_shape + event_shape``."""
        if self.has_rsample:
            return self.rsample(sample_shape)
        return self.sample(sample_shape)

    @property
    def event_dim(self) -> int:
        """The number of event dimensions, ``len(event_shape)``."""
        return len(self.event_shape)

    def shape(self, sample_shape: Sequence[int] = torch.Size()) -> torch.Size:
        """The shape of a sample: ``sample_shape + batch_shape + event_shape``."""
        return torch.Size(sample_shape) + self.batch_shape + self.event_shape

    def expand_by(self, sample_shape: Sequence[int]):
        """Prepend ``sample_shape`` to the batch shape (without copying parameters)."""
        return self.expand(torch.Size(sample_shape) + self.batch_shape)

    def to_event(self, reinterpreted_batch_ndims: int | None = None):
        """Reinterpret the ``reinterpreted_batch_ndims`` rightmost batch dimensions as event
        dimensions (all of them when ``None``).

        ``to_event(0)`` returns ``self``; a negative count undoes an earlier ``to_event``.

        :raises ValueError: if more dimensions are asked than the batch shape has, or a
            negative count is applied to a distribution that is not an :class:`Independent`.
        """
        if reinterpreted_batch_ndims is None:
            reinterpreted_batch_ndims = len(self.batch_shape)
        if reinterpreted_batch_ndims == 0:
            return self
        if reinterpreted_batch_ndims < 0:
            raise ValueError(
                f"{type(self).__name__}.to_event({reinterpreted_batch_ndims}): a negative count "
                "can only undo an earlier .to_event(); this distribution has no reinterpreted "
                "batch dimensions"
            )
        if reinterpreted_batch_ndims > len(self.batch_shape):
            raise ValueError(
                f"{type(self).__name__}.to_event({reinterpreted_batch_ndims}): the batch shape "
                f"{tuple(self.batch_shape)} has only {len(self.batch_shape)} dimensions"
            )
        return Independent(self, reinterpreted_batch_ndims)

    def mask(self, mask: bool | torch.Tensor):
        """Mask the log density: entries where ``mask`` is False contribute exactly zero.

        :param mask: a bool or a tensor broadcastable with ``batch_shape`` (bool, or 0/1
            numbers); the batch shape grows to the broadcast shape.
        :returns: a :class:`MaskedDistribution`.
        """
        return MaskedDistribution(self, mask)

    def score_parts(self, value: torch.Tensor) -> ScoreParts:
        """The ELBO terms at ``value``: reparameterizable families give
        ``(log_prob, 0, log_prob)``, the others ``(log_prob, log_prob, 0)``."""
        log_prob = self.log_prob(value)
        if self.has_rsample:
            return ScoreParts(log_prob=log_prob, score_function=0, entropy_term=log_prob)
        return ScoreParts(log_prob=log_prob, score_function=log_prob, entropy_term=0)

    def has_rsample_(self, value: bool):
        """Force reparameterized (``True``) or detached (``False``) sampling on this one
        instance, in place, and return it. Inference then treats its sites as (non-)
        reparameterized: e.g. ``False`` for a variable that discontinuously determines
        downstream control flow, so the ELBOs use a score-function gradient for it.

        :raises ValueError: unless ``value`` is ``True`` or ``False``.
        """
        if value is not True and value is not False:
            raise ValueError(f"has_rsample_ expects True or False, got {value!r}")
        self.has_rsample = value
        return self

    def conjugate_update(self, other):
        """EXPERIMENTAL. ``(fg, log_normalizer)`` with ``self.log_prob(x) +
        other.log_prob(x) == fg.log_prob(x) + log_normalizer``, for families closed under
        products (``Beta``, ``Gamma``, ``Dirichlet``, ``GaussianHMM`` override it).

        :raises NotImplementedError: for a family without a conjugate update.
        """
        raise NotImplementedError(f"{type(self).__name__} does not support .conjugate_update()")


class TorchDistribution(TorchDistributionMixin, _td.Distribution):
    """Base class of Pyro's own families: a torch ``Distribution`` with Pyro's methods.

    Its default :meth:`expand` wraps ``self`` in an :class:`ExpandedDistribution`, so a new
    family works in plates before it writes a parameter-expanding ``expand``.
    """

    def expand(self, batch_shape, _instance=None):
        batch_shape = torch.Size(batch_shape)
        if batch_shape == self.batch_shape:
            return self
        return ExpandedDistribution(self, batch_shape)


def _get_wrapper_has_rsample(self) -> bool:
    # has_rsample_ may force it on the wrapper alone, leaving the base untouched
    return self.__dict__.get("_has_rsample", self.base_dist.has_rsample)


def _set_wrapper_has_rsample(self, value: bool) -> None:
    self.__dict__["_has_rsample"] = value


_wrapper_has_rsample = property(
    _get_wrapper_has_rsample, _set_wrapper_has_rsample,
    doc="The base distribution's ``has_rsample`` unless ``has_rsample_`` forced this one's.",
)


class Independent(_td.Independent, TorchDistributionMixin):
    """:class:`torch.distributions.Independent` with Pyro's methods.

    :param base_distribution: the distribution whose batch dimensions are reinterpreted.
    :param int reinterpreted_batch_ndims: how many rightmost batch dimensions become event
        dimensions.
    :raises ValueError: if ``reinterpreted_batch_ndims`` exceeds the base batch rank.
    """

    def __init__(self, base_distribution, reinterpreted_batch_ndims: int,
                 validate_args: bool | None = None) -> None:
        if reinterpreted_batch_ndims > len(base_distribution.batch_shape):
            raise ValueError(
                f"Independent({type(base_distribution).__name__}, "
                f"reinterpreted_batch_ndims={reinterpreted_batch_ndims}): the base batch shape "
                f"{tuple(base_distribution.batch_shape)} has only "
                f"{len(base_distribution.batch_shape)} dimensions"
            )
        super().__init__(base_distribution, reinterpreted_batch_ndims, validate_args=validate_args)

    has_rsample = _wrapper_has_rsample

    def log_prob(self, value):
        log_prob = self.base_dist.log_prob(value)
        if self.reinterpreted_batch_ndims == 1 and type(log_prob) is torch.Tensor \
                and log_prob.dim():
            # torch's _sum_rightmost reshapes to the same shape, then sums the last dim:
            # the same sum (same bits), one op and one autograd node fewer
            return log_prob.sum(-1)
        return _sum_rightmost(log_prob, self.reinterpreted_batch_ndims)

    def expand(self, batch_shape, _instance=None):
        batch_shape = torch.Size(batch_shape)
        if batch_shape == self.batch_shape:
            return self
        new = self._get_checked_instance(Independent, _instance)
        new.base_dist = self.base_dist.expand(
            batch_shape + self.event_shape[: self.reinterpreted_batch_ndims]
        )
        new.reinterpreted_batch_ndims = self.reinterpreted_batch_ndims
        _td.Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def to_event(self, reinterpreted_batch_ndims: int | None = None):
        if reinterpreted_batch_ndims is None:
            reinterpreted_batch_ndims = len(self.batch_shape)
        if reinterpreted_batch_ndims == 0:
            return self
        total = self.reinterpreted_batch_ndims + reinterpreted_batch_ndims
        if total < 0:
            raise ValueError(
                f"Independent.to_event({reinterpreted_batch_ndims}): only "
                f"{self.reinterpreted_batch_ndims} dimensions were reinterpreted"
            )
        if total == 0:
            return self.base_dist
        if reinterpreted_batch_ndims > len(self.batch_shape):
            raise ValueError(
                f"Independent.to_event({reinterpreted_batch_ndims}): the batch shape "
                f"{tuple(self.batch_shape)} has only {len(self.batch_shape)} dimensions"
            )
        return Independent(self.base_dist, total)

    def score_parts(self, value: torch.Tensor) -> ScoreParts:
        log_prob, score_function, entropy_term = score_parts_of(self.base_dist, value)
        n = self.reinterpreted_batch_ndims
        return ScoreParts(sum_rightmost(log_prob, n), sum_rightmost(score_function, n),
                          sum_rightmost(entropy_term, n))


class _BaseDistWrapper(TorchDistribution):
    """A distribution built around ``self.base_dist`` (set by the subclass): its support,
    ``has_rsample`` and ``has_enumerate_support`` are those of the base distribution."""

    arg_constraints: dict = {}
    base_dist: _td.Distribution

    has_rsample = _wrapper_has_rsample

    # a read-only property over torch's class attribute, as torch's own Independent has
    @property
    def has_enumerate_support(self) -> bool:  # type: ignore[override]
        return self.base_dist.has_enumerate_support

    @property
    def support(self):
        return self.base_dist.support


class MaskedDistribution(_BaseDistWrapper):
    """A distribution whose log density is zeroed where ``mask`` is False.

    Sampling is unchanged; ``log_prob`` and ``score_parts`` are masked.

    :param base_dist: the distribution to mask.
    :param mask: a bool, or a tensor broadcastable with ``base_dist.batch_shape`` (bool, or
        numeric and read as ``mask != 0``); the batch shape becomes the broadcast of both.
    :raises ValueError: if the mask is neither a bool nor a tensor, or does not broadcast
        with the batch shape.
    """

    def __init__(self, base_dist, mask: bool | torch.Tensor) -> None:
        if isinstance(mask, bool):
            batch_shape = base_dist.batch_shape
        else:
            if not isinstance(mask, torch.Tensor):
                raise ValueError(
                    f"{type(base_dist).__name__}.mask(mask): expected a bool or a tensor, got "
                    f"{type(mask).__name__}"
                )
            if mask.dtype != torch.bool:
                mask = mask.bool()  # e.g. a 0/1 float indicator, as Pyro accepts
            try:
                batch_shape = broadcast_shape(mask.shape, base_dist.batch_shape)
            except ValueError:
                raise ValueError(
                    f"{type(base_dist).__name__}.mask(mask): mask shape {tuple(mask.shape)} does "
                    f"not broadcast with batch_shape {tuple(base_dist.batch_shape)}"
                ) from None
            if mask.shape != batch_shape:
                mask = mask.expand(batch_shape)
            if base_dist.batch_shape != batch_shape:
                base_dist = base_dist.expand(batch_shape)
        self.base_dist = base_dist
        self._mask = mask
        super().__init__(batch_shape, base_dist.event_shape, validate_args=False)

    def expand(self, batch_shape, _instance=None):
        batch_shape = torch.Size(batch_shape)
        if batch_shape == self.batch_shape:
            return self
        mask = self._mask
        if isinstance(mask, torch.Tensor):
            mask = mask.expand(batch_shape)
        return MaskedDistribution(self.base_dist.expand(batch_shape), mask)

    def sample(self, sample_shape=torch.Size()):
        return self.base_dist.sample(sample_shape)

    def rsample(self, sample_shape=torch.Size()):
        return self.base_dist.rsample(sample_shape)

    def _zeros(self, value):
        shape = broadcast_shape(self.batch_shape, value.shape[: value.dim() - self.event_dim])
        dtype = value.dtype if value.is_floating_point() else torch.get_default_dtype()
        return torch.zeros((), dtype=dtype, device=value.device).expand(shape)

    def log_prob(self, value):
        if self._mask is False:
            return self._zeros(value)
        if self._mask is True:
            return self.base_dist.log_prob(value)
        return scale_and_mask(self.base_dist.log_prob(value), mask=self._mask)

    def score_parts(self, value):
        if self._mask is False:
            zero = self._zeros(value)
            return ScoreParts(zero, zero, zero)
        parts = score_parts_of(self.base_dist, value)
        if self._mask is True:
            return parts
        return parts.scale_and_mask(mask=self._mask)

    def enumerate_support(self, expand: bool = True):
        return self.base_dist.enumerate_support(expand=expand)

    @property
    def mean(self):
        return self.base_dist.mean

    @property
    def variance(self):
        return self.base_dist.variance


class ExpandedDistribution(_BaseDistWrapper):
    """``base_dist`` broadcast to a larger ``batch_shape`` without copying its parameters.

    Samples are drawn independently for every expanded entry.

    :param base_dist: any distribution.
    :param batch_shape: a shape that ``base_dist.batch_shape`` broadcasts to.
    :raises ValueError: if ``base_dist.batch_shape`` does not broadcast to ``batch_shape``.
    """

    def __init__(self, base_dist, batch_shape: Sequence[int] = torch.Size(),
                 validate_args: bool | None = None) -> None:
        self.base_dist = base_dist
        super().__init__(base_dist.batch_shape, base_dist.event_shape, validate_args=False)
        self._set_batch_shape(torch.Size(batch_shape))
        self._validate_args = validate_args if validate_args is not None else False

    def _set_batch_shape(self, batch_shape: torch.Size) -> None:
        old = self.base_dist.batch_shape
        new_dims = len(batch_shape) - len(old)
        ok = new_dims >= 0 and all(
            o == 1 or o == n for o, n in zip(old, batch_shape[new_dims:])
        )
        if not ok:
            raise ValueError(
                f"Cannot expand {type(self.base_dist).__name__} with batch_shape "
                f"{tuple(old)} to batch_shape {tuple(batch_shape)}: each base dimension must "
                "equal the new one or be 1, and no dimensions may be removed"
            )
        # dims of the new batch shape that a size-1 base dim stretches to (interstitial)
        self._leading_shape = batch_shape[:new_dims]
        self._interstitial = [
            (i, batch_shape[new_dims + i])
            for i, o in enumerate(old)
            if o == 1 and batch_shape[new_dims + i] != 1
        ]
        self._batch_shape = batch_shape

    def expand(self, batch_shape, _instance=None):
        batch_shape = torch.Size(batch_shape)
        if batch_shape == self.batch_shape:
            return self
        return ExpandedDistribution(self.base_dist, batch_shape, validate_args=self._validate_args)

    def _draw(self, draw, sample_shape) -> torch.Tensor:
        sample_shape = torch.Size(sample_shape)
        extra = torch.Size(size for _, size in self._interstitial)
        x = draw(sample_shape + self._leading_shape + extra)
        # x: sample + leading + interstitial + base_batch + event; swap each interstitial
        # dim with the size-1 base dim it stretches, then drop the size-1 dims.
        start = len(sample_shape) + len(self._leading_shape)
        base_start = start + len(extra)
        for j, (i, _) in enumerate(self._interstitial):
            x = x.transpose(start + j, base_start + i)
        return x.reshape(sample_shape + self.batch_shape + self.event_shape)

    def sample(self, sample_shape=torch.Size()):
        return self._draw(self.base_dist.sample, sample_shape)

    def rsample(self, sample_shape=torch.Size()):
        return self._draw(self.base_dist.rsample, sample_shape)

    def log_prob(self, value):
        shape = broadcast_shape(self.batch_shape, value.shape[: value.dim() - self.event_dim])
        log_prob = self.base_dist.log_prob(value)
        return log_prob.expand(shape)

    def score_parts(self, value):
        shape = broadcast_shape(self.batch_shape, value.shape[: value.dim() - self.event_dim])
        parts = score_parts_of(self.base_dist, value)
        return ScoreParts(*(p.expand(shape) if isinstance(p, torch.Tensor) else p for p in parts))

    def enumerate_support(self, expand: bool = True):
        samples = self.base_dist.enumerate_support(expand=False)
        n = samples.shape[0]
        samples = samples.reshape((n,) + (1,) * len(self.batch_shape) + self.event_shape)
        if expand:
            samples = samples.expand((n,) + self.batch_shape + self.event_shape)
        return samples

    @property
    def mean(self):
        return self.base_dist.mean.expand(self.batch_shape + self.event_shape)

    @property
    def variance(self):
        return self.base_dist.variance.expand(self.batch_shape + self.event_shape)
