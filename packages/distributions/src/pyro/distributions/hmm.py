r"""Hidden Markov models whose latent state is marginalized exactly, with time in the event
shape: ``event_shape = (num_steps,) + observation_event_shape``.

Every model here is the chain

.. code-block:: none

    z_0 ~ initial                         (not observed)
    for t in 1..T:  z_t ~ transition_t(z_{t-1});   x_t ~ observation_t(z_t)

and ``log_prob`` integrates (or sums) the latent chain out by a parallel scan: neighbouring
transition factors are contracted pairwise, so the work is :math:`O(T)` in
:math:`\lceil \log_2 T \rceil` batched steps. Parameters may be homogeneous (no time dim:
``event_shape[0] == 1`` broadcasts against data of any length, give ``duration`` to sample)
or heterogeneous (time as the rightmost batch dim of each parameter).

**References**

[1] S. Särkkä, Á. F. García-Fernández (2021), "Temporal Parallelization of Bayesian
    Smoothers", IEEE Transactions on Automatic Control 66(1).
[2] L. R. Rabiner (1989), "A tutorial on hidden Markov models and selected applications in
    speech recognition", Proceedings of the IEEE 77(2) (the forward algorithm).
[3] R. E. Kalman (1960), "A New Approach to Linear Filtering and Prediction Problems",
    Journal of Basic Engineering 82(1).
"""

from __future__ import annotations

import torch
from torch.distributions import constraints

from pyro.ops.gamma_gaussian import (
    gamma_and_mvn_to_gamma_gaussian,
    gamma_gaussian_tensordot,
    matrix_and_mvn_to_gamma_gaussian,
    sequential_gamma_gaussian_tensordot,
)
from pyro.ops.gaussian import (
    AffineNormal,
    Gaussian,
    gaussian_tensordot,
    matrix_and_mvn_to_gaussian,
    mvn_to_gaussian,
    sequential_gaussian_filter_sample,
    sequential_gaussian_tensordot,
)
from pyro.ops.special import safe_logsumexp
from pyro.ops.tensor_utils import precision_to_scale_tril, safe_cholesky, triangular_solve

from .forcible_has_rsample import ForcibleHasRsample
from .torch import Categorical, Gamma, MultivariateNormal
from .torch_distribution import Independent, TorchDistribution
from .util import broadcast_shape

__all__ = [
    "DiscreteHMM",
    "GammaGaussianHMM",
    "GaussianHMM",
    "GaussianMRF",
    "HiddenMarkovModel",
    "IndependentHMM",
    "LinearHMM",
]


# ----------------------------------------------------------------------------------------
# Helpers


