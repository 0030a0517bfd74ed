"""Property tests run on every exported distribution family.

Each family has a case below: a factory building it with random parameters for a requested
batch shape, optionally its scipy.stats counterpart, and flags for the checks that apply.
Hypothesis draws the batch shape and the parameter seed (derandomized: the run is
reproducible). `test_every_family_has_a_case` fails when a family is exported without one.
"""
from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
import scipy.stats as st
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs

import pyro.distributions as dist
from pyro.distributions import transforms
from pyro.distributions.torch_distribution import TorchDistributionMixin

SETTINGS = settings(
    max_examples=3,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
BATCH_SHAPES = hs.sampled_from([(), (3,), (2, 3)])
SEEDS = hs.integers(0, 2**31 - 1)


class P:
    """Random parameters of given shapes from a seeded generator."""

    def __init__(self, seed: int, dtype=torch.float32, device="cpu"):
        self.g = torch.Generator().manual_seed(seed)
        self.dtype = dtype
        self.device = device

    def c(self, value):
        return torch.tensor(value, dtype=self.dtype, device=self.device)

    def u(self, shape, lo=0.0, hi=1.0):
        x = lo + (hi - lo) * torch.rand(shape, generator=self.g, dtype=self.dtype)
        return x.to(self.device)

    def real(self, shape, scale=1.0):
        return (scale * torch.randn(shape, generator=self.g, dtype=self.dtype)).to(self.device)

    def pos(self, shape, lo=0.5, hi=3.0):
        return self.u(shape, lo, hi)

    def simplex(self, shape):
        w = self.u(shape, 0.2, 1.0)
        return w / w.sum(-1, keepdim=True)

    def bools(self, shape):
        return (torch.rand(shape, generator=self.g) < 0.5).to(self.device)

    def tril(self, shape, n):
        a = self.real(tuple(shape) + (n, n), 0.3)
        return a.tril(-1) + torch.diag_embed(self.pos(tuple(shape) + (n,), 0.5, 1.5))


@dataclass
class Case:
    make: Callable  # (batch_shape, P) -> distribution
    scipy: Callable | None = None  # (d, x numpy) -> numpy log density, shape of log_prob
    moments: str = "mc"  # "mc": check mean/variance by Monte Carlo; "none"; "circular"
    rsample_fd: bool = False  # rsample is a smooth function of the noise: finite differences
    n_mc: int = 20000
    rtol: float = 1e-6  # of log_prob vs scipy (numerically integrated densities need more)


def _np(t):
    return t.detach().cpu().double().numpy()


def per_batch(d, x, fn):
    """Apply ``fn(index, x_at_index)`` for every batch index (multivariate scipy laws)."""
    batch = tuple(d.batch_shape)
    sample_shape = x.shape[: x.ndim - len(batch) - len(d.event_shape)]
    out = np.zeros(sample_shape + batch)
    for idx in np.ndindex(*batch) if batch else [()]:
        sl = (Ellipsis,) + idx + (slice(None),) * len(d.event_shape)
        out[(Ellipsis,) + idx] = fn(idx, x[sl])
    return out


def _zip_scipy(d, x, base):
    gate = _np(d.gate)
    lp = np.log1p(-gate) + base
    return np.where(x == 0, np.logaddexp(np.log(gate), lp), lp)


def _lowrank_cov(d, idx):
    w = _np(d.cov_factor)[idx]
    return w @ w.T + np.diag(_np(d.cov_diag)[idx])


CASES = {
    # ------------------------------------------------------------------ torch families
    "Bernoulli": Case(lambda b, p: dist.Bernoulli(p.u(b, 0.1, 0.9)),
                      lambda d, x: st.bernoulli(_np(d.probs)).logpmf(x)),
    "Beta": Case(lambda b, p: dist.Beta(p.pos(b), p.pos(b)),
                 lambda d, x: st.beta(_np(d.concentration1), _np(d.concentration0)).logpdf(x)),
    "Binomial": Case(lambda b, p: dist.Binomial(7, p.u(b, 0.1, 0.9)),
                     lambda d, x: st.binom(7, _np(d.probs)).logpmf(x)),
    "Categorical": Case(lambda b, p: dist.Categorical(p.simplex(b + (4,))),
                        lambda d, x: per_batch(d, x, lambda i, xi: np.log(
                            _np(d.probs)[i][xi.astype(int)])), moments="none"),
    "Cauchy": Case(lambda b, p: dist.Cauchy(p.real(b), p.pos(b)),
                   lambda d, x: st.cauchy(_np(d.loc), _np(d.scale)).logpdf(x), moments="none",
                   rsample_fd=True),
    "Chi2": Case(lambda b, p: dist.Chi2(p.pos(b, 1.0, 5.0)),
                 lambda d, x: st.chi2(_np(d.df)).logpdf(x)),
    "ContinuousBernoulli": Case(lambda b, p: dist.ContinuousBernoulli(p.u(b, 0.1, 0.9))),
    "Dirichlet": Case(lambda b, p: dist.Dirichlet(p.pos(b + (3,))),
                      lambda d, x: per_batch(d, x, lambda i, xi: st.dirichlet(
                          _np(d.concentration)[i]).logpdf(xi.T))),
    "Exponential": Case(lambda b, p: dist.Exponential(p.pos(b)),
                        lambda d, x: st.expon(scale=1 / _np(d.rate)).logpdf(x)),
    "FisherSnedecor": Case(lambda b, p: dist.FisherSnedecor(p.pos(b, 3, 6), p.pos(b, 20, 30)),
                           lambda d, x: st.f(_np(d.df1), _np(d.df2)).logpdf(x)),
    "Gamma": Case(lambda b, p: dist.Gamma(p.pos(b), p.pos(b)),
                  lambda d, x: st.gamma(_np(d.concentration), scale=1 / _np(d.rate)).logpdf(x)),
    "GeneralizedPareto": Case(
        lambda b, p: dist.GeneralizedPareto(p.real(b), p.pos(b), p.u(b, -0.2, 0.1)),
        lambda d, x: st.genpareto(_np(d.concentration), _np(d.loc), _np(d.scale)).logpdf(x)),
    "Geometric": Case(lambda b, p: dist.Geometric(p.u(b, 0.2, 0.9)),
                      lambda d, x: st.geom(_np(d.probs), loc=-1).logpmf(x)),
    "Gumbel": Case(lambda b, p: dist.Gumbel(p.real(b), p.pos(b)),
                   lambda d, x: st.gumbel_r(_np(d.loc), _np(d.scale)).logpdf(x)),
    "HalfCauchy": Case(lambda b, p: dist.HalfCauchy(p.pos(b)),
                       lambda d, x: st.halfcauchy(scale=_np(d.scale)).logpdf(x), moments="none"),
    "HalfNormal": Case(lambda b, p: dist.HalfNormal(p.pos(b)),
                       lambda d, x: st.halfnorm(scale=_np(d.scale)).logpdf(x)),
    "Independent": Case(lambda b, p: dist.Independent(dist.Normal(p.real(b + (3,)),
                                                                  p.pos(b + (3,))), 1),
                        lambda d, x: st.norm(_np(d.base_dist.loc),
                                             _np(d.base_dist.scale)).logpdf(x).sum(-1),
                        rsample_fd=True),
    "InverseGamma": Case(lambda b, p: dist.InverseGamma(p.pos(b, 6, 9), p.pos(b)),
                         lambda d, x: st.invgamma(_np(d.concentration),
                                                  scale=_np(d.rate)).logpdf(x)),
    "Kumaraswamy": Case(lambda b, p: dist.Kumaraswamy(p.pos(b, 1, 3), p.pos(b, 1, 3))),
    "LKJCholesky": Case(lambda b, p: dist.LKJCholesky(3, p.pos(b)), moments="none"),
    "Laplace": Case(lambda b, p: dist.Laplace(p.real(b), p.pos(b)),
                    lambda d, x: st.laplace(_np(d.loc), _np(d.scale)).logpdf(x), rsample_fd=True),
    "LogNormal": Case(lambda b, p: dist.LogNormal(p.real(b), p.pos(b, 0.2, 0.5)),
                      lambda d, x: st.lognorm(_np(d.scale), scale=np.exp(_np(d.loc))).logpdf(x),
                      rsample_fd=True),
    "LogisticNormal": Case(lambda b, p: dist.LogisticNormal(p.real(b + (2,)), p.pos(b + (2,))),
                           moments="none"),
    "LowRankMultivariateNormal": Case(
        lambda b, p: dist.LowRankMultivariateNormal(p.real(b + (3,)), p.real(b + (3, 2), 0.5),
                                                    p.pos(b + (3,))),
        lambda d, x: per_batch(d, x, lambda i, xi: st.multivariate_normal(
            _np(d.loc)[i], _lowrank_cov(d, i)).logpdf(xi)),
        rsample_fd=True),
    "MixtureSameFamily": Case(
        lambda b, p: dist.MixtureSameFamily(dist.Categorical(p.simplex(b + (3,))),
                                            dist.Normal(p.real(b + (3,)), p.pos(b + (3,)))),
        lambda d, x: np.log((_np(d.mixture_distribution.probs) * st.norm(
            _np(d.component_distribution.loc), _np(d.component_distribution.scale)
        ).pdf(x[..., None])).sum(-1))),
    "Multinomial": Case(lambda b, p: dist.Multinomial(6, p.simplex(b + (3,))),
                        lambda d, x: per_batch(d, x, lambda i, xi: st.multinomial(
                            6, _np(d.probs)[i]).logpmf(xi))),
    "MultivariateNormal": Case(
        lambda b, p: dist.MultivariateNormal(p.real(b + (3,)), scale_tril=p.tril(b, 3)),
        lambda d, x: per_batch(d, x, lambda i, xi: st.multivariate_normal(
            _np(d.loc)[i], _np(d.covariance_matrix)[i]).logpdf(xi)),
        rsample_fd=True),
    "NegativeBinomial": Case(lambda b, p: dist.NegativeBinomial(p.pos(b, 2, 6), p.u(b, 0.1, 0.6)),
                             lambda d, x: st.nbinom(_np(d.total_count),
                                                    1 - _np(d.probs)).logpmf(x)),
    "Normal": Case(lambda b, p: dist.Normal(p.real(b), p.pos(b)),
                   lambda d, x: st.norm(_np(d.loc), _np(d.scale)).logpdf(x), rsample_fd=True),
    "OneHotCategorical": Case(lambda b, p: dist.OneHotCategorical(p.simplex(b + (4,))),
                              lambda d, x: np.log((_np(d.probs) * x).sum(-1))),
    "OneHotCategoricalStraightThrough": Case(
        lambda b, p: dist.OneHotCategoricalStraightThrough(p.simplex(b + (4,))),
        lambda d, x: np.log((_np(d.probs) * x).sum(-1))),
    "Pareto": Case(lambda b, p: dist.Pareto(p.pos(b), p.pos(b, 9, 12)),
                   lambda d, x: st.pareto(_np(d.alpha), scale=_np(d.scale)).logpdf(x)),
    "Poisson": Case(lambda b, p: dist.Poisson(p.pos(b, 0.5, 5)),
                    lambda d, x: st.poisson(_np(d.rate)).logpmf(x)),
    "RelaxedBernoulli": Case(lambda b, p: dist.RelaxedBernoulli(p.c(0.5),
                                                                p.u(b, 0.2, 0.8)),
                             moments="none"),
    "RelaxedOneHotCategorical": Case(
        lambda b, p: dist.RelaxedOneHotCategorical(p.c(0.5), p.simplex(b + (3,))),
        moments="none"),
    "StudentT": Case(lambda b, p: dist.StudentT(p.pos(b, 9, 12), p.real(b), p.pos(b)),
                     lambda d, x: st.t(_np(d.df), _np(d.loc), _np(d.scale)).logpdf(x)),
    # Y = 1 + 2 exp(X), X ~ N(mu, s): a shifted lognormal (tests composed Jacobians)
    "TransformedDistribution": Case(
        lambda b, p: dist.TransformedDistribution(
            dist.Normal(p.real(b, 0.3), p.pos(b, 0.2, 0.4)),
            [transforms.ExpTransform(), transforms.AffineTransform(1.0, 2.0)]),
        lambda d, x: st.lognorm(_np(d.base_dist.scale), loc=1.0,
                                scale=2 * np.exp(_np(d.base_dist.loc))).logpdf(x),
        moments="none", rsample_fd=True),
    "Uniform": Case(lambda b, p: (lambda low: dist.Uniform(low, low + p.pos(b)))(p.real(b)),
                    lambda d, x: st.uniform(_np(d.low), _np(d.high - d.low)).logpdf(x),
                    rsample_fd=True),
    "VonMises": Case(lambda b, p: dist.VonMises(p.u(b, -2, 2), p.pos(b)),
                     lambda d, x: st.vonmises(_np(d.concentration), _np(d.loc)).logpdf(x),
                     moments="circular"),
    "Weibull": Case(lambda b, p: dist.Weibull(p.pos(b), p.pos(b, 1, 3)),
                    lambda d, x: st.weibull_min(_np(d.concentration),
                                                scale=_np(d.scale)).logpdf(x)),
    "Wishart": Case(
        lambda b, p: dist.Wishart(p.pos(b, 4, 6), scale_tril=p.tril(b, 2)),
        lambda d, x: per_batch(d, x, lambda i, xi: st.wishart(
            _np(d.df)[i], _np(d.covariance_matrix)[i]).logpdf(np.moveaxis(xi, 0, -1))),
        n_mc=5000),
    # ------------------------------------------------------------------ Pyro's families
    "AVFMultivariateNormal": Case(
        lambda b, p: dist.AVFMultivariateNormal(p.real(b + (3,)), p.tril(b, 3),
                                                p.real((2, 3, 3), 0.3)),
        lambda d, x: per_batch(d, x, lambda i, xi: st.multivariate_normal(
            _np(d.loc)[i], _np(d.covariance_matrix)[i]).logpdf(xi)),
        rsample_fd=True),
    "AffineBeta": Case(
        lambda b, p: dist.AffineBeta(p.pos(b), p.pos(b), p.real(b), p.pos(b)),
        lambda d, x: st.beta(_np(d.concentration1), _np(d.concentration0), _np(d.loc),
                             _np(d.scale)).logpdf(x)),
    "AsymmetricLaplace": Case(
        lambda b, p: dist.AsymmetricLaplace(p.real(b), p.pos(b), p.pos(b, 0.5, 2)),
        lambda d, x: st.laplace_asymmetric(_np(d.asymmetry), _np(d.loc),
                                           _np(d.scale)).logpdf(x),
        rsample_fd=True),
    "BetaBinomial": Case(lambda b, p: dist.BetaBinomial(p.pos(b), p.pos(b), 8),
                         lambda d, x: st.betabinom(8, _np(d.concentration1),
                                                   _np(d.concentration0)).logpmf(x)),
    "Delta": Case(lambda b, p: dist.Delta(p.real(b + (2,)), p.real(b), event_dim=1),
                  lambda d, x: _np(d.log_density) + np.where(
                      (x == _np(d.v)).all(-1), 0.0, -np.inf)),
    "DirichletMultinomial": Case(
        lambda b, p: dist.DirichletMultinomial(p.pos(b + (3,)), 5),
        lambda d, x: per_batch(d, x, lambda i, xi: st.dirichlet_multinomial(
            _np(d.concentration)[i], 5).logpmf(xi))),
    "Empirical": Case(lambda b, p: dist.Empirical(p.real(b + (5, 2)).round(),
                                                  p.real(b + (5,))),
                      lambda d, x: per_batch(d, x, lambda i, xi: _empirical_logp(d, i, xi))),
    "FoldedDistribution": Case(
        lambda b, p: dist.FoldedDistribution(dist.Normal(p.real(b), p.pos(b))),
        lambda d, x: st.foldnorm(np.abs(_np(d.base_dist.loc)) / _np(d.base_dist.scale),
                                 scale=_np(d.base_dist.scale)).logpdf(x),
        rsample_fd=True),
    "GammaPoisson": Case(lambda b, p: dist.GammaPoisson(p.pos(b, 1, 4), p.pos(b)),
                         lambda d, x: st.nbinom(_np(d.concentration),
                                                _np(d.rate) / (1 + _np(d.rate))).logpmf(x)),
    "LKJ": Case(lambda b, p: dist.LKJ(3, p.pos(b)), n_mc=5000),
    "Logistic": Case(lambda b, p: dist.Logistic(p.real(b), p.pos(b)),
                     lambda d, x: st.logistic(_np(d.loc), _np(d.scale)).logpdf(x),
                     rsample_fd=True),
    "MaskedMixture": Case(
        lambda b, p: dist.MaskedMixture(p.bools(b), dist.Normal(p.real(b), p.pos(b)),
                                        dist.Logistic(p.real(b), p.pos(b))),
        lambda d, x: np.where(_np(d.mixture_mask) > 0,
                              st.logistic(_np(d.component1.loc),
                                          _np(d.component1.scale)).logpdf(x),
                              st.norm(_np(d.component0.loc), _np(d.component0.scale)).logpdf(x)),
        rsample_fd=True),
    "GaussianScaleMixture": Case(
        lambda b, p: dist.GaussianScaleMixture(p.pos(b + (2,)), p.real(b + (3,)),
                                               p.pos(b + (3,))),
        lambda d, x: _diag_mixture_logpdf(d, x, np.zeros(tuple(d.batch_shape) + (3, 2)),
                                          _np(d.component_scale)[..., None]
                                          * _np(d.coord_scale)[..., None, :])),
    "MixtureOfDiagNormals": Case(
        lambda b, p: dist.MixtureOfDiagNormals(p.real(b + (3, 2)), p.pos(b + (3, 2)),
                                               p.real(b + (3,))),
        lambda d, x: _diag_mixture_logpdf(d, x, _np(d.locs), _np(d.coord_scale))),
    "MixtureOfDiagNormalsSharedCovariance": Case(
        lambda b, p: dist.MixtureOfDiagNormalsSharedCovariance(
            p.real(b + (3, 2)), p.pos(b + (2,)), p.real(b + (3,))),
        lambda d, x: _diag_mixture_logpdf(d, x, _np(d.locs), _np(d.coord_scale)[..., None, :])),
    "MultivariateStudentT": Case(
        lambda b, p: dist.MultivariateStudentT(p.pos(b, 5, 8), p.real(b + (3,)), p.tril(b, 3)),
        lambda d, x: per_batch(d, x, lambda i, xi: st.multivariate_t(
            _np(d.loc)[i], _np(d.covariance_matrix)[i], df=_np(d.df)[i]).logpdf(xi)),
        n_mc=50000),
    "RelaxedBernoulliStraightThrough": Case(
        lambda b, p: dist.RelaxedBernoulliStraightThrough(p.c(0.5), p.u(b, 0.2, 0.8)),
        moments="none"),
    "RelaxedOneHotCategoricalStraightThrough": Case(
        lambda b, p: dist.RelaxedOneHotCategoricalStraightThrough(p.c(0.5),
                                                                  p.simplex(b + (3,))),
        moments="none"),
    "SineBivariateVonMises": Case(
        lambda b, p: dist.SineBivariateVonMises(p.u(b, -2, 2), p.u(b, -2, 2), p.pos(b, 1, 5),
                                                p.pos(b, 1, 5), weighted_correlation=p.u(b)),
        moments="none"),
    "SineSkewed": Case(
        lambda b, p: dist.SineSkewed(dist.VonMises(p.u(b + (2,), -2, 2),
                                                   p.pos(b + (2,))).to_event(1),
                                     p.u(b + (2,), -0.45, 0.45)),
        lambda d, x: (st.vonmises(_np(d.base_dist.base_dist.concentration),
                                  _np(d.base_dist.base_dist.loc)).logpdf(x).sum(-1)
                      + np.log1p((_np(d.skewness) * np.sin(x - _np(d.base_dist.base_dist.loc))
                                  ).sum(-1))),
        moments="none"),
    "SkewLogistic": Case(lambda b, p: dist.SkewLogistic(p.real(b), p.pos(b), p.pos(b, 0.5, 3)),
                         lambda d, x: st.genlogistic(_np(d.asymmetry), _np(d.loc),
                                                     _np(d.scale)).logpdf(x),
                         rsample_fd=True),
    "SoftAsymmetricLaplace": Case(
        lambda b, p: dist.SoftAsymmetricLaplace(p.real(b), p.pos(b), p.pos(b, 0.5, 2),
                                                p.pos(b, 0.2, 1.5)),
        lambda d, x: _soft_asymmetric_laplace_logpdf(d, x), rsample_fd=True),
    "Stable": Case(
        lambda b, p: dist.Stable(p.u(b, 1.2, 1.9), p.u(b, -0.9, 0.9), p.pos(b), p.real(b)),
        lambda d, x: _levy_stable_logpdf(d, x), moments="none", rtol=2e-3, rsample_fd=True),
    "StableWithLogProb": Case(
        lambda b, p: dist.StableWithLogProb(p.u(b, 1.2, 1.9), p.u(b, -0.9, 0.9), p.pos(b),
                                            p.real(b), coords="S"),
        lambda d, x: _levy_stable_logpdf(d, x), moments="none", rtol=2e-3),
    "ExtendedBetaBinomial": Case(
        lambda b, p: dist.ExtendedBetaBinomial(p.pos(b), p.pos(b), 6),
        lambda d, x: st.betabinom(6, _np(d.concentration1), _np(d.concentration0)).logpmf(x)),
    "ExtendedBinomial": Case(lambda b, p: dist.ExtendedBinomial(7, p.u(b, 0.1, 0.9)),
                             lambda d, x: st.binom(7, _np(d.probs)).logpmf(x)),
    "LKJCorrCholesky": Case(lambda b, p: _lkj_corr_cholesky(3, p.pos(b)), moments="none"),
    "ProjectedNormal": Case(lambda b, p: dist.ProjectedNormal(p.real(b + (3,))),
                            moments="none", rsample_fd=True),
    # Exponential(rate) by rejection from Exponential(rate / 2): log_prob is exact
    "Rejector": Case(
        lambda b, p: (lambda rate: dist.Rejector(dist.Exponential(rate / 2),
                                                 lambda x: -rate * x / 2,
                                                 torch.tensor(0.5).log()))(p.pos(b)),
        lambda d, x: st.expon(scale=0.5 / _np(d.propose.rate)).logpdf(x), moments="none"),
    "LogNormalNegativeBinomial": Case(
        lambda b, p: dist.LogNormalNegativeBinomial(p.pos(b, 2, 5), p.real(b, 0.5),
                                                    p.pos(b, 0.2, 0.6), num_quad_points=30),
        lambda d, x: _lnnb_logpmf(d, x), n_mc=50000),
    "NanMaskedMultivariateNormal": Case(
        lambda b, p: dist.NanMaskedMultivariateNormal(p.real(b + (3,)), scale_tril=p.tril(b, 3)),
        lambda d, x: per_batch(d, x, lambda i, xi: st.multivariate_normal(
            _np(d.loc)[i], _np(d.covariance_matrix)[i]).logpdf(xi))),
    "NanMaskedNormal": Case(lambda b, p: dist.NanMaskedNormal(p.real(b), p.pos(b)),
                            lambda d, x: st.norm(_np(d.loc), _np(d.scale)).logpdf(x)),
    "OMTMultivariateNormal": Case(
        lambda b, p: dist.OMTMultivariateNormal(p.real(b + (3,)), p.tril(b, 3)),
        lambda d, x: per_batch(d, x, lambda i, xi: st.multivariate_normal(
            _np(d.loc)[i], _np(d.covariance_matrix)[i]).logpdf(xi)),
        rsample_fd=True),
    "OrderedLogistic": Case(
        lambda b, p: dist.OrderedLogistic(p.real(b), p.pos(b + (3,)).cumsum(-1) - 3),
        lambda d, x: np.log(_ordered_logistic_probs(d, x)), moments="none"),
    "SoftLaplace": Case(lambda b, p: dist.SoftLaplace(p.real(b), p.pos(b)),
                        lambda d, x: st.hypsecant(_np(d.loc), _np(d.scale)).logpdf(x),
                        rsample_fd=True),
    "Unit": Case(lambda b, p: dist.Unit(p.real(b)),
                 lambda d, x: np.broadcast_to(_np(d.log_factor), x.shape[:-1]), moments="none"),
    "VonMises3D": Case(lambda b, p: dist.VonMises3D(p.real(b + (3,))), moments="none"),
    "ZeroInflatedDistribution": Case(
        lambda b, p: dist.ZeroInflatedDistribution(dist.Poisson(p.pos(b, 1, 4)),
                                                   gate_logits=p.real(b)),
        lambda d, x: _zip_scipy(d, x, st.poisson(_np(d.base_dist.rate)).logpmf(x))),
    "ZeroInflatedNegativeBinomial": Case(
        lambda b, p: dist.ZeroInflatedNegativeBinomial(p.pos(b, 2, 5), probs=p.u(b, 0.1, 0.6),
                                                       gate=p.u(b, 0.1, 0.8)),
        lambda d, x: _zip_scipy(d, x, st.nbinom(_np(d.total_count),
                                                1 - _np(d.probs)).logpmf(x))),
    "ZeroInflatedPoisson": Case(
        lambda b, p: dist.ZeroInflatedPoisson(p.pos(b, 1, 4), gate=p.u(b, 0.1, 0.8)),
        lambda d, x: _zip_scipy(d, x, st.poisson(_np(d.rate)).logpmf(x))),
    # ------------------------------------------------------------------ wrappers
    "MaskedDistribution": Case(
        lambda b, p: dist.Normal(p.real(b), p.pos(b)).mask(p.bools(b)),
        lambda d, x: np.where(_np(d._mask) > 0, st.norm(_np(d.base_dist.loc),
                                                        _np(d.base_dist.scale)).logpdf(x), 0.0),
        rsample_fd=True),
    "ExpandedDistribution": Case(
        lambda b, p: dist.ExpandedDistribution(dist.Gamma(p.pos(()), p.pos(())), b),
        lambda d, x: st.gamma(_np(d.base_dist.concentration),
                              scale=1 / _np(d.base_dist.rate)).logpdf(x)),
}


def _lkj_corr_cholesky(dim, eta):
    with pytest.warns(FutureWarning):
        return dist.LKJCorrCholesky(dim, eta)


def _diag_mixture_logpdf(d, x, locs, scales):
    # sum over components of w_k prod_i N(x_i; loc_ki, scale_ki)
    w = _np(torch.softmax(d.component_logits, -1))
    comp = st.norm(locs, scales).logpdf(x[..., None, :]).sum(-1)
    return np.log((w * np.exp(comp)).sum(-1))


def _soft_asymmetric_laplace_logpdf(d, x):
    # numerical convolution of N(0, s^2) with scipy's asymmetric Laplace
    from scipy import integrate

    s = _np(d.scale * d.softness)
    out = np.empty(np.broadcast(x, s).shape)
    xb, sb, locb = np.broadcast_arrays(x, s, _np(d.loc))
    kb = np.broadcast_to(_np(d.asymmetry), xb.shape)
    scb = np.broadcast_to(_np(d.scale), xb.shape)
    for i in np.ndindex(*xb.shape):
        al = st.laplace_asymmetric(kb[i], 0.0, scb[i])
        f = st.norm(locb[i], sb[i])
        out[i] = np.log(integrate.quad(lambda a: al.pdf(a) * f.pdf(xb[i] - a), -np.inf, 0)[0]
                        + integrate.quad(lambda a: al.pdf(a) * f.pdf(xb[i] - a), 0, np.inf)[0])
    return out


def _grouped_normal_normal_logpdf(d, x):
    # the marginal of all observations is one multivariate normal
    g = d.group_idx.numpy()
    mean = _np(d.prior_loc)[g]
    tau2 = _np(d.prior_scale)[g] ** 2
    cov = np.diag(_np(d.obs_scale) ** 2) + (g[:, None] == g[None, :]) * tau2[:, None]
    return st.multivariate_normal(mean, cov).logpdf(x)


def _lnnb_logpmf(d, x):
    # trapezoid rule over the logit noise on a fine grid (independent of the quadrature)
    sigma = _np(d.multiplicative_noise_scale)
    grid = np.linspace(-10, 10, 4001)
    eps = sigma[..., None] * grid
    p = 1 / (1 + np.exp(-(_np(d.logits)[..., None] + eps)))
    pmf = st.nbinom(_np(d.total_count)[..., None], 1 - p).pmf(x[..., None])
    return np.log(np.trapezoid(st.norm.pdf(grid) * pmf, grid, axis=-1))


def _levy_stable_logpdf(d, x):
    # scipy's "S1" is Pyro's coords="S" (away from stability 1, where conventions differ)
    st.levy_stable.parameterization = "S0" if d.coords == "S0" else "S1"
    return st.levy_stable(_np(d.stability), _np(d.skew), _np(d.loc),
                          _np(d.scale)).logpdf(x)


def _empirical_logp(d, idx, x):
    samples = _np(d._samples)[idx]  # (n, 2)
    logw = _np(d._log_weights)[idx]
    logw = logw - np.logaddexp.reduce(logw)
    match = (x[..., None, :] == samples).all(-1)  # sample_shape + (n,)
    with np.errstate(divide="ignore"):
        return np.log((np.exp(logw) * match).sum(-1))


def _ordered_logistic_probs(d, x):
    c = _np(d.cutpoints)
    eta = _np(d.predictor)[..., None]
    cdf = np.concatenate([np.zeros_like(c[..., :1]), 1 / (1 + np.exp(-(c - eta))),
                          np.ones_like(c[..., :1])], -1)
    probs = np.diff(cdf, axis=-1)
    probs = np.broadcast_to(probs, x.shape + probs.shape[-1:])
    return np.take_along_axis(probs, x.astype(int)[..., None], -1)[..., 0]


ABSTRACT = {"Distribution", "ExponentialFamily", "TorchDistribution"}


def exported_families():
    return sorted(
        name for name in dist.__all__
        if inspect.isclass(getattr(dist, name))
        and issubclass(getattr(dist, name), torch.distributions.Distribution)
        and name not in ABSTRACT
    )


#: families the sampling and batch-shape laws above do not apply to, covered by
#: tests/test_scalar_families.py, test_coalescent.py, test_matching.py,
#: test_spanning_tree.py and test_wrappers.py: batch shape
#: always () (one joint likelihood, a fixed scalar law), or no sampler (an improper density,
#: CoalescentTimesWithRate).
SCALAR_ONLY = {"CoalescentTimes", "CoalescentTimesWithRate", "GroupedNormalNormal",
               "ImproperUniform", "OneOneMatching", "OneTwoMatching", "SpanningTree",
               "TruncatedPolyaGamma"}


#: time-series families (time is the leftmost event dim, parameters carry a time dim),
#: covered against independent algorithms by tests/test_hmm.py.
TIME_SERIES = {"DiscreteHMM", "GammaGaussianHMM", "GaussianHMM", "GaussianMRF",
               "IndependentHMM", "LinearHMM"}


def test_every_family_has_a_case():
    missing = set(exported_families()) - set(CASES) - SCALAR_ONLY - TIME_SERIES
    assert not missing, f"exported families without a test case: {sorted(missing)}"


def make(name, batch_shape, seed, dtype=torch.float32):
    d = CASES[name].make(torch.Size(batch_shape), P(seed, dtype))
    assert isinstance(d, getattr(dist, name)), type(d)
    return d


# --------------------------------------------------------------------------- shape laws


@pytest.mark.parametrize("name", sorted(CASES))
@SETTINGS
@given(batch_shape=BATCH_SHAPES, seed=SEEDS)
def test_shape_laws(name, batch_shape, seed):
    d = make(name, batch_shape, seed)
    assert isinstance(d, TorchDistributionMixin)
    assert d.batch_shape == batch_shape
    event_shape = d.event_shape
    x = d.sample()
    assert x.shape == d.batch_shape + event_shape == d.shape()
    assert d.log_prob(x).shape == d.batch_shape
    for sample_shape in [(4,), (2, 1)]:
        xs = d.sample(sample_shape)
        assert xs.shape == sample_shape + d.batch_shape + event_shape
        assert d.log_prob(xs).shape == sample_shape + d.batch_shape
    # __call__ draws one sample of the same shape; rsample where reparameterizable
    assert d().shape == x.shape
    if d.has_rsample:
        assert d.rsample((3,)).shape == (3,) + x.shape
    # score_parts: log_prob, score_function, entropy_term by reparameterizability
    parts = d.score_parts(x)
    assert torch.equal(parts.log_prob, d.log_prob(x))
    if isinstance(d, dist.Rejector):  # reparameterized, plus a rejection correction term
        assert torch.equal(parts.entropy_term, parts.log_prob)
    elif d.has_rsample:
        assert parts.score_function == 0 and torch.equal(parts.entropy_term, parts.log_prob)
    else:
        assert parts.entropy_term == 0 and torch.equal(parts.score_function, parts.log_prob)
    # expand: new leading dims, same event shape, Pyro class kept, log_prob broadcasts
    e = d.expand((2,) + batch_shape)
    assert isinstance(e, TorchDistributionMixin)
    assert e.batch_shape == (2,) + batch_shape and e.event_shape == event_shape
    assert e.sample().shape == (2,) + batch_shape + event_shape
    assert e.log_prob(x).shape == (2,) + batch_shape
    assert torch.allclose(e.log_prob(x)[0], d.log_prob(x), equal_nan=True)
    assert e.expand_by((5,)).batch_shape == (5, 2) + batch_shape
    # to_event: batch dims become event dims, log_prob sums them
    ev = d.to_event()
    assert ev.batch_shape == () and ev.event_shape == batch_shape + event_shape
    lp = ev.log_prob(x)
    assert lp.shape == ()
    assert torch.allclose(lp, d.log_prob(x).sum(), equal_nan=True)
    assert d.to_event(0) is d
    if batch_shape:
        undone = ev.to_event(-len(batch_shape))
        assert undone.batch_shape == batch_shape and undone.event_shape == event_shape
        assert torch.equal(undone.log_prob(x), d.log_prob(x))
    # mask: shape-broadcast, masked entries exactly zero
    m = (torch.arange(math.prod(batch_shape)) % 2 == 0).reshape(batch_shape)  # alternating
    md = d.mask(m)
    assert md.batch_shape == batch_shape
    lpm = md.log_prob(x)
    assert torch.equal(lpm, torch.where(m, d.log_prob(x), torch.zeros(())))
    assert d.mask(False).log_prob(x).eq(0).all()


# --------------------------------------------------------------------------- devices


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("name", sorted(CASES))
def test_parameters_on_cuda_give_samples_on_cuda(name):
    d = CASES[name].make(torch.Size((2,)), P(0, device="cuda"))
    x = d.sample((3,))
    assert x.device.type == "cuda"
    assert d.log_prob(x).device.type == "cuda"
    if d.has_rsample:
        assert d.rsample().device.type == "cuda"
    if CASES[name].moments == "mc":
        assert d.mean.device.type == "cuda" and d.variance.device.type == "cuda"
    e = d.expand((4, 2)).mask(torch.tensor([True, False], device="cuda"))
    assert e.log_prob(e.sample()).device.type == "cuda"
    if d.has_enumerate_support and name != "Empirical":
        assert d.enumerate_support().device.type == "cuda"


# ------------------------------------------------------------------- log_prob vs scipy


@pytest.mark.parametrize("name", sorted(n for n, c in CASES.items() if c.scipy is not None))
@SETTINGS
@given(batch_shape=BATCH_SHAPES, seed=SEEDS)
def test_log_prob_matches_scipy(name, batch_shape, seed):
    d = make(name, batch_shape, seed, dtype=torch.float64)
    x = d.sample((5,))
    actual = d.log_prob(x).numpy()
    expected = np.broadcast_to(CASES[name].scipy(d, x.numpy()), actual.shape)
    rtol = CASES[name].rtol
    assert np.allclose(actual, expected, rtol=rtol, atol=1e-8), (actual, expected)


# -------------------------------------------------------------- moments vs Monte Carlo


def _check_moments(d, n):
    x = d.sample((n,)).double()
    mean, var = d.mean.double(), d.variance.double()
    assert mean.shape == var.shape == d.batch_shape + d.event_shape
    m_hat = x.mean(0)
    centered = x - m_hat
    v_hat = centered.pow(2).mean(0)
    m4_hat = centered.pow(4).mean(0)
    # CLT: the sample mean has standard error sqrt(var / n); the sample variance has
    # standard error sqrt((mu4 - var^2) / n) (mu4 the 4th central moment, estimated). Five
    # standard errors bound each check (two-sided p < 6e-7 per entry); the floor 1e-9
    # covers zero-variance entries (Delta, LKJ's diagonal).
    se_mean = (var / n).sqrt()
    se_var = ((m4_hat - v_hat**2).clamp_min(0) / n).sqrt()
    assert ((m_hat - mean).abs() <= 5 * se_mean + 1e-9).all(), (m_hat, mean)
    assert ((v_hat - var).abs() <= 5 * se_var + 1e-9).all(), (v_hat, var)


@pytest.mark.parametrize("name", sorted(n for n, c in CASES.items() if c.moments == "mc"))
@SETTINGS
@given(batch_shape=hs.sampled_from([(), (2,)]), seed=SEEDS)
def test_mean_variance_match_monte_carlo(name, batch_shape, seed):
    d = make(name, batch_shape, seed, dtype=torch.float64)
    _check_moments(d, CASES[name].n_mc)


def test_von_mises_circular_moments():
    # VonMises' mean is the circular mean loc, its variance the circular variance
    # 1 - I1(k)/I0(k). The mean resultant vector of n draws has per-coordinate standard
    # error <= 1/sqrt(n) = 0.005 (coordinates are bounded by 1): 5 standard errors.
    d = dist.VonMises(torch.tensor([0.5, -2.0], dtype=torch.float64),
                      torch.tensor([2.0, 4.0], dtype=torch.float64))
    x = d.sample((40000,))
    c, s = x.cos().mean(0), x.sin().mean(0)
    assert torch.allclose(torch.atan2(s, c), d.mean, atol=0.05)
    assert torch.allclose(1 - torch.sqrt(c**2 + s**2), d.variance, atol=0.025)


# ----------------------------------------------------------------- enumerate_support


ENUMERABLE = sorted(n for n in CASES if n not in {"Empirical"}
                    and getattr(dist, n).has_enumerate_support is True)


def test_enumerable_families_are_the_discrete_finite_ones():
    assert set(ENUMERABLE) >= {"Bernoulli", "Binomial", "Categorical", "OneHotCategorical",
                               "BetaBinomial", "OrderedLogistic"}


@pytest.mark.parametrize("name", ENUMERABLE + ["Empirical", "MaskedDistribution-Bernoulli",
                                               "ExpandedDistribution-Categorical"])
@SETTINGS
@given(batch_shape=BATCH_SHAPES, seed=SEEDS)
def test_enumerate_support_probabilities_sum_to_one(name, batch_shape, seed):
    p = P(seed)
    if name == "MaskedDistribution-Bernoulli":
        d = dist.Bernoulli(p.u(batch_shape, 0.1, 0.9)).mask(True)
    elif name == "ExpandedDistribution-Categorical":
        d = dist.ExpandedDistribution(dist.Categorical(p.simplex((1, 4))), batch_shape + (1,))
        batch_shape = batch_shape + (1,)
    elif name == "Empirical":
        batch_shape = ()
        d = dist.Empirical(p.real((6, 2)).round(), p.real((6,)))
    else:
        d = make(name, batch_shape, seed)
    assert d.has_enumerate_support
    support = d.enumerate_support()
    n = support.shape[0]
    assert support.shape == (n,) + d.batch_shape + d.event_shape
    compact = d.enumerate_support(expand=False)
    assert compact.shape == (n,) + (1,) * len(d.batch_shape) + d.event_shape
    total = d.log_prob(support).logsumexp(0)
    assert total.shape == d.batch_shape
    assert torch.allclose(total, torch.zeros(()), atol=1e-5)
    # the compact support broadcasts against the batch for parallel enumeration
    assert d.log_prob(compact).shape == (n,) + d.batch_shape


# ----------------------------------------------------------------- rsample gradients

# name -> (theta0, theta -> distribution): rsample is a smooth function of theta and of the
# noise, so with the noise fixed (same seed) autograd must match finite differences.
_L = torch.tensor([[1.0, 0.0], [0.3, 0.8]], dtype=torch.float64)
FD_CASES = {
    # the loc gradient is the usual one (the scale_tril gradient is a different velocity field,
    # tested in test_omt_avf_mvn.py)
    "AVFMultivariateNormal": ([0.3, -1.2, 0.8], lambda t: dist.AVFMultivariateNormal(
        t, torch.eye(3, dtype=t.dtype), torch.zeros(2, 3, 3, dtype=t.dtype))),
    "OMTMultivariateNormal": ([0.3, -1.2, 0.8], lambda t: dist.OMTMultivariateNormal(
        t, torch.eye(3, dtype=t.dtype))),
    "SkewLogistic": ([0.3, 1.2, 0.7], lambda t: dist.SkewLogistic(t[0], t[1], t[2])),
    "SoftAsymmetricLaplace": ([0.3, 1.2, 0.7, 0.5],
                              lambda t: dist.SoftAsymmetricLaplace(t[0], t[1], t[2], t[3])),
    "ProjectedNormal": ([0.3, -1.2, 0.8], lambda t: dist.ProjectedNormal(t)),
    # the Chambers-Mallows-Stuck transform of fixed uniform/exponential noise
    "Stable": ([1.5, 0.3, 1.2, 0.4], lambda t: dist.Stable(t[0], t[1], t[2], t[3])),
    "Normal": ([0.3, 1.2], lambda t: dist.Normal(t[0], t[1])),
    "Cauchy": ([0.3, 1.2], lambda t: dist.Cauchy(t[0], t[1])),
    "Laplace": ([0.3, 1.2], lambda t: dist.Laplace(t[0], t[1])),
    "LogNormal": ([0.3, 0.5], lambda t: dist.LogNormal(t[0], t[1])),
    "Uniform": ([-1.0, 2.0], lambda t: dist.Uniform(t[0], t[1])),
    "MultivariateNormal": ([0.3, -0.2, 0.4],
                           lambda t: dist.MultivariateNormal(t[:2], scale_tril=_L * t[2].exp())),
    "LowRankMultivariateNormal": ([0.3, -0.2, 0.5, 1.5], lambda t: dist.LowRankMultivariateNormal(
        t[:2], t[2:3].expand(2).unsqueeze(-1), t[3:].expand(2))),
    "Independent": ([0.3, 1.2], lambda t: dist.Normal(t[0], t[1]).expand([3]).to_event(1)),
    "TransformedDistribution": ([0.3, 0.4], lambda t: dist.TransformedDistribution(
        dist.Normal(t[0], t[1]), [transforms.ExpTransform(), transforms.AffineTransform(1., 2.)])),
    "AsymmetricLaplace": ([0.3, 1.2, 0.7], lambda t: dist.AsymmetricLaplace(t[0], t[1], t[2])),
    "FoldedDistribution": ([0.3, 1.2], lambda t: dist.FoldedDistribution(dist.Normal(t[0], t[1]))),
    "Logistic": ([0.3, 1.2], lambda t: dist.Logistic(t[0], t[1])),
    "SoftLaplace": ([0.3, 1.2], lambda t: dist.SoftLaplace(t[0], t[1])),
    "MaskedMixture": ([0.3, 1.2], lambda t: dist.MaskedMixture(
        torch.tensor([True, False]), dist.Normal(t[0], t[1]), dist.Logistic(t[1], t[0] + 1))),
    "MaskedDistribution": ([0.3, 1.2], lambda t: dist.Normal(t[0], t[1]).mask(False)),
}


def test_rsample_gradient_cases_cover_flagged_families():
    assert set(FD_CASES) == {n for n, c in CASES.items() if c.rsample_fd}


@pytest.mark.parametrize("name", sorted(FD_CASES))
def test_rsample_gradient_matches_finite_differences(name):
    theta0, build = FD_CASES[name]
    theta0 = torch.tensor(theta0, dtype=torch.float64)

    def f(theta):
        torch.manual_seed(7)
        return build(theta).rsample((4,)).sin().sum()

    theta = theta0.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(f(theta), theta)
    eps = 1e-6
    fd = torch.stack([(f(theta0 + eps * e) - f(theta0 - eps * e)) / (2 * eps)
                      for e in torch.eye(len(theta0), dtype=torch.float64)])
    # central differences have O(eps^2) truncation and O(1e-16/eps) rounding error
    assert torch.allclose(grad, fd, rtol=1e-5, atol=1e-7), (grad, fd)


def test_rsample_gradient_of_implicit_reparameterization_matches_mean_derivative():
    # Gamma/Beta rsample use implicit reparameterization: the noise is not a fixed
    # function of the parameters, so compare the MC average of dx/dtheta with dE[x]/dtheta.
    # Gamma(a, 1): dE[x]/da = 1; Beta(a, 2): dE[x]/da = 2/(a+2)^2. The average of n
    # per-draw derivatives has standard error sd/sqrt(n): 5 standard errors.
    n = 20000
    for make_dist, mean_grad in [
        (lambda a: dist.Gamma(a, 1.0), lambda a: 1.0),
        (lambda a: dist.Beta(a, 2.0), lambda a: 2 / (a + 2) ** 2),
    ]:
        a = torch.full((n,), 1.5, dtype=torch.float64, requires_grad=True)
        (grads,) = torch.autograd.grad(make_dist(a).rsample().sum(), a)
        est, se = grads.mean(), grads.std() / math.sqrt(n)
        assert abs(est - mean_grad(1.5)) < 5 * se, (est, mean_grad(1.5))
