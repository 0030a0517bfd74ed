""":class:`AutoGaussian`: a joint Gaussian guide over the unconstrained latent sites whose
precision matrix has the sparsity of the model's factor graph (dense backend)."""
from __future__ import annotations

from collections.abc import Callable

import torch

import pyro.distributions as dist
from pyro import poutine
from pyro.distributions import constraints

from .continuous import AutoContinuous
from .guides import _Site
from .initialization import init_to_feasible
from .utils import check_init_scale

__all__ = ["AutoGaussian", "AutoGaussianDense"]

_BACKENDS = ("dense", "funsor")


def _plate_shape(frames, num_dims: int) -> list[int]:
    """The sizes of a site's plates laid out over the ``num_dims`` rightmost batch dims."""
    shape = [1] * num_dims
    for frame in frames:
        if frame.dim is not None:
            shape[num_dims + frame.dim] = frame.size
    return shape


def _site_index(site: _Site, offset: int, num_dims: int) -> torch.Tensor:
    """Positions of a latent site's elements in the flat latent vector, shaped
    ``plate_shape + (e,)``: plate dims kept, every other dim merged into ``e``."""
    shape = site.init_loc.shape
    nb = len(shape) - site.event_dim
    idx = torch.arange(offset, offset + site.init_loc.numel()).reshape(shape)
    plate_dims = {frame.dim for frame in site.frames if frame.dim is not None}
    kept = [i for i in range(nb) if (i - nb) in plate_dims and -(i - nb) <= num_dims]
    rest = [i for i in range(len(shape)) if i not in kept]
    idx = idx.permute(kept + rest)
    target = [1] * num_dims
    for i in kept:
        target[num_dims + i - nb] = shape[i]
    return idx.reshape(target + [-1])


def _factor_index(f_shape: list[int], u_index: torch.Tensor, full_dims: set) -> torch.Tensor:
    """Positions of an upstream site's elements that one element of a factor (batch shape
    ``f_shape``) touches: dims where the factor is not plated (or that ``full_dims`` marks
    as fully dependent) are merged into the event dim; the rest broadcast."""
    idx = u_index
    num_dims = len(f_shape)
    for d in range(num_dims):
        if idx.shape[d] > 1 and (f_shape[d] == 1 or d in full_dims):
            idx = idx.movedim(d, -1)
            idx = idx.reshape(idx.shape[:-2] + (-1,)).unsqueeze(d)
    return idx.expand(tuple(f_shape) + (idx.shape[-1],))