def _logmatmulexp(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``log(exp(x) @ exp(y))`` over the last two dims, stable for log-space matrices."""
    # (safe: a pair of states joined by no possible path gives -inf, not NaN gradients)
    return safe_logsumexp(x.unsqueeze(-1) + y.unsqueeze(-3), -2)


def _sequential_logmatmulexp(logits: torch.Tensor) -> torch.Tensor:
    """``logits[..., 0, :, :] @ ... @ logits[..., T-1, :, :]`` in log space by pairwise
    reduction over the time dim ``-3`` (``ceil(log2 T)`` batched steps)."""
    while logits.size(-3) > 1:
        T = logits.size(-3)
        k = T // 2
        contracted = _logmatmulexp(
            logits[..., 0 : 2 * k : 2, :, :], logits[..., 1 : 2 * k : 2, :, :]
        )
        if T % 2:
            contracted = torch.cat([contracted, logits[..., T - 1 :, :, :]], dim=-3)
        logits = contracted
    return logits.squeeze(-3)


def _mvn_event_size(d, name: str, cls: str) -> int:
    """The event size of a MultivariateNormal or ``Normal(...).to_event(1)``."""
    gaussian = isinstance(d, torch.distributions.MultivariateNormal) or (
        isinstance(d, torch.distributions.Independent)
        and d.reinterpreted_batch_ndims == 1
        and isinstance(d.base_dist, torch.distributions.Normal)
    )
    if not gaussian:
        raise ValueError(
            f"{cls}: {name} must be a MultivariateNormal or Normal(...).to_event(1), got "
            f"{type(d).__name__}"
        )
    return d.event_shape[0]


def _check_event(d, size: int, name: str, cls: str) -> None:
    if tuple(d.event_shape) != (size,):
        raise ValueError(
            f"{cls}: {name} must have event_shape ({size},), got {tuple(d.event_shape)}"
        )


def _gaussian_to_mvn(g: Gaussian) -> MultivariateNormal:
    """The normalized distribution of a Gaussian factor (positive-definite precision)."""
    L = safe_cholesky(g.precision)
    white = triangular_solve(g.info_vec.unsqueeze(-1), L)
    loc = triangular_solve(white, L, transpose=True).squeeze(-1)
    return MultivariateNormal(loc, scale_tril=precision_to_scale_tril(g.precision))


def _time_expand(g, batch_shape: torch.Size, duration: int | None):
    """Expand a factor whose rightmost batch dim is time to ``batch_shape + (duration,)``
    (a homogeneous factor of time length 1 is repeated)."""
    T = g.batch_shape[-1] if len(g.batch_shape) else 1
    if duration is not None:
        T = duration if T == 1 else T
    return g.expand(batch_shape + (T,))


def _validate_time_series(self, value: torch.Tensor) -> None:
    """Validate data of a model with time as the leftmost event dim."""
    # A homogeneous model without duration scores data of any length.
    if value.dim() < len(self.event_shape):
        raise ValueError(
            f"{type(self).__name__}.log_prob: value of shape {tuple(value.shape)} has fewer "
            f"dims than the event shape {tuple(self.event_shape)}"
        )
    obs_shape = self.event_shape[1:]
    if obs_shape and value.shape[-len(obs_shape) :] != obs_shape:
        raise ValueError(
            f"{type(self).__name__}.log_prob: value of shape {tuple(value.shape)} does not "
            f"end in the observation shape {tuple(obs_shape)}"
        )
    T = self.event_shape[0]
    if T != 1 and value.size(-len(self.event_shape)) not in (1, T):
        raise ValueError(
            f"{type(self).__name__}.log_prob: value has "
            f"{value.size(-len(self.event_shape))} time steps, the model {T}"
        )
    if not self.support.check(value).all():
        raise ValueError(
            f"{type(self).__name__}.log_prob: value is outside the support {self.support}"
        )


class HiddenMarkovModel(TorchDistribution):
    """Base class of hidden Markov models: time is the leftmost event dim.

    :param int duration: optional number of time steps (``event_shape[0]``); needed to
        sample from homogeneous models whose parameters have no time dim.
    :param batch_shape: the batch shape.
    :param event_shape: ``(num_steps,) + observation_event_shape``; with ``duration`` the
        time size 1 of a homogeneous model becomes ``duration``.
    :raises ValueError: if ``duration`` contradicts a time dim of the parameters.
    """

    def __init__(self, duration=None, batch_shape=(), event_shape=(), validate_args=None):
        event_shape = torch.Size(event_shape)
        if not event_shape:
            raise ValueError(
                f"{type(self).__name__}: event_shape must start with the time dim, got ()"
            )
        if duration is not None:
            duration = int(duration)
            if event_shape[0] not in (1, duration):
                raise ValueError(
                    f"{type(self).__name__}: duration={duration} contradicts the parameters' "
                    f"time dim of size {event_shape[0]}"
                )
            event_shape = torch.Size((duration,)) + event_shape[1:]
        elif event_shape[0] != 1:
            duration = event_shape[0]  # heterogeneous: the parameters' time dim
        self._duration = duration
        super().__init__(torch.Size(batch_shape), event_shape, validate_args=validate_args)

    @property
    def duration(self) -> int | None:
        """The number of time steps, or None for a homogeneous model of free length."""
        return self._duration

    def _validate_sample(self, value: torch.Tensor) -> None:
        _validate_time_series(self, value)

    def _sample_duration(self) -> int:
        return self.event_shape[0]


# ----------------------------------------------------------------------------------------
# Discrete latent state


class DiscreteHMM(HiddenMarkovModel):
    """Hidden Markov model with a categorical latent state and arbitrary observations.

    The latent state is summed out exactly by a parallel scan of log-space matrix products
    (``O(log T)`` batched steps) in :meth:`log_prob`, :meth:`filter` and :meth:`sample`.

    :param torch.Tensor initial_logits: logits of the initial state ``z_0`` (not observed),
        shape broadcastable to ``batch_shape + (state_dim,)``; normalized here.
    :param torch.Tensor transition_logits: logits of ``z_t`` given ``z_{t-1}``, shape
        broadcastable to ``batch_shape + (num_steps, state_dim, state_dim)`` ordered
        ``(old, new)`` (or ``(state_dim, state_dim)`` when homogeneous); normalized over the
        rightmost dim here.
    :param observation_dist: distribution of ``x_t`` given ``z_t``, batch shape
        broadcastable to ``batch_shape + (num_steps, state_dim)``.
    :param int duration: optional number of time steps (to sample from homogeneous models).
    :raises ValueError: on shapes that do not agree (naming them).

    **References**

    [1] S. Särkkä, Á. F. García-Fernández (2021), "Temporal Parallelization of Bayesian
        Smoothers", IEEE Transactions on Automatic Control 66(1).
    """

    arg_constraints = {"initial_logits": constraints.real, "transition_logits": constraints.real}

    def __init__(
        self,
        initial_logits,
        transition_logits,
        observation_dist,
        validate_args=None,
        duration=None,
    ):
        if initial_logits.dim() < 1 or transition_logits.dim() < 2:
            raise ValueError(
                "DiscreteHMM: initial_logits must have shape (..., state_dim) and "
                f"transition_logits (..., state_dim, state_dim), got {tuple(initial_logits.shape)}"
                f" and {tuple(transition_logits.shape)}"
            )
        S = initial_logits.size(-1)
        obs_batch = observation_dist.batch_shape
        if transition_logits.shape[-2:] != (S, S) or not obs_batch or obs_batch[-1] not in (1, S):
            raise ValueError(
                f"DiscreteHMM: with state_dim={S} (initial_logits {tuple(initial_logits.shape)}), "
                f"transition_logits {tuple(transition_logits.shape)} must end in ({S}, {S}) and "
                f"observation_dist.batch_shape {tuple(obs_batch)} in ({S},)"
            )
        shape = broadcast_shape(
            initial_logits.shape[:-1] + (1,), transition_logits.shape[:-2], obs_batch[:-1]
        )
        batch_shape, time_shape = shape[:-1], shape[-1:]
        event_shape = time_shape + observation_dist.event_shape
        self.initial_logits = initial_logits - initial_logits.logsumexp(-1, keepdim=True)
        self.transition_logits = transition_logits - transition_logits.logsumexp(-1, keepdim=True)
        self.observation_dist = observation_dist
        super().__init__(duration, batch_shape, event_shape, validate_args=validate_args)

    @constraints.dependent_property(is_discrete=False, event_dim=None)
    def support(self):
        return constraints.independent(self.observation_dist.support, 1)

    def expand(self, batch_shape, _instance=None):
        batch_shape = torch.Size(batch_shape)
        S = self.initial_logits.size(-1)
        time = self.transition_logits.shape[-3:-2] or torch.Size([1])
        obs_time = self.observation_dist.batch_shape[-2:-1] or torch.Size([1])
        return DiscreteHMM(
            self.initial_logits.expand(batch_shape + (S,)),
            self.transition_logits.expand(batch_shape + time + (S, S)),
            self.observation_dist.expand(
                batch_shape + obs_time + self.observation_dist.batch_shape[-1:]
            ),
            validate_args=False,
            duration=self.duration,
        )

    def _forward(self, value: torch.Tensor) -> torch.Tensor:
        """Log joint of the data and ``(z_0, z_T)``: shape ``... + (state_dim, state_dim)``."""
        obs_event_dim = len(self.observation_dist.event_shape)
        value = value.unsqueeze(-1 - obs_event_dim)
        observation_logits = self.observation_dist.log_prob(value)  # (..., T, S)
        factors = self.transition_logits + observation_logits.unsqueeze(-2)
        return self.initial_logits.unsqueeze(-1) + _sequential_logmatmulexp(factors)

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        """Log marginal likelihood of ``value`` (shape ``sample_shape + batch_shape +
        event_shape``, any number of steps for homogeneous models); shape
        ``sample_shape + batch_shape``."""
        if self._validate_args:
            self._validate_sample(value)
        return safe_logsumexp(self._forward(value), (-2, -1))

    def filter(self, value: torch.Tensor) -> Categorical:
        """Posterior over the final latent state ``z_T`` given the observations ``value``
        (shape ``batch_shape + event_shape``): a Categorical with logits
        ``batch_shape + (state_dim,)``."""
        logits = self._forward(value).logsumexp(-2)
        return Categorical(logits=logits - logits.logsumexp(-1, keepdim=True))

    def sample(self, sample_shape=torch.Size()) -> torch.Tensor:
        """Draw observations of shape ``sample_shape + batch_shape + event_shape``: the
        latent path is drawn by the parallel scan (endpoints ``(z_0, z_T)`` jointly, then
        the midpoints of each level given their neighbours), then each ``x_t`` given
        ``z_t``."""
        sample_shape = torch.Size(sample_shape)
        S = self.initial_logits.size(-1)
        T = self._sample_duration()
        batch = self.batch_shape
        trans = self.transition_logits.expand(batch + (T, S, S))
        with torch.no_grad():
            z = _discrete_filter_sample(
                self.initial_logits.expand(batch + (S,)), trans, sample_shape
            )
        z = z[..., 1:]  # drop z_0: shape sample_shape + batch + (T,)
        obs = self.observation_dist
        obs_batch = batch + (T, S)
        x = obs.expand(obs_batch).sample(sample_shape)  # one draw per state, then select
        event = obs.event_shape
        index = z.reshape(z.shape + (1,) + (1,) * len(event)).expand(z.shape + (1,) + event)
        return x.gather(-1 - len(event), index).squeeze(-1 - len(event))


def _categorical(logits: torch.Tensor) -> torch.Tensor:
    """One draw per row of unnormalized ``logits`` (..., S) (Gumbel-max)."""
    u = torch.rand_like(logits).clamp(min=torch.finfo(logits.dtype).tiny)
    return (logits - (-u.log()).log()).argmax(-1)


def _discrete_filter_sample(init: torch.Tensor, trans: torch.Tensor, sample_shape) -> torch.Tensor:
    """Joint draw of ``z_0..z_T`` from ``init (..., S)`` and ``trans (..., T, S, S)`` by
    the pairwise scan; shape ``sample_shape + batch + (T + 1,)``."""
    S = init.size(-1)
    levels = []
    g = trans
    while g.size(-3) > 1:
        T = g.size(-3)
        k = T // 2
        even, odd = g[..., 0 : 2 * k : 2, :, :], g[..., 1 : 2 * k : 2, :, :]
        levels.append((T, even, odd))
        contracted = _logmatmulexp(even, odd)
        if T % 2:
            contracted = torch.cat([contracted, g[..., T - 1 :, :, :]], dim=-3)
        g = contracted
    ends = (init.unsqueeze(-1) + g[..., 0, :, :]).expand(sample_shape + g.shape[:-3] + (S, S))
    flat = _categorical(ends.reshape(ends.shape[:-2] + (S * S,)))
    x = torch.stack([flat // S, flat % S], -1)
    for T, even, odd in reversed(levels):
        k = T // 2
        a, c = x[..., :k], x[..., 1 : k + 1]
        # p(b | a, c) ∝ even[a, b] + odd[b, c]
        ea = even.expand(x.shape[:-1] + even.shape[-3:])
        oc = odd.expand(x.shape[:-1] + odd.shape[-3:])
        la = ea.gather(-2, a[..., None, None].expand(a.shape + (1, S))).squeeze(-2)
        lc = oc.gather(-1, c[..., None, None].expand(c.shape + (S, 1))).squeeze(-1)
        mid = _categorical(la + lc)
        pairs = torch.stack([a, mid], -1).reshape(x.shape[:-1] + (2 * k,))
        x = torch.cat([pairs, x[..., k:]], -1)
    return x


# ----------------------------------------------------------------------------------------
# Linear-Gaussian state space models


def _linear_gaussian_shape(
    initial_dist, transition_matrix, transition_dist, observation_matrix, observation_dist, cls: str
):
    """Check the dims of a linear state space model; return ``(hidden_dim, obs_dim,
    batch_shape, time_shape)``."""
    if transition_matrix.dim() < 2 or observation_matrix.dim() < 2:
        raise ValueError(
            f"{cls}: transition_matrix and observation_matrix must be matrices, got shapes "
            f"{tuple(transition_matrix.shape)} and {tuple(observation_matrix.shape)}"
        )
    h = transition_matrix.size(-1)
    o = observation_matrix.size(-1)
    if transition_matrix.size(-2) != h or observation_matrix.size(-2) != h:
        raise ValueError(
            f"{cls}: transition_matrix {tuple(transition_matrix.shape)} must end in ({h}, {h}) "
            f"and observation_matrix {tuple(observation_matrix.shape)} in ({h}, obs_dim)"
        )
    _check_event(initial_dist, h, "initial_dist", cls)
    _check_event(transition_dist, h, "transition_dist", cls)
    _check_event(observation_dist, o, "observation_dist", cls)
    shape = broadcast_shape(
        initial_dist.batch_shape + (1,),
        transition_matrix.shape[:-2],
        transition_dist.batch_shape,
        observation_matrix.shape[:-2],
        observation_dist.batch_shape,
    )
    return h, o, shape[:-1], shape[-1:]


class _LinearStateSpaceModel(HiddenMarkovModel):
    """The part shared by the linear state space models (:class:`GaussianHMM`,
    :class:`GammaGaussianHMM`, :class:`LinearHMM`): validating and storing the five
    parameters of ``z_t = z_{t-1} @ transition_matrix[t] + transition noise``, ``x_t = z_t @
    observation_matrix[t] + observation noise``, and expanding them. Subclasses build their
    factors in :meth:`_make_factors`."""

    #: whether the three noises must be Gaussian (MultivariateNormal or Normal.to_event(1))
    _gaussian_noise = True
    hidden_dim: int
    obs_dim: int
    initial_dist: TorchDistribution
    transition_matrix: torch.Tensor
    transition_dist: TorchDistribution
    observation_matrix: torch.Tensor
    observation_dist: TorchDistribution
    _time_size: int

    def __init__(
        self,
        initial_dist,
        transition_matrix,
        transition_dist,
        observation_matrix,
        observation_dist,
        validate_args=None,
        duration=None,
    ):
        cls = type(self).__name__
        if self._gaussian_noise:
            for name, d in [
                ("initial_dist", initial_dist),
                ("transition_dist", transition_dist),
                ("observation_dist", observation_dist),
            ]:
                _mvn_event_size(d, name, cls)
        h, o, batch_shape, time_shape = _linear_gaussian_shape(
            initial_dist, transition_matrix, transition_dist, observation_matrix,
            observation_dist, cls,
        )
        self.hidden_dim, self.obs_dim = h, o
        self.initial_dist = initial_dist
        self.transition_matrix = transition_matrix
        self.transition_dist = transition_dist
        self.observation_matrix = observation_matrix
        self.observation_dist = observation_dist
        self._time_size = time_shape[0]
        batch_shape = self._make_factors(batch_shape)
        super().__init__(duration, batch_shape, time_shape + (o,), validate_args=validate_args)

    def _make_factors(self, batch_shape: torch.Size) -> torch.Size:
        """Build the model's factors from the stored parameters; return the batch shape
        (``batch_shape``, the parameters' broadcast batch shape, or a broadcast of it)."""
        return batch_shape

    def _expand_linear_params(self, batch_shape: torch.Size) -> tuple:
        """The five parameters expanded to ``batch_shape``."""
        time = torch.Size([self._time_size])
        h, o = self.hidden_dim, self.obs_dim
        return (
            self.initial_dist.expand(batch_shape),
            self.transition_matrix.expand(batch_shape + time + (h, h)),
            self.transition_dist.expand(batch_shape + time),
            self.observation_matrix.expand(batch_shape + time + (h, o)),
            self.observation_dist.expand(batch_shape + time),
        )


class GaussianHMM(_LinearStateSpaceModel):
    r"""Linear-Gaussian state space model (a Kalman filter's model) with the latent state
    integrated out exactly:

    .. code-block:: none

        z = initial_dist.sample()
        for t in range(num_steps):
            z = z @ transition_matrix[t] + transition_dist[t].sample()
            x[t] = z @ observation_matrix[t] + observation_dist[t].sample()

    :param initial_dist: MultivariateNormal of ``z_0``, batch shape broadcastable to
        ``batch_shape``, event shape ``(hidden_dim,)``.
    :param torch.Tensor transition_matrix: shape broadcastable to ``batch_shape +
        (num_steps, hidden_dim, hidden_dim)`` ordered ``(old, new)``.
    :param transition_dist: process noise, MultivariateNormal (or ``Normal.to_event(1)``)
        with batch shape broadcastable to ``batch_shape + (num_steps,)``.
    :param torch.Tensor observation_matrix: shape broadcastable to ``batch_shape +
        (num_steps, hidden_dim, obs_dim)``.
    :param observation_dist: observation noise, MultivariateNormal or
        ``Normal(...).to_event(1)``, batch shape broadcastable to ``batch_shape +
        (num_steps,)``, event shape ``(obs_dim,)``.
    :param int duration: optional number of time steps (to sample homogeneous models).
    :raises ValueError: on shapes that do not agree or non-Gaussian noise.

    **References**

    [1] S. Särkkä, Á. F. García-Fernández (2021), "Temporal Parallelization of Bayesian
        Smoothers", IEEE Transactions on Automatic Control 66(1).
    [2] R. E. Kalman (1960), "A New Approach to Linear Filtering and Prediction Problems".
    """

    has_rsample = True
    arg_constraints = {}
    support = constraints.independent(constraints.real, 2)

    def _make_factors(self, batch_shape: torch.Size) -> torch.Size:
        self._init = mvn_to_gaussian(self.initial_dist).expand(batch_shape)
        self._trans = matrix_and_mvn_to_gaussian(self.transition_matrix, self.transition_dist)
        obs_dist = self.observation_dist
        self._obs: Gaussian | AffineNormal
        if isinstance(obs_dist, torch.distributions.Independent):
            base = obs_dist.base_dist
            self._obs = AffineNormal(self.observation_matrix, base.loc, base.scale)
        else:
            self._obs = matrix_and_mvn_to_gaussian(self.observation_matrix, obs_dist)
        return batch_shape

    def expand(self, batch_shape, _instance=None):
        batch_shape = torch.Size(batch_shape)
        new = GaussianHMM(
            *self._expand_linear_params(batch_shape), validate_args=False,
            duration=self.duration,
        )
        # Keep factors that conjugate_update / prefix_condition may have changed.
        time = torch.Size([self._time_size])
        new._init = self._init.expand(batch_shape)
        new._trans = self._trans.expand(batch_shape + time)
        new._obs = self._obs.expand(batch_shape + time)
        return new

    def _obs_likelihood(self, value: torch.Tensor) -> Gaussian:
        """Each step's likelihood of ``value[..., t, :]`` as a factor over
        ``(z_{t-1}, z_t)``."""
        return self._trans + self._obs.condition(value).event_pad(left=self.hidden_dim)

    def _final(self, value: torch.Tensor) -> Gaussian:
        """Factor over ``z_T`` whose total is the log likelihood of ``value``."""
        chain = sequential_gaussian_tensordot(self._obs_likelihood(value))
        return gaussian_tensordot(self._init, chain, dims=self.hidden_dim)

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        """Log likelihood of observations ``value`` (shape ``sample_shape + batch_shape +
        (num_steps, obs_dim)``); shape ``sample_shape + batch_shape``."""
        if self._validate_args:
            self._validate_sample(value)
        return self._final(value).event_logsumexp()

    def _prior_trans(self, batch_shape: torch.Size) -> Gaussian:
        """Transition factors with each step's observation integrated out."""
        obs_marginal = self._obs.marginalize(right=self.obs_dim)
        trans = self._trans + obs_marginal.event_pad(left=self.hidden_dim)
        return _time_expand(trans, batch_shape, self.event_shape[0])

    def rsample(self, sample_shape=torch.Size()) -> torch.Tensor:
        """Reparameterized draw of observations, shape ``sample_shape + batch_shape +
        (num_steps, obs_dim)`` (latent path by a parallel-scan filter-sample, then each
        observation given its state). Homogeneous models need ``duration``."""
        sample_shape = torch.Size(sample_shape)
        trans = self._prior_trans(self.batch_shape)
        z = sequential_gaussian_filter_sample(self._init, trans, sample_shape)[..., 1:, :]
        return self._obs.left_condition(z).rsample()

    def rsample_posterior(self, value: torch.Tensor, sample_shape=torch.Size()) -> torch.Tensor:
        """Reparameterized draw of the latent states ``z_1..z_T`` given observations
        ``value``: shape ``sample_shape + batch_shape + (num_steps, hidden_dim)``."""
        sample_shape = torch.Size(sample_shape)
        trans = self._obs_likelihood(value)
        batch = broadcast_shape(self.batch_shape, trans.batch_shape[:-1])
        trans = _time_expand(trans, batch, None)
        z = sequential_gaussian_filter_sample(self._init, trans, sample_shape)
        return z[..., 1:, :]

    def filter(self, value: torch.Tensor) -> MultivariateNormal:
        """Posterior of the final state ``z_T`` given observations ``value`` (Kalman
        filter): a MultivariateNormal with batch shape ``batch_shape``, event shape
        ``(hidden_dim,)``."""
        return _gaussian_to_mvn(self._final(value))

    def conjugate_update(self, other) -> tuple[GaussianHMM, torch.Tensor]:
        """Fuse another Gaussian likelihood of the same data into this model:
        ``fg, log_normalizer = f.conjugate_update(g)`` satisfies
        ``f.log_prob(x) + g.log_prob(x) == fg.log_prob(x) + log_normalizer``.

        :param other: a MultivariateNormal with batch shape ``batch_shape + (num_steps,)``
            and event shape ``(obs_dim,)`` (optionally ``.to_event(1)``), or a ``Normal``
            with ``.to_event(2)``, representing ``p(data | self)`` normalized over ``self``.
        :returns: the updated GaussianHMM (its factors carry the update; its
            ``initial_dist`` etc. still name the prior) and the log normalizer of shape
            ``batch_shape``.
        """
        g = _likelihood_gaussian(other, self.obs_dim)
        obs = self._obs.to_gaussian() if isinstance(self._obs, AffineNormal) else self._obs
        obs = obs + g.event_pad(left=self.hidden_dim)
        new = self.expand(self.batch_shape)
        new._obs = obs
        batch = broadcast_shape(self.batch_shape, g.batch_shape[:-1])
        chain = sequential_gaussian_tensordot(new._prior_trans(batch))
        log_normalizer = gaussian_tensordot(self._init, chain, self.hidden_dim).event_logsumexp()
        new._init = self._init - log_normalizer
        return new, log_normalizer

    def prefix_condition(self, data: torch.Tensor) -> GaussianHMM:
        """Condition on the first ``t`` observations ``data`` (shape ``batch_shape + (t,
        obs_dim)``): returns the GaussianHMM of the remaining ``f = num_steps - t`` steps
        (``event_shape == (f, obs_dim)``), typically a forecast after ``t`` training steps.

        :raises ValueError: if ``data`` has more steps than the model.
        """
        t = data.size(-2)
        T = self.event_shape[0]
        if self.duration is not None or T != 1:
            if t > T:
                raise ValueError(f"prefix_condition: data has {t} steps, the model {T}")
        head = self._trans_obs_slice(slice(0, t))
        chain = sequential_gaussian_tensordot(
            head._trans + head._obs.condition(data).event_pad(left=self.hidden_dim)
        )
        final = gaussian_tensordot(self._init, chain, dims=self.hidden_dim)
        final = final - final.event_logsumexp()
        new = self._trans_obs_slice(slice(t, None))
        batch = final.batch_shape
        new._init = final
        new._batch_shape = batch
        f = T - t if (self.duration is not None or T != 1) else 1
        new._event_shape = torch.Size((f, self.obs_dim))
        new._duration = None if self.duration is None else self.duration - t
        return new

    def _trans_obs_slice(self, index: slice) -> GaussianHMM:
        """A copy whose transition / observation factors are restricted to the time
        steps ``index`` (homogeneous factors are kept)."""
        new = self.expand(self.batch_shape)
        if self._time_size > 1:
            new._trans = new._trans[..., index]
            new._obs = new._obs[..., index]
            new._time_size = new._trans.batch_shape[-1]
        return new


def _likelihood_gaussian(other, obs_dim: int) -> Gaussian:
    """A per-step Gaussian factor over observations from a likelihood distribution."""
    d = other
    if isinstance(d, torch.distributions.Independent):
        base = d.base_dist
        if isinstance(base, torch.distributions.MultivariateNormal):
            d = base
        elif isinstance(base, torch.distributions.Normal) and d.reinterpreted_batch_ndims == 2:
            d = torch.distributions.Independent(base, 1)
    try:
        g = mvn_to_gaussian(d)
    except ValueError as e:
        raise ValueError(
            "conjugate_update: other must be a MultivariateNormal over the observations "
            f"(optionally .to_event(1)) or Normal(...).to_event(2), got {other}"
        ) from e
    if g.dim() != obs_dim:
        raise ValueError(f"conjugate_update: other is over {g.dim()} values, not obs_dim={obs_dim}")
    return g


class GammaGaussianHMM(_LinearStateSpaceModel):
    r"""Linear-Gaussian state space model whose noises share a Gamma-distributed precision
    scale ``s``, so that the joint of initial state, hidden states and observations is
    multivariate Student-t:

    .. code-block:: none

        s = scale_dist.sample()
        z = scale_mvn(initial_dist, s).sample()
        for t in range(num_steps):
            z = z @ transition_matrix[t] + scale_mvn(transition_dist[t], s).sample()
            x[t] = z @ observation_matrix[t] + scale_mvn(observation_dist[t], s).sample()

    where ``scale_mvn(mvn, s)`` divides the covariance by ``s``. ``s`` and the states are
    integrated out exactly by a parallel scan of Gamma-Gaussian factors.

    :param scale_dist: a :class:`~pyro.distributions.Gamma` prior of ``s``, batch shape
        broadcastable to ``batch_shape``.
    :param initial_dist: MultivariateNormal of ``z_0`` at ``s = 1``, event ``(hidden_dim,)``.
    :param torch.Tensor transition_matrix: ``batch_shape + (num_steps, hidden_dim,
        hidden_dim)``.
    :param transition_dist: process noise at ``s = 1``, batch ``batch_shape + (num_steps,)``.
    :param torch.Tensor observation_matrix: ``batch_shape + (num_steps, hidden_dim,
        obs_dim)``.
    :param observation_dist: observation noise at ``s = 1``, event ``(obs_dim,)``.
    :param int duration: optional number of time steps.

    **References**

    [1] S. Särkkä, Á. F. García-Fernández (2021), "Temporal Parallelization of Bayesian
        Smoothers", IEEE Transactions on Automatic Control 66(1).
    [2] F. Tronarp, T. Karvonen, S. Särkkä (2019), "Student's t-filters for noise scale
        estimation", IEEE Signal Processing Letters 26(2).
    """

    arg_constraints = {}
    support = constraints.independent(constraints.real, 2)

    def __init__(self, scale_dist, initial_dist, transition_matrix, transition_dist,
                 observation_matrix, observation_dist, validate_args=None, duration=None):
        if not isinstance(scale_dist, torch.distributions.Gamma):
            raise ValueError(f"{type(self).__name__}: scale_dist must be a Gamma, got "
                             f"{type(scale_dist).__name__}")
        self.scale_dist = scale_dist
        super().__init__(initial_dist, transition_matrix, transition_dist, observation_matrix,
                         observation_dist, validate_args=validate_args, duration=duration)

    def _make_factors(self, batch_shape: torch.Size) -> torch.Size:
        batch_shape = broadcast_shape(batch_shape, self.scale_dist.batch_shape)
        self._init = gamma_and_mvn_to_gamma_gaussian(
            self.scale_dist, self.initial_dist).expand(batch_shape)
        self._trans = matrix_and_mvn_to_gamma_gaussian(
            self.transition_matrix, self.transition_dist)
        self._obs = matrix_and_mvn_to_gamma_gaussian(
            self.observation_matrix, self.observation_dist)
        return batch_shape

    def expand(self, batch_shape, _instance=None):
        batch_shape = torch.Size(batch_shape)
        return GammaGaussianHMM(
            self.scale_dist.expand(batch_shape),
            *self._expand_linear_params(batch_shape),
            validate_args=False,
            duration=self.duration,
        )

    def _final(self, value: torch.Tensor):
        """Gamma-Gaussian factor over ``z_T`` (and ``s``) given the observations."""
        logp = self._trans + self._obs.condition(value).event_pad(left=self.hidden_dim)
        chain = sequential_gamma_gaussian_tensordot(logp)
        return gamma_gaussian_tensordot(self._init, chain, dims=self.hidden_dim)

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        """Log likelihood of ``value`` with ``s`` and the states integrated out; shape
        ``sample_shape + batch_shape``."""
        if self._validate_args:
            self._validate_sample(value)
        return self._final(value).event_logsumexp().logsumexp()

    def filter(self, value: torch.Tensor) -> tuple[Gamma, MultivariateNormal]:
        """Posterior of the scale ``s`` and the final state given observations ``value``:
        a pair ``(Gamma, MultivariateNormal)`` where ``s ~ Gamma`` and ``z_T | s`` is the
        MultivariateNormal with its covariance divided by ``s`` (see
        :func:`~pyro.ops.gamma_gaussian.scale_mvn`)."""
        final = self._final(value)
        gamma = final.event_logsumexp()
        mvn = _gaussian_to_mvn(Gaussian(final.log_normalizer, final.info_vec, final.precision))
        return Gamma(gamma.concentration, gamma.rate), mvn


# ----------------------------------------------------------------------------------------
# Linear models with arbitrary noise


def _split_observation(observation_dist, obs_dim: int):
    """``(noise, transforms)`` of an observation distribution that may be Independent and/or
    TransformedDistribution layers around a base noise; ``noise`` has event shape
    ``(obs_dim,)`` (a univariate base is reinterpreted with ``Independent(base, 1)``)."""
    transforms: list = []
    d = observation_dist
    while True:
        if isinstance(d, torch.distributions.Independent):
            d = d.base_dist
        elif isinstance(d, torch.distributions.TransformedDistribution):
            transforms = list(d.transforms) + transforms
            d = d.base_dist
        else:
            break
    if len(d.event_shape) == 0:
        d = Independent(d, 1)
    if tuple(d.event_shape) != (obs_dim,):
        raise ValueError(
            f"LinearHMM: the base noise of observation_dist has event_shape "
            f"{tuple(d.event_shape)}, expected () or ({obs_dim},)"
        )
    return d, transforms


def _is_gaussian_noise(d) -> bool:
    return isinstance(d, torch.distributions.MultivariateNormal) or (
        isinstance(d, torch.distributions.Independent)
        and d.reinterpreted_batch_ndims == 1
        and isinstance(d.base_dist, torch.distributions.Normal)
    )


def _affine_prefix_scan(A: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Apply the maps ``z -> z @ A[t] + b[t]`` cumulatively: returns ``z_t = (...((b[0]) @
    A[1] + b[1]) ...) @ A[t] + b[t]`` for every ``t`` (``b[0]`` is the start, ``A[0]``
    unused), by a Hillis-Steele scan in ``ceil(log2 T)`` batched steps."""
    T = b.size(-2)
    A = A.expand(b.shape[:-1] + A.shape[-2:])
    b = b.clone()
    A = A.clone()
    A[..., 0, :, :] = 0  # the start has no predecessor
    d = 1
    while d < T:
        # segment (t-d, t] composed after segment (t-2d, t-d]
        newA = A[..., :-d, :, :] @ A[..., d:, :, :]
        newb = (b[..., :-d, :].unsqueeze(-2) @ A[..., d:, :, :]).squeeze(-2) + b[..., d:, :]
        A = torch.cat([A[..., :d, :, :], newA], -3)
        b = torch.cat([b[..., :d, :], newb], -2)
        d *= 2
    return b


class LinearHMM(_LinearStateSpaceModel):
    r"""Hidden Markov model with linear dynamics and observations and arbitrary noise (e.g.
    MultivariateNormal, or Independent Normal, StudentT, Stable), whose observations may be
    transformed (e.g. ``LogNormal`` noise):

    .. code-block:: none

        z = initial_dist.sample()
        for t in range(num_steps):
            z = z @ transition_matrix[t] + transition_dist[t].sample()
            y = z @ observation_matrix[t] + obs_base_dist[t].sample()
            x[t] = obs_transform(y)

    where ``observation_dist`` is split into a base noise ``obs_base_dist`` and optional
    transforms (identity by default). :meth:`rsample` is reparameterized (a parallel prefix
    scan of the affine dynamics). :meth:`log_prob` is exact when all three noises are
    Gaussian and there is no transform (it is then a :class:`GaussianHMM`); otherwise
    there is no closed form: infer with ``LinearHMMReparam`` or a likelihood-free loss such
    as ``EnergyDistance``.

    :param initial_dist: distribution of ``z_0`` with event shape ``(hidden_dim,)``.
    :param torch.Tensor transition_matrix: ``batch_shape + (num_steps, hidden_dim,
        hidden_dim)``.
    :param transition_dist: process noise, batch ``batch_shape + (num_steps,)``, event
        ``(hidden_dim,)``.
    :param torch.Tensor observation_matrix: ``batch_shape + (num_steps, hidden_dim,
        obs_dim)``.
    :param observation_dist: observation noise, batch ``batch_shape + (num_steps,)``, event
        ``(obs_dim,)``.
    :param int duration: optional number of time steps.
    """

    arg_constraints = {}
    has_rsample = True

    _gaussian_noise = False

    def _make_factors(self, batch_shape: torch.Size) -> torch.Size:
        # As in Pyro: observation_dist is the base noise (event (obs_dim,)), and transforms
        # the transforms applied to z @ observation_matrix + noise.
        self._full_observation_dist = self.observation_dist
        self.observation_dist, self.transforms = _split_observation(
            self.observation_dist, self.obs_dim)
        return batch_shape

    @constraints.dependent_property(is_discrete=False, event_dim=2)
    def support(self):
        return constraints.independent(self._full_observation_dist.support, 1)

    def expand(self, batch_shape, _instance=None):
        batch_shape = torch.Size(batch_shape)
        args = list(self._expand_linear_params(batch_shape))
        time = torch.Size([self._time_size])
        args[-1] = self._full_observation_dist.expand(batch_shape + time)
        return LinearHMM(*args, validate_args=False, duration=self.duration)

    def _as_gaussian_hmm(self) -> GaussianHMM | None:
        noises = (self.initial_dist, self.transition_dist, self.observation_dist)
        if not self.transforms and all(_is_gaussian_noise(d) for d in noises):
            return GaussianHMM(
                self.initial_dist,
                self.transition_matrix,
                self.transition_dist,
                self.observation_matrix,
                self.observation_dist,
                validate_args=False,
                duration=self.duration,
            )
        return None

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        """Exact log likelihood when every noise is Gaussian and observations are not
        transformed.

        :raises NotImplementedError: for other noises, which have no closed-form likelihood
            (use ``pyro.infer.reparam.LinearHMMReparam`` or ``EnergyDistance``).
        """
        gaussian = self._as_gaussian_hmm()
        if gaussian is None:
            raise NotImplementedError(
                "LinearHMM.log_prob() has no closed form for non-Gaussian or transformed noise; "
                "use poutine.reparam with LinearHMMReparam, or a likelihood-free loss such as "
                "EnergyDistance"
            )
        if self._validate_args:
            self._validate_sample(value)
        return gaussian.log_prob(value)

    def rsample(self, sample_shape=torch.Size()) -> torch.Tensor:
        """Reparameterized draw of shape ``sample_shape + batch_shape + (num_steps,
        obs_dim)`` (homogeneous models need ``duration``)."""
        sample_shape = torch.Size(sample_shape)
        T = self._sample_duration()
        batch = self.batch_shape
        h, o = self.hidden_dim, self.obs_dim
        z0 = self.initial_dist.expand(batch).rsample(sample_shape)
        noise = self.transition_dist.expand(batch + (T,)).rsample(sample_shape)
        b = torch.cat([z0.unsqueeze(-2), noise], -2)
        A = self.transition_matrix.expand(batch + (T, h, h))
        A = torch.cat([A[..., :1, :, :], A], -3)  # a placeholder for the start
        z = _affine_prefix_scan(A, b)[..., 1:, :]
        M = self.observation_matrix.expand(batch + (T, h, o))
        y = (z.unsqueeze(-2) @ M).squeeze(-2)
        y = y + self.observation_dist.expand(batch + (T,)).rsample(sample_shape)
        for t in self.transforms:
            y = t(y)
        return y


class IndependentHMM(ForcibleHasRsample, TorchDistribution):
    """A batch of independent univariate HMMs seen as one multivariate HMM: maps
    ``base_dist.batch_shape == batch_shape + (obs_dim,)``, ``base_dist.event_shape ==
    (num_steps, 1)`` to ``batch_shape``, ``event_shape == (num_steps, obs_dim)``.

    :param base_dist: a HiddenMarkovModel with event shape ``(num_steps, 1)``.
    :raises ValueError: if the base has no batch dim or its event shape is not ``(T, 1)``.
    """

    arg_constraints = {}
    base_dist: HiddenMarkovModel

    def __init__(self, base_dist):
        if (
            len(base_dist.event_shape) != 2
            or base_dist.event_shape[-1] != 1
            or not base_dist.batch_shape
        ):
            raise ValueError(
                "IndependentHMM: base_dist needs batch_shape (..., obs_dim) and event_shape "
                f"(num_steps, 1), got {tuple(base_dist.batch_shape)} and "
                f"{tuple(base_dist.event_shape)}"
            )
        self.base_dist = base_dist
        batch_shape = base_dist.batch_shape[:-1]
        event_shape = base_dist.event_shape[:1] + base_dist.batch_shape[-1:]
        super().__init__(batch_shape, event_shape, validate_args=False)

    @constraints.dependent_property(is_discrete=False, event_dim=2)
    def support(self):
        return constraints.independent(constraints.real, 2)

    @property
    def duration(self) -> int | None:
        return self.base_dist.duration

    def expand(self, batch_shape, _instance=None):
        batch_shape = torch.Size(batch_shape)
        return IndependentHMM(self.base_dist.expand(batch_shape + self.base_dist.batch_shape[-1:]))

    def rsample(self, sample_shape=torch.Size()) -> torch.Tensor:
        """Draw of shape ``sample_shape + batch_shape + (num_steps, obs_dim)``."""
        return self.base_dist.rsample(sample_shape).squeeze(-1).transpose(-1, -2)

    def sample(self, sample_shape=torch.Size()) -> torch.Tensor:
        return self.base_dist.sample(sample_shape).squeeze(-1).transpose(-1, -2)

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        """Sum of the univariate HMMs' log likelihoods of ``value[..., :, i]``."""
        return self.base_dist.log_prob(value.transpose(-1, -2).unsqueeze(-1)).sum(-1)


class GaussianMRF(TorchDistribution):
    r"""Temporal Markov random field with Gaussian factors over the initial state, pairs of
    successive states, and (state, observation) pairs:

    .. math:: p(x) = \frac{\int f_0(z_0) \prod_t g_t(z_{t-1}, z_t)\, h_t(z_t, x_t)\, dz}
                          {\int\!\!\int f_0(z_0) \prod_t g_t(z_{t-1}, z_t)\, h_t(z_t, x_t)\,
                           dz\, dx}

    where each factor is a MultivariateNormal density. Both integrals are computed by a
    parallel scan; tracking the normalizer keeps :meth:`log_prob` exact and differentiable.

    :param initial_dist: MultivariateNormal factor of ``z_0``, event ``(hidden_dim,)``.
    :param transition_dist: MultivariateNormal factor of ``(z_{t-1}, z_t)``, batch shape
        broadcastable to ``batch_shape + (num_steps,)``, event ``(2 * hidden_dim,)``.
    :param observation_dist: MultivariateNormal factor of ``(z_t, x_t)``, batch shape
        broadcastable to ``batch_shape + (num_steps,)``, event ``(hidden_dim + obs_dim,)``.

    **References**

    [1] S. Särkkä, Á. F. García-Fernández (2021), "Temporal Parallelization of Bayesian
        Smoothers", IEEE Transactions on Automatic Control 66(1).
    """

    arg_constraints = {}

    def __init__(self, initial_dist, transition_dist, observation_dist, validate_args=None):
        cls = "GaussianMRF"
        h = _mvn_event_size(initial_dist, "initial_dist", cls)
        _check_event(transition_dist, 2 * h, "transition_dist", cls)
        n = _mvn_event_size(observation_dist, "observation_dist", cls)
        if n <= h:
            raise ValueError(
                f"GaussianMRF: observation_dist must be over hidden_dim + obs_dim > {h} values, "
                f"got event_shape {tuple(observation_dist.event_shape)}"
            )
        self.hidden_dim, self.obs_dim = h, n - h
        self.initial_dist = initial_dist
        self.transition_dist = transition_dist
        self.observation_dist = observation_dist
        shape = broadcast_shape(
            initial_dist.batch_shape + (1,),
            transition_dist.batch_shape,
            observation_dist.batch_shape,
        )
        batch_shape, time_shape = shape[:-1], shape[-1:]
        self._time_size = time_shape[0]
        self._init = mvn_to_gaussian(initial_dist)
        self._trans = mvn_to_gaussian(transition_dist)
        self._obs = mvn_to_gaussian(observation_dist)
        super().__init__(batch_shape, time_shape + (self.obs_dim,), validate_args=validate_args)

    @constraints.dependent_property(is_discrete=False, event_dim=2)
    def support(self):
        return constraints.independent(constraints.real, 2)

    def _validate_sample(self, value: torch.Tensor) -> None:
        _validate_time_series(self, value)

    def expand(self, batch_shape, _instance=None):
        batch_shape = torch.Size(batch_shape)
        time = torch.Size([self._time_size])
        return GaussianMRF(
            self.initial_dist.expand(batch_shape),
            self.transition_dist.expand(batch_shape + time),
            self.observation_dist.expand(batch_shape + time),
            validate_args=False,
        )

    def _total(self, trans: Gaussian) -> torch.Tensor:
        chain = sequential_gaussian_tensordot(trans)
        return gaussian_tensordot(self._init, chain, dims=self.hidden_dim).event_logsumexp()

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        """Normalized log density of ``value`` (shape ``sample_shape + batch_shape +
        (num_steps, obs_dim)``); shape ``sample_shape + batch_shape``."""
        if self._validate_args:
            self._validate_sample(value)
        h = self.hidden_dim
        numerator = self._total(self._trans + self._obs.condition(value).event_pad(left=h))
        T = value.size(-2)
        marginal = self._trans + self._obs.marginalize(right=self.obs_dim).event_pad(left=h)
        marginal = _time_expand(marginal, marginal.batch_shape[:-1], T)
        return numerator - self._total(marginal)
