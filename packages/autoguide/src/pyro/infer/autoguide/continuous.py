"""Guides over one flat unconstrained vector: :class:`AutoContinuous` (the base) and its
Gaussian families :class:`AutoMultivariateNormal`, :class:`AutoDiagonalNormal` and
:class:`AutoLowRankMultivariateNormal`.

Every latent site ``z`` of the model is mapped to real space by ``biject_to(support)``,
flattened, and the pieces are concatenated into one vector of length ``latent_dim`` (in
the order the model samples them). The guide samples that vector from
:meth:`AutoContinuous.get_posterior` (an auxiliary site ``"_{prefix}_latent"``), cuts it
back into the sites, maps each piece to its support and records it as a Delta carrying the
log-Jacobian of the map, so the guide's density is the density of the constrained values.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence

import torch
from torch.distributions.transforms import AffineTransform

import pyro
import pyro.distributions as dist
from pyro.distributions import constraints
from pyro.distributions.transforms import LowerCholeskyAffine

from .guides import AutoGuide, _Site
from .initialization import init_to_median
from .utils import check_init_scale

__all__ = [
    "AutoContinuous",
    "AutoDiagonalNormal",
    "AutoLowRankMultivariateNormal",
    "AutoMultivariateNormal",
]


class AutoContinuous(AutoGuide):
    """Base class of guides whose latent variables are all the model's (continuous) latent
    sites, each mapped to real space by ``biject_to(site support)`` and flattened into one
    vector of length :attr:`latent_dim`. A subclass defines the distribution of that vector
    by :meth:`get_posterior` (or by :meth:`get_base_dist` and :meth:`get_transform`).

    Shapes: the latent vector has shape ``batch_shape + (latent_dim,)``, ``batch_shape``
    coming from plates around the guide (e.g. vectorized ELBO particles, placed left of
    the model's plates); each site's piece is reshaped to ``batch_shape`` broadcast with the
    site's unconstrained shape.

    :param model: the model.
    :param init_loc_fn: initialization strategy of the location (default
        :func:`~pyro.infer.autoguide.initialization.init_to_median`).
    :param create_plates: see :class:`~pyro.infer.autoguide.AutoGuide`.
    :param str prefix: prefix of the parameter names (default: the class name).
    :raises ValueError: (at the first call) for a discrete latent site, a latent site inside
        a subsampled plate (the guide couples every element, so it cannot visit a
        subsample), a site in a sequential plate, or a model with no latent sites.

    **References**

    [1] A. Kucukelbir, D. Tran, R. Ranganath, A. Gelman, D. Blei, "Automatic
        Differentiation Variational Inference", JMLR 2017.
    """

    #: draws used by :meth:`median` / :meth:`quantiles` when the marginals of the latent
    #: vector are not Gaussian (normalizing flows): Monte Carlo quantiles
    num_quantile_samples = 4096

    def __init__(self, model: Callable, init_loc_fn: Callable = init_to_median, *,
                 create_plates: Callable | None = None, prefix: str | None = None) -> None:
        cls = type(self)
        if cls.get_posterior is AutoContinuous.get_posterior and \
                cls.get_transform is AutoContinuous.get_transform:
            raise TypeError(
                f"{cls.__name__}: AutoContinuous is a base class; use AutoMultivariateNormal, "
                f"AutoDiagonalNormal, AutoLowRankMultivariateNormal, AutoIAFNormal or "
                f"AutoLaplaceApproximation, or define get_posterior() or get_transform()"
            )
        super().__init__(model, create_plates=create_plates, prefix=prefix)
        self.init_loc_fn = init_loc_fn
        self.latent_dim: int | None = None
        self._latent_name = f"_{self.prefix}_latent"

    # ---------------------------------------------------------------- setup

    def _setup_params(self) -> None:
        cls_name = type(self).__name__
        if not self._sites:
            raise ValueError(
                f"{cls_name}: the model has no latent sample sites; nothing to guide (are all "
                f"sites observed or hidden by poutine.block?)"
            )
        self._reject_subsampled_sites(
            "couples all latent elements and does not support subsampling of local latent "
            "variables. Use AutoNormal or AutoDelta for such sites (e.g. combined with this "
            "guide through AutoGuideList)")
        self._blocks: list[tuple[_Site, int, int]] = []
        pos = 0
        for site in self._sites:
            size = site.init_loc.numel()
            self._blocks.append((site, pos, pos + size))
            pos += size
        self.latent_dim = pos
        self._init_latent = torch.cat([site.init_loc.reshape(-1) for site in self._sites])
        self._setup_latent()

    def _setup_latent(self) -> None:
        """Create the initial values of the subclass's parameters (``latent_dim`` known)."""

    def _param_names(self) -> list[str] | None:
        names = getattr(self, "_names", None)
        return list(names.values()) if isinstance(names, dict) else None

    def _init_loc(self) -> torch.Tensor:
        """The initial unconstrained latent vector (``init_loc_fn`` of every site), shape
        ``(latent_dim,)``."""
        return self._init_latent

    # ------------------------------------------------------------ the family

    def get_base_dist(self) -> torch.distributions.Distribution:
        """The base distribution of the latent vector, before :meth:`get_transform`: a
        standard Normal of event shape ``(latent_dim,)``."""
        init = self._init_latent
        return dist.Normal(init.new_zeros(()), init.new_ones(())).expand(
            (self.latent_dim,)).to_event(1)

    def get_transform(self, *args, **kwargs):
        """The transform mapping :meth:`get_base_dist` to :meth:`get_posterior`
        (subclasses)."""
        raise NotImplementedError(
            f"{type(self).__name__} defines get_posterior() directly and no "
            f"base-distribution/transform decomposition"
        )

    def get_posterior(self, *args, **kwargs) -> torch.distributions.Distribution:
        """The distribution of the unconstrained latent vector, event shape
        ``(latent_dim,)``: by default ``get_transform()`` applied to ``get_base_dist()``."""
        self._ensure_setup(args, kwargs)
        return dist.TransformedDistribution(self.get_base_dist(),
                                            self.get_transform(*args, **kwargs))

    def _loc_scale(self, *args, **kwargs) -> tuple[torch.Tensor, torch.Tensor] | None:
        """Location and marginal scale of a Gaussian latent vector, ``(latent_dim,)`` each;
        ``None`` when the marginals are not Gaussian (then quantiles are estimated)."""
        return None

    # ------------------------------------------------------------- sampling

    def sample_latent(self, *args, **kwargs) -> torch.Tensor:
        """Sample the unconstrained latent vector as the auxiliary site
        ``"_{prefix}_latent"``: shape ``batch_shape + (latent_dim,)``."""
        return pyro.sample(self._latent_name, self.get_posterior(*args, **kwargs),
                           infer={"is_auxiliary": True})

    def _unpack_sites(self, latent: torch.Tensor) -> Iterator[tuple[_Site, torch.Tensor]]:
        if latent.size(-1) != self.latent_dim:
            raise ValueError(
                f"{type(self).__name__}: expected a latent vector whose last dim is "
                f"latent_dim={self.latent_dim}, got shape {tuple(latent.shape)}"
            )
        for site, start, stop in self._blocks:
            yield site, site.unflatten(latent[..., start:stop], type(self).__name__)

    def unpack_latent(self, latent: torch.Tensor) -> Iterator[tuple[dict, torch.Tensor]]:
        """Cut a latent vector ``batch_shape + (latent_dim,)`` into its sites: yields
        ``(prototype site, unconstrained value)`` pairs in the model's order."""
        nodes = self._prototype().nodes
        for site, value in self._unpack_sites(latent):
            yield nodes[site.name], value

    # Pyro 1.9's name for it: programs written for Pyro (e.g. reading a fitted guide's
    # latent back per site) call the private spelling.
    _unpack_latent = unpack_latent

    def _unpack_and_constrain(self, latent: torch.Tensor) -> dict[str, torch.Tensor]:
        """``{site name: constrained value}`` of one latent vector."""
        return {site.name: site.transform(u) for site, u in self._unpack_sites(latent)}

    def forward(self, *args, **kwargs) -> dict[str, torch.Tensor]:
        """Sample the latent vector and every latent site from it; returns
        ``{name: constrained value}``."""
        self._ensure_setup(args, kwargs)
        latent = self.sample_latent(*args, **kwargs)
        plates = self._create_plates(*args, **kwargs) if self._prototype_frames else {}
        for plate in plates.values():
            # as in Pyro: plate.size is the full size, plate.subsample_size the visited one
            if plate.subsample_size != plate.size:
                raise ValueError(
                    f"{type(self).__name__}: plate {plate.name!r} subsamples "
                    f"{plate.subsample_size} of {plate.size} elements; {type(self).__name__} "
                    f"does not support subsampling of local latent variables"
                )
        result = {}
        for site, u in self._unpack_sites(latent):
            if site.identity:
                value, log_density = u, 0.0
            else:
                value, log_density = site.constrain(u)
            delta = dist.Delta(value, log_density=log_density, event_dim=site.fn_event_dim)
            with self._enter_plates(site, plates):
                result[site.name] = pyro.sample(site.name, delta)
        return result

    # -------------------------------------------------------------- summaries

    def _latent_quantiles(self, qs: torch.Tensor, args, kwargs) -> torch.Tensor:
        """Marginal quantiles of the latent vector, shape ``(len(qs), latent_dim)``."""
        loc_scale = self._loc_scale(*args, **kwargs)
        if loc_scale is not None:
            loc, scale = loc_scale
            qs = qs.to(dtype=loc.dtype, device=loc.device).unsqueeze(-1)
            return loc + scale * torch.special.ndtri(qs)
        draws = self.get_posterior(*args, **kwargs).sample((self.num_quantile_samples,))
        draws = draws.reshape(self.num_quantile_samples, -1)
        return torch.quantile(draws, qs.to(dtype=draws.dtype, device=draws.device), dim=0)

    def median(self, *args, **kwargs) -> dict[str, torch.Tensor]:
        """Posterior median of each site: the constrained marginal medians of the latent
        vector (for a Gaussian family its location; for a flow a Monte Carlo estimate from
        ``num_quantile_samples`` draws)."""
        self._ensure_setup(args, kwargs)
        with torch.no_grad():
            latent = self._latent_quantiles(torch.tensor([0.5]), args, kwargs)[0]
            return self._unpack_and_constrain(latent)

    def quantiles(self, quantiles: Sequence[float] | torch.Tensor, *args,
                  **kwargs) -> dict[str, torch.Tensor]:
        """Marginal posterior quantiles of each site: ``{name: tensor of shape
        (len(quantiles),) + site shape}``. The latent marginal quantiles are mapped by each
        site's transform, which is exact for elementwise monotone transforms (real,
        positive, interval supports) and an approximation otherwise (e.g. simplex).

        :raises ValueError: for quantiles outside ``(0, 1)``.
        """
        self._ensure_setup(args, kwargs)
        qs = torch.as_tensor(quantiles, dtype=torch.get_default_dtype()).reshape(-1)
        if not bool(((qs > 0) & (qs < 1)).all()):
            raise ValueError(f"{type(self).__name__}.quantiles: quantiles must lie in (0, 1), "
                             f"got {qs.tolist()}")
        with torch.no_grad():
            latents = self._latent_quantiles(qs, args, kwargs)
            per_q = [self._unpack_and_constrain(latent) for latent in latents]
        return {name: torch.stack([d[name] for d in per_q]) for name in per_q[0]}


class _AutoGaussianFamily(AutoContinuous):
    """What the three Gaussian families share: the ``init_scale`` argument and their
    parameters, declared by :attr:`_param_constraints` (``{key: constraint attribute}``,
    in the order :meth:`_params` returns them) and initialized by :meth:`_param_inits`."""

    scale_constraint = constraints.softplus_positive
    _param_constraints: dict[str, str | None] = {}

    def __init__(self, model: Callable, init_loc_fn: Callable = init_to_median,
                 init_scale: float = 0.1, *, create_plates: Callable | None = None,
                 prefix: str | None = None) -> None:
        init_scale = check_init_scale(type(self).__name__, init_scale)
        super().__init__(model, init_loc_fn, create_plates=create_plates, prefix=prefix)
        self._init_scale = init_scale

    def _param_inits(self, init: torch.Tensor) -> dict[str, torch.Tensor]:
        """Initial values of the parameters, given the initial latent vector."""
        raise NotImplementedError

    def _setup_latent(self) -> None:
        self._names = {k: self._param_name(k) for k in self._param_constraints}
        self._inits = self._param_inits(self._init_latent)

    def _params(self) -> tuple[torch.Tensor, ...]:
        return tuple(
            self._exposed_param(self._names[k], self._inits[k],
                                constraints.real if attr is None else getattr(self, attr))
            for k, attr in self._param_constraints.items())


class AutoMultivariateNormal(_AutoGaussianFamily):
    """A full-covariance Normal over the unconstrained latent vector:
    ``MultivariateNormal(loc, scale_tril=scale[:, None] * scale_tril)``, with parameters
    ``"AutoMultivariateNormal.loc"`` ``(latent_dim,)``, ``".scale"`` ``(latent_dim,)``
    (softplus-positive, initially ``init_scale``) and ``".scale_tril"``
    ``(latent_dim, latent_dim)`` (unit lower triangular, initially the identity), as in
    Pyro. The covariance is ``diag(scale) T T^T diag(scale)``.

    :param model: the model.
    :param init_loc_fn: initialization strategy of ``loc`` (default ``init_to_median``).
    :param float init_scale: initial marginal scale (default 0.1).
    :param create_plates: see :class:`~pyro.infer.autoguide.AutoGuide`.
    :param str prefix: prefix of the parameter names (default: the class name).
    """

    scale_tril_constraint = constraints.unit_lower_cholesky
    _param_constraints = {"loc": None, "scale": "scale_constraint",
                          "scale_tril": "scale_tril_constraint"}

    def _param_inits(self, init: torch.Tensor) -> dict[str, torch.Tensor]:
        return {
            "loc": init.clone(),
            "scale": torch.full_like(init, self._init_scale),
            "scale_tril": torch.eye(init.numel(), dtype=init.dtype, device=init.device),
        }

    def _scale_tril(self):
        loc, scale, tril = self._params()
        return loc, scale[..., None] * tril

    def get_posterior(self, *args, **kwargs) -> dist.MultivariateNormal:
        """``MultivariateNormal(loc, scale_tril)`` over the latent vector."""
        self._ensure_setup(args, kwargs)
        loc, scale_tril = self._scale_tril()
        return dist.MultivariateNormal(loc, scale_tril=scale_tril)

    def get_transform(self, *args, **kwargs) -> LowerCholeskyAffine:
        """``x -> loc + scale_tril @ x``, mapping the standard Normal base to the guide."""
        self._ensure_setup(args, kwargs)
        return LowerCholeskyAffine(*self._scale_tril())

    def _loc_scale(self, *args, **kwargs):
        loc, scale_tril = self._scale_tril()
        return loc, scale_tril.pow(2).sum(-1).sqrt()


class AutoDiagonalNormal(_AutoGaussianFamily):
    """A mean-field Normal over the unconstrained latent vector:
    ``Normal(loc, scale).to_event(1)``, parameters ``"AutoDiagonalNormal.loc"`` and
    ``"AutoDiagonalNormal.scale"`` (softplus-positive, initially ``init_scale``), both
    ``(latent_dim,)``. For a Gaussian posterior with precision ``L`` its optimum keeps the
    exact mean and has variances ``1 / L_ii``.

    :param model: the model.
    :param init_loc_fn: initialization strategy of ``loc`` (default ``init_to_median``).
    :param float init_scale: initial scale (default 0.1).
    :param create_plates: see :class:`~pyro.infer.autoguide.AutoGuide`.
    :param str prefix: prefix of the parameter names (default: the class name).
    """

    _param_constraints = {"loc": None, "scale": "scale_constraint"}

    def _param_inits(self, init: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"loc": init.clone(), "scale": torch.full_like(init, self._init_scale)}

    def get_posterior(self, *args, **kwargs) -> dist.TorchDistribution:
        """``Normal(loc, scale).to_event(1)`` over the latent vector."""
        self._ensure_setup(args, kwargs)
        loc, scale = self._params()
        return dist.Normal(loc, scale).to_event(1)

    def get_transform(self, *args, **kwargs) -> AffineTransform:
        """``x -> loc + scale * x`` (event dim 1)."""
        self._ensure_setup(args, kwargs)
        loc, scale = self._params()
        return AffineTransform(loc, scale, event_dim=1)

    def _loc_scale(self, *args, **kwargs):
        return self._params()


class AutoLowRankMultivariateNormal(_AutoGaussianFamily):
    """A Normal over the unconstrained latent vector with low-rank-plus-diagonal
    covariance ``diag(s) (W W^T + I) diag(s)``: parameters
    ``"AutoLowRankMultivariateNormal.loc"`` ``(latent_dim,)``, ``".scale"`` ``s``
    ``(latent_dim,)`` (softplus-positive) and ``".cov_factor"`` ``W``
    ``(latent_dim, rank)``. Sampling and scoring cost ``O(latent_dim * rank^2)``.

    Initially ``W`` has independent ``N(0, 1/rank)`` entries and ``s = init_scale /
    sqrt(2)``, so the initial marginal scales are about ``init_scale``.

    :param model: the model.
    :param init_loc_fn: initialization strategy of ``loc`` (default ``init_to_median``).
    :param float init_scale: approximate initial marginal scale (default 0.1).
    :param int rank: rank of ``W``; default ``round(sqrt(latent_dim))`` (at least 1).
    :param create_plates: see :class:`~pyro.infer.autoguide.AutoGuide`.
    :param str prefix: prefix of the parameter names (default: the class name).
    """

    _param_constraints = {"loc": None, "scale": "scale_constraint", "cov_factor": None}

    def __init__(self, model: Callable, init_loc_fn: Callable = init_to_median,
                 init_scale: float = 0.1, rank: int | None = None, *,
                 create_plates: Callable | None = None, prefix: str | None = None) -> None:
        if rank is not None and (isinstance(rank, bool) or not isinstance(rank, int)
                                 or rank < 1):
            raise ValueError(f"{type(self).__name__}: rank must be a positive int or None, "
                             f"got {rank!r}")
        super().__init__(model, init_loc_fn, init_scale, create_plates=create_plates,
                         prefix=prefix)
        self.rank = rank

    def _param_inits(self, init: torch.Tensor) -> dict[str, torch.Tensor]:
        latent_dim = init.numel()
        if self.rank is None:
            self.rank = max(1, int(round(latent_dim ** 0.5)))
        return {
            "loc": init.clone(),
            "scale": torch.full_like(init, self._init_scale / math.sqrt(2.0)),
            "cov_factor": torch.randn(latent_dim, self.rank, dtype=init.dtype,
                                      device=init.device) / math.sqrt(self.rank),
        }

    def get_posterior(self, *args, **kwargs) -> dist.LowRankMultivariateNormal:
        """``LowRankMultivariateNormal(loc, s[:, None] * W, s**2)`` over the latent
        vector."""
        self._ensure_setup(args, kwargs)
        loc, scale, cov_factor = self._params()
        return dist.LowRankMultivariateNormal(loc, cov_factor * scale[..., None], scale * scale)

    def get_transform(self, *args, **kwargs) -> LowerCholeskyAffine:
        """``x -> loc + K x`` with ``K`` the Cholesky factor of the covariance (an
        ``O(latent_dim^3)`` factorization; sampling through :meth:`get_posterior` avoids
        it)."""
        posterior = self.get_posterior(*args, **kwargs)
        return LowerCholeskyAffine(posterior.loc, posterior.scale_tril)

    def _loc_scale(self, *args, **kwargs):
        loc, scale, cov_factor = self._params()
        return loc, scale * (1 + cov_factor.pow(2).sum(-1)).sqrt()
