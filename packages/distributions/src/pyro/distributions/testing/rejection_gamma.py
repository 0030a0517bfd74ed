"""Gamma, Beta and Dirichlet sampled by Marsaglia-Tsang rejection, with the
rejection-sampler gradients of Naesseth et al. (to test such estimators)."""
from __future__ import annotations

import math

import torch

from .. import constraints
from ..rejector import Rejector
from ..score_parts import ScoreParts
from ..torch import Beta, Dirichlet, Gamma

__all__ = [
    "RejectionGamma",
    "RejectionStandardGamma",
    "ShapeAugmentedBeta",
    "ShapeAugmentedDirichlet",
    "ShapeAugmentedGamma",
]


class RejectionStandardGamma(Rejector):
    r"""Naive Marsaglia-Tsang rejection sampler of :math:`\mathrm{Gamma}(\alpha, 1)` for
    :math:`\alpha \ge 1` (no shape boosting or augmentation).

    Proposals :math:`x = d(1 + c\epsilon)^3`, :math:`\epsilon \sim \mathcal N(0, 1)`, with
    :math:`d = \alpha - 1/3`, :math:`c = 1/\sqrt{9d}`, are accepted with probability
    :math:`\exp(\epsilon^2/2 + d - x + d\log(x/d))` [1]; the total acceptance
    probability is :math:`Z = e^d d^{1/6 - d}\Gamma(\alpha)/\sqrt{2\pi}`. ``log_prob`` is
    exactly the Gamma's; the reparameterized gradient follows [2].

    :param concentration: :math:`\alpha \ge 1`.
    :raises ValueError: if some ``concentration < 1`` (use :class:`ShapeAugmentedGamma`).

    **References**

    [1] G. Marsaglia, W. Tsang (2000), *A simple method for generating gamma variables*,
    ACM Transactions on Mathematical Software 26(3).

    [2] C. Naesseth, F. Ruiz, S. Linderman, D. Blei (2017), *Reparameterization gradients
    through acceptance-rejection sampling algorithms*, AISTATS.
    """

    arg_constraints = {"concentration": constraints.greater_than_eq(1)}
    support = constraints.positive

    def __init__(self, concentration) -> None:
        concentration = torch.as_tensor(concentration, dtype=torch.get_default_dtype()) \
            if not isinstance(concentration, torch.Tensor) else concentration
        if not bool((concentration >= 1).all()):
            raise ValueError("RejectionStandardGamma: concentration must be >= 1, got "
                             f"{concentration}; use ShapeAugmentedGamma for smaller values")
        self.concentration = concentration
        self._d = concentration - 1 / 3
        self._c = 1 / (3 * self._d.sqrt())
        log_scale = (self._d - (self._d - 1 / 6) * self._d.log() + torch.lgamma(concentration)
                     - 0.5 * math.log(2 * math.pi))
        super().__init__(self, self._log_prob_accept, log_scale,
                         batch_shape=concentration.shape, event_shape=())
        self._propose_log_prob = self._proposal_log_prob

    def _unforced_has_rsample(self) -> bool:
        return True

    def __call__(self, sample_shape=torch.Size()):
        # the proposal (this object is its own ``propose``)
        shape = torch.Size(sample_shape) + self.batch_shape
        eps = torch.randn(shape, dtype=self._d.dtype, device=self._d.device)
        return self._d * (1 + self._c * eps).clamp(min=0) ** 3

    def _eps(self, x):
        return ((x / self._d).pow(1 / 3) - 1) / self._c

    def _proposal_log_prob(self, x):
        eps = self._eps(x)
        # x = d (1 + c eps)^3: dx/deps = 3 c d^{1/3} x^{2/3}
        return (-0.5 * eps**2 - 0.5 * math.log(2 * math.pi)
                - torch.log(3 * self._c * self._d.pow(1 / 3)) - (2 / 3) * x.log())

    def _log_prob_accept(self, x):
        eps = self._eps(x)
        log_accept = 0.5 * eps**2 + self._d - x + self._d * (x / self._d).log()
        # a proposal with 1 + c eps <= 0 (x = 0) is always rejected
        return torch.where(x > 0, log_accept, log_accept.new_full((), -math.inf))

    def expand(self, batch_shape, _instance=None):
        batch_shape = torch.Size(batch_shape)
        if batch_shape == self.batch_shape:
            return self
        return RejectionStandardGamma(self.concentration.expand(batch_shape))


class RejectionGamma(Gamma):
    """:class:`~pyro.distributions.Gamma` whose ``rsample`` divides a
    :class:`RejectionStandardGamma` draw by ``rate`` (``concentration >= 1``), with its
    rejection-sampler ``score_parts``."""

    has_rsample = True

    def _standard(self):
        return RejectionStandardGamma(self.concentration)

    def rsample(self, sample_shape=torch.Size()):
        return self._standard().rsample(sample_shape) / self.rate

    def score_parts(self, value) -> ScoreParts:
        log_prob = self.log_prob(value)
        standard = self._standard()
        x = value * self.rate
        score = standard.log_prob_accept(x) - standard._log_scale
        return ScoreParts(log_prob=log_prob, score_function=score, entropy_term=log_prob)