class AutoGaussian(AutoContinuous):
    """A Gaussian guide with the conditional independence structure of the model: as
    expressive as :class:`~pyro.infer.autoguide.AutoMultivariateNormal` where the model
    needs it, but its precision matrix is a sum of one low-rank block per model site
    (latent or observed) over the latent sites that site depends on, so it is sparse
    along plates and chains and its parameters grow with the factor sizes, not with the
    square of the latent dimension [1].

    Parametrization (Pyro's names, ``prefix`` ``"AutoGaussianDense"``): per latent site
    ``"locs.z"`` and ``"scales.z"`` (unconstrained shape, scales softplus-positive and
    initially ``init_scale``); per site ``f`` with latent upstream variables (itself
    included) ``"prec_sqrts.f"`` of shape ``batch + (D_f, r_f)`` and ``"white_vecs.f"``
    of shape ``batch + (r_f,)``, where ``batch`` is the site's plate shape, ``D_f`` the
    number of latent elements one factor element touches and ``r_f`` the event size of
    ``f``. With ``z`` the whitened latent vector,
    ``log q(z) = sum_f (-|prec_sqrt_f^T z_f|^2 / 2 + white_vec_f . prec_sqrt_f^T z_f) + c``,
    i.e. precision ``P = sum_f prec_sqrt_f prec_sqrt_f^T`` and information vector
    ``sum_f prec_sqrt_f white_vec_f`` (scattered into place), and each site's
    unconstrained value is ``loc + scale * z``. The dense backend assembles ``P``
    (``latent_dim x latent_dim``) and samples the auxiliary site
    ``"_AutoGaussianDense_latent"`` from the resulting MultivariateNormal.

    ``AutoGaussian(model, ...)`` returns an :class:`AutoGaussianDense` for
    ``backend="dense"`` (the default). ``backend="funsor"`` (Pyro's Gaussian tensor
    variable elimination through the funsor library) is not provided here.

    :param model: the model.
    :param init_loc_fn: initialization of ``locs`` (default ``init_to_feasible``).
    :param float init_scale: initial scale (default 0.1); also the width of the uniform
        noise that starts ``prec_sqrts`` off the identity.
    :param str backend: ``"dense"``.
    :raises ValueError: for ``backend="funsor"`` or an unknown backend, and (at the first
        call) for latent sites in subsampled plates.

    **References**

    [1] S. Webb, A. Golinski, R. Zinkov, N. Siddharth, T. Rainforth, Y. W. Teh, F. Wood,
        "Faithful Inversion of Generative Models for Effective Amortized Inference",
        NeurIPS 2018.

    [2] F. Obermeyer, E. Bingham, M. Jankowiak, J. Chiu, N. Pradhan, A. M. Rush,
        N. Goodman, "Tensor Variable Elimination for Plated Factor Graphs", ICML 2019.
    """

    scale_constraint = constraints.softplus_positive
    backend = "dense"

    def __new__(cls, *args, **kwargs):
        if cls is AutoGaussian:
            backend = kwargs.get("backend", "dense")
            if backend not in _BACKENDS:
                raise ValueError(f"AutoGaussian: unknown backend {backend!r}; use 'dense'")
            if backend == "funsor":
                raise ValueError(
                    "AutoGaussian(backend='funsor') needs Pyro's funsor backend (Gaussian "
                    "tensor variable elimination with the funsor library), which this project "
                    "does not provide; use backend='dense' (the default), which fits the same "
                    "family")
            cls = AutoGaussianDense
        return super().__new__(cls)

    def __init__(self, model: Callable, *, init_loc_fn: Callable = init_to_feasible,
                 init_scale: float = 0.1, backend: str | None = None) -> None:
        if backend is not None and backend != type(self).backend:
            raise ValueError(f"{type(self).__name__}: backend={backend!r} does not match "
                             f"this class's backend {type(self).backend!r}")
        init_scale = check_init_scale(type(self).__name__, init_scale)
        super().__init__(model, init_loc_fn)
        self._init_scale = init_scale

    def _setup_prototype(self, *args, **kwargs) -> None:
        self._args_kwargs = (args, kwargs)
        super()._setup_prototype(*args, **kwargs)

    def _factors(self) -> list[tuple[str, list, list[tuple[str, set]]]]:
        """``(site, frames, [(upstream latent site, fully dependent plates)])`` of every
        model site with latent upstream variables, the site itself first when latent."""
        from pyro.infer.inspect import get_dependencies

        args, kwargs = self._args_kwargs
        with poutine.block():  # a prototype run: hidden from the handlers around the guide
            prior = get_dependencies(self.model, args, kwargs)["prior_dependencies"]
        latent = {s.name for s in self._sites}
        order = {s.name: i for i, s in enumerate(self._sites)}
        nodes = self._prototype().nodes
        factors = []
        for name, site in nodes.items():
            if site["type"] != "sample" or name not in prior:
                continue
            ups = [(u, set(p)) for u, p in prior[name].items() if u in latent]
            ups.sort(key=lambda up: (up[0] != name, order[up[0]]))
            if ups:
                frames = [f for f in site["cond_indep_stack"] if f.vectorized]
                factors.append((name, frames, ups))
        return factors

    def _setup_latent(self) -> None:
        init = self._init_latent
        nodes = self._prototype().nodes
        num_dims = max([-f.dim for s in self._sites for f in s.frames if f.dim is not None] +
                       [-f.dim for n in nodes.values() if n["type"] == "sample"
                        for f in n.get("cond_indep_stack", ()) if f.dim is not None] + [0])
        index = {s.name: _site_index(s, start, num_dims) for s, start, _ in self._blocks}
        self._names: dict[str, str] = {}
        self._inits: dict[str, torch.Tensor] = {}
        for site in self._sites:
            self._add("locs", site.name, site.init_loc.clone())
            self._add("scales", site.name, torch.full_like(site.init_loc, self._init_scale))
        self._factor_info = []
        for name, frames, ups in self._factors():
            f_shape = _plate_shape(frames, num_dims)
            dims_of = {f.name: num_dims + f.dim for f in frames}
            parts = [_factor_index(f_shape, index[u], {dims_of[p] for p in full
                                                       if p in dims_of}) for u, full in ups]
            idx = torch.cat(parts, -1)
            own = parts[0].shape[-1] if ups[0][0] == name else None
            if own is None:  # an observed site: rank = its event size per element
                value = nodes[name]["value"]
                rank = max(1, value.numel() // max(1, _prod(f_shape)))
            else:
                rank = own
            while len(f_shape) and f_shape[0] == 1:
                f_shape = f_shape[1:]
                idx = idx.squeeze(0)
            d = idx.shape[-1]
            # off the identity, uniform in (-init_scale / 2, init_scale / 2) as Pyro's
            # (a seed then gives Pyro's initial parameters)
            prec_sqrt = self._init_scale * (torch.rand(tuple(f_shape) + (d, rank),
                                                       dtype=init.dtype, device=init.device) - 0.5)
            if own is not None:  # identity on the site's own block
                prec_sqrt[..., :own, :] = torch.eye(own, dtype=init.dtype, device=init.device)
            self._add("prec_sqrts", name, prec_sqrt)
            self._add("white_vecs", name, init.new_zeros(tuple(f_shape) + (rank,)))
            self._factor_info.append((name, idx.to(init.device)))

    def _add(self, group: str, name: str, value: torch.Tensor) -> None:
        key = f"{group}.{name}"
        self._names[key] = self._param_name(group, name)
        self._inits[key] = value

    def _param(self, group: str, name: str) -> torch.Tensor:
        key = f"{group}.{name}"
        constraint = self.scale_constraint if group == "scales" else constraints.real
        return self._exposed_param(self._names[key], self._inits[key], constraint)

    def _precision_info(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The whitened precision ``P`` ``(latent_dim, latent_dim)`` and information
        vector ``(latent_dim,)``."""
        init = self._init_latent
        n = init.numel()
        precision = init.new_zeros(n, n)
        info = init.new_zeros(n)
        for name, idx in self._factor_info:
            sqrt = self._param("prec_sqrts", name)
            white = self._param("white_vecs", name)
            block = sqrt @ sqrt.transpose(-1, -2)
            rows = idx.unsqueeze(-1).expand(block.shape)
            cols = idx.unsqueeze(-2).expand(block.shape)
            precision = precision.index_put((rows.reshape(-1), cols.reshape(-1)),
                                            block.reshape(-1), accumulate=True)
            vec = (sqrt @ white.unsqueeze(-1)).squeeze(-1)
            info = info.index_put((idx.reshape(-1),), vec.reshape(-1), accumulate=True)
        return precision, info

    def _loc_scale_flat(self) -> tuple[torch.Tensor, torch.Tensor]:
        locs = torch.cat([self._param("locs", s.name).reshape(-1) for s in self._sites])
        scales = torch.cat([self._param("scales", s.name).reshape(-1) for s in self._sites])
        return locs, scales

    def get_posterior(self, *args, **kwargs) -> dist.MultivariateNormal:
        """The MultivariateNormal of the unconstrained latent vector ``loc + scale * z``,
        ``z`` with precision ``P`` and mean ``P^{-1} info``."""
        self._ensure_setup(args, kwargs)
        precision, info = self._precision_info()
        locs, scales = self._loc_scale_flat()
        chol = torch.linalg.cholesky(precision)
        mean = torch.cholesky_solve(info.unsqueeze(-1), chol).squeeze(-1)
        return dist.MultivariateNormal(locs + scales * mean,
                                       precision_matrix=precision / torch.outer(scales, scales))

    def _loc_scale(self, *args, **kwargs):
        posterior = self.get_posterior(*args, **kwargs)
        return posterior.loc, posterior.covariance_matrix.diagonal().sqrt()


def _prod(xs) -> int:
    out = 1
    for x in xs:
        out *= int(x)
    return out


class AutoGaussianDense(AutoGaussian):
    """:class:`AutoGaussian` with the dense backend: the precision matrix is assembled
    as a ``latent_dim x latent_dim`` matrix (cost like
    :class:`~pyro.infer.autoguide.AutoMultivariateNormal`). See :class:`AutoGaussian`."""

    backend = "dense"
