"""Stable reparameterizers: latent draws follow the Stable law (compared with scipy's
S0 distribution function), and the conditionally Gaussian observation sites integrate
over their auxiliary variables to the Stable density."""
import math

import pytest
import torch

import pyro
import pyro.distributions as dist
from pyro import poutine
from pyro.infer.reparam import LatentStableReparam, StableReparam, SymmetricStableReparam

levy = pytest.importorskip("scipy.stats", reason="needs scipy").levy_stable

N = 20000
POINTS = torch.tensor([-2.0, -0.5, 0.3, 1.5])


def _scipy(alpha, beta, scale, loc, coords="S0"):
    levy.parameterization = {"S0": "S0", "S": "S1"}[coords]
    return levy(alpha, beta, loc=loc, scale=scale)


def _latent_draws(fn, reparam, n=N):
    def model():
        with pyro.plate("draws", n):
            return pyro.sample("x", fn)

    trace = poutine.trace(poutine.reparam(model, {"x": reparam})).get_trace()
    return trace


def _assert_cdf(x, law):
    # empirical cdf at fixed points: binomial standard error sqrt(p(1-p)/n) <= 0.5/sqrt(n)
    for point in POINTS.tolist():
        empirical = (x <= point).double().mean().item()
        assert abs(empirical - law.cdf(point)) < 5 * 0.5 / math.sqrt(x.numel()), point


@pytest.mark.parametrize("alpha,beta,coords", [
    (1.5, 0.0, "S0"), (1.3, 0.7, "S0"), (0.8, -0.4, "S0"), (1.0, 0.5, "S0"), (1.7, 0.3, "S"),
])
@pytest.mark.parametrize("reparam", [LatentStableReparam(), StableReparam()])
def test_latent_law(reparam, alpha, beta, coords):
    scale, loc = 1.3, 0.4
    trace = _latent_draws(dist.Stable(alpha, beta, scale, loc, coords=coords), reparam)
    x = trace.nodes["x"]["value"].detach()
    assert x.shape == (N,)
    _assert_cdf(x, _scipy(alpha, beta, scale, loc, coords))


@pytest.mark.parametrize("alpha", [0.7, 1.5, 1.95])
def test_symmetric_latent_law(alpha):
    trace = _latent_draws(dist.Stable(alpha, 0.0, 0.8, -0.3), SymmetricStableReparam())
    assert set(trace.stochastic_nodes) >= {"x_uniform", "x_exponential"}
    _assert_cdf(trace.nodes["x"]["value"].detach(), _scipy(alpha, 0.0, 0.8, -0.3))


@pytest.mark.parametrize("reparam,alpha,beta", [
    (SymmetricStableReparam(), 1.5, 0.0),
    (StableReparam(), 1.5, 0.0),
    (StableReparam(), 1.6, 0.5),
    (StableReparam(), 1.2, -0.8),
    (StableReparam(), 1.0, 0.5),
])
def test_observed_density_is_mixture(reparam, alpha, beta):
    # p(y) = E_aux[ Normal(y; loc(aux), scale(aux)) ]: average the conditional densities
    # of the reparameterized observation site over n draws of its auxiliary sites
    n = 40000
    scale, loc = 1.1, 0.2
    y = POINTS

    def model():
        with pyro.plate("draws", n, dim=-2), pyro.plate("points", len(y)):
            pyro.sample("y", dist.Stable(alpha, beta, scale, loc), obs=y)

    trace = poutine.trace(poutine.reparam(model, {"y": reparam})).get_trace()
    site = trace.nodes["y"]
    assert site["is_observed"] and isinstance(site["fn"], dist.Normal)
    densities = site["fn"].log_prob(y).exp().double()
    estimate = densities.mean(0)
    stderr = densities.std(0) / math.sqrt(n)
    exact = torch.tensor(_scipy(alpha, beta, scale, loc).pdf(y.numpy()))
    assert ((estimate - exact).abs() < 5 * stderr + 1e-3).all(), (estimate, exact)


def test_auxiliary_site_names_and_shapes():
    fn = dist.Stable(1.5, 0.5, torch.ones(3)).to_event(1)
    trace = _latent_draws(fn, StableReparam(), n=2)
    for name in ["x_z_uniform", "x_z_exponential", "x_t_uniform", "x_t_exponential"]:
        site = trace.nodes[name]
        assert site["fn"].batch_shape == (2,) and site["fn"].event_shape == (3,)
    assert trace.nodes["x"]["fn"].event_shape == (3,)
    latent = _latent_draws(fn, LatentStableReparam(), n=2)
    assert latent.nodes["x_uniform"]["fn"].event_shape == (3,)
    assert latent.nodes["x"]["is_observed"]


def test_errors():
    with pytest.raises(NotImplementedError, match="observe"):
        poutine.reparam(lambda: pyro.sample("x", dist.Stable(1.5, 0.0), obs=torch.tensor(1.0)),
                        {"x": LatentStableReparam()})()
    with pytest.raises(ValueError, match="skew"):
        _latent_draws(dist.Stable(1.5, 0.3), SymmetricStableReparam(), n=2)
    with pytest.raises(TypeError, match="StableWithLogProb"):
        _latent_draws(dist.StableWithLogProb(1.5, 0.0), LatentStableReparam(), n=2)
    with pytest.raises(TypeError, match="needs Stable"):
        _latent_draws(dist.Normal(0.0, 1.0), StableReparam(), n=2)


def test_gradients_reach_parameters():
    # the reparameterized draws are differentiable in all four parameters
    params = [torch.tensor(v, requires_grad=True) for v in (1.5, 0.3, 1.2, 0.1)]
    trace = _latent_draws(dist.Stable(*params), LatentStableReparam(), n=100)
    trace.nodes["x"]["value"].sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad) for p in params)


def test_svi_fits_stable_location():
    optim = pytest.importorskip("pyro.optim", reason="SVI needs pyro-optim")
    autoguide = pytest.importorskip("pyro.infer.autoguide", reason="needs pyro-autoguide")
    from pyro.infer import SVI, Trace_ELBO

    data = dist.Stable(1.8, 0.0, 1.0, 3.0).sample((200,))

    def model():
        loc = pyro.param("loc", torch.tensor(0.0))
        with pyro.plate("data", len(data)):
            pyro.sample("obs", dist.Stable(1.8, 0.0, 1.0, loc), obs=data)

    reparam_model = poutine.reparam(model, {"obs": SymmetricStableReparam()})
    guide = autoguide.AutoNormal(reparam_model)
    svi = SVI(reparam_model, guide, optim.Adam({"lr": 0.05}), Trace_ELBO())
    for _ in range(300):
        svi.step()
    assert abs(pyro.param("loc").item() - data.median().item()) < 0.3