class _KeepsBoost:
    """Mixin (before the family): ``expand`` keeps the shape augmentation ``_boost``."""

    _boost: int

    def expand(self, batch_shape, _instance=None):
        new = super().expand(batch_shape, _instance)
        new._boost = self._boost
        return new


class ShapeAugmentedGamma(_KeepsBoost, Gamma):
    r""":class:`~pyro.distributions.Gamma` sampled by the shape augmentation trick [1]:
    :math:`x = y \prod_{i=0}^{B-1} u_i^{1/(\alpha + i)} / \mathrm{rate}` with
    :math:`y \sim \mathrm{Gamma}(\alpha + B)` by :class:`RejectionStandardGamma` and
    :math:`u_i \sim U(0, 1)`; valid for every :math:`\alpha > 0`.

    :param concentration: :math:`\alpha > 0`.
    :param rate: positive.
    :param int boost: :math:`B \ge 0` (default 1).

    **References**

    [1] C. Naesseth, F. Ruiz, S. Linderman, D. Blei (2017), *Reparameterization gradients
    through acceptance-rejection sampling algorithms*, AISTATS.
    """

    has_rsample = True

    def __init__(self, concentration, rate, boost: int = 1, validate_args=None) -> None:
        if boost < 0:
            raise ValueError(f"ShapeAugmentedGamma: boost must be >= 0, got {boost}")
        super().__init__(concentration, rate, validate_args=validate_args)
        self._boost = boost

    def _boosted(self):
        return RejectionStandardGamma(self.concentration + self._boost)

    def rsample(self, sample_shape=torch.Size()):
        boosted = self._boosted()
        boosted_x = boosted.rsample(sample_shape)
        x = boosted_x
        for i in range(self._boost):
            u = torch.rand(x.shape, dtype=x.dtype, device=x.device)
            x = x * u.pow(1 / (self.concentration + i))
        x = x / self.rate
        # score_parts needs the accepted proposal behind this draw
        self._last_draw = (x, boosted_x)
        return x

    def score_parts(self, value) -> ScoreParts:
        """ELBO terms of the latest :meth:`rsample` draw (the score term is the rejection
        correction of the boosted draw behind it [1]).

        :raises ValueError: if ``value`` is not the tensor the latest ``rsample`` returned.
        """
        log_prob = self.log_prob(value)
        last = getattr(self, "_last_draw", None)
        if last is None or last[0] is not value:
            raise ValueError("ShapeAugmentedGamma.score_parts(value): value must be the "
                             "tensor returned by this distribution's latest rsample()")
        boosted = self._boosted()
        score = boosted.log_prob_accept(last[1]) - boosted._log_scale
        return ScoreParts(log_prob=log_prob, score_function=score, entropy_term=log_prob)


class ShapeAugmentedDirichlet(_KeepsBoost, Dirichlet):
    """:class:`~pyro.distributions.Dirichlet` by normalizing :class:`ShapeAugmentedGamma`
    draws (stochastic reparameterized gradients of higher variance than torch's).

    :param concentration: shape ``batch_shape + (K,)``.
    :param int boost: shape augmentation, default 1.
    """

    has_rsample = True

    def __init__(self, concentration, boost: int = 1, validate_args=None) -> None:
        super().__init__(concentration, validate_args=validate_args)
        self._boost = boost

    def rsample(self, sample_shape=torch.Size()):
        alpha = self.concentration
        gammas = ShapeAugmentedGamma(alpha, torch.ones_like(alpha), self._boost,
                                     validate_args=False).rsample(sample_shape)
        gammas = gammas.clamp(min=torch.finfo(gammas.dtype).tiny)
        return gammas / gammas.sum(-1, keepdim=True)


class ShapeAugmentedBeta(_KeepsBoost, Beta):
    """:class:`~pyro.distributions.Beta` via :class:`ShapeAugmentedDirichlet`.

    :param concentration1: positive.
    :param concentration0: positive.
    :param int boost: shape augmentation, default 1.
    """

    has_rsample = True

    def __init__(self, concentration1, concentration0, boost: int = 1,
                 validate_args=None) -> None:
        super().__init__(concentration1, concentration0, validate_args=validate_args)
        self._boost = boost

    def rsample(self, sample_shape=torch.Size()):
        alpha = torch.stack([self.concentration1, self.concentration0], -1)
        d = ShapeAugmentedDirichlet(alpha, self._boost, validate_args=False)
        return d.rsample(sample_shape)[..., 0]
