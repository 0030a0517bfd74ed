"""AutoIAFNormal: structure (pyro-nn's AutoRegressiveNN in AffineAutoregressive), its
density, parameters, and recovery of an exact Gaussian posterior."""
import pytest
import torch
from torch.distributions import biject_to

import pyro
import pyro.distributions as dist
from pyro import poutine
from pyro.distributions.transforms import AffineAutoregressive, ComposeTransformModule
from pyro.infer import SVI, Trace_ELBO
from pyro.infer.autoguide import AutoIAFNormal, AutoNormalizingFlow, init_to_value
from pyro.nn import AutoRegressiveNN

_optim = pytest.importorskip("pyro.optim")
ClippedAdam = _optim.ClippedAdam

Y = torch.tensor(1.5)
POST_MEAN = torch.tensor([1.0, 0.5])
POST_COV = torch.tensor([[2.0, -2.0], [-2.0, 5.0]]) / 6.0  # see test_continuous.py


def gauss_model(y):
    z = pyro.sample("z", dist.Normal(torch.zeros(2), 1.0).to_event(1))
    pyro.sample("y", dist.Normal(z[..., 0] + 0.5 * z[..., 1], 0.5), obs=y)


def model3():
    pyro.sample("a", dist.Normal(torch.zeros(2), 1.0).to_event(1))
    pyro.sample("s", dist.LogNormal(0.0, 1.0))


def test_structure_and_parameters():
    guide = AutoIAFNormal(model3, num_transforms=2)
    guide()
    assert isinstance(guide, AutoNormalizingFlow)
    assert guide.latent_dim == 3 and guide.hidden_dim is None
    assert isinstance(guide.transform, ComposeTransformModule) and len(guide.transform) == 2
    for t in guide.transform:
        assert isinstance(t, AffineAutoregressive) and isinstance(t.arn, AutoRegressiveNN)
    store = dict(pyro.get_param_store().named_parameters())
    # Pyro's names and its default width 3 * latent_dim + 1
    assert store and all(k.startswith("AutoIAFNormal.transform$$$") for k in store)
    assert store["AutoIAFNormal.transform$$$0.arn.layers.0.weight"].shape == (10, 3)
    assert store["AutoIAFNormal.transform$$$1.arn.layers.1.weight"].shape == (6, 10)
    # the networks' weights are the store's leaves and the guide's parameters
    own = list(guide.parameters())
    assert len(own) == len(store)
    assert all(any(p is q for p in own) for q in store.values())
    pyro.clear_param_store()
    other = AutoIAFNormal(model3, hidden_dim=7, prefix="other")
    other()
    assert other.hidden_dim == [7]
    assert pyro.param("other.transform$$$0.arn.layers.0.weight").shape == (7, 3)


def test_init_loc_fn_has_no_effect_and_warns():
    with pytest.warns(FutureWarning, match="init_loc_fn"):
        guide = AutoIAFNormal(model3, init_loc_fn=init_to_value(
            values={"a": torch.tensor([50.0, -50.0])}))
    pyro.set_rng_seed(0)
    with torch.no_grad():
        draws = guide.get_posterior().sample((2000,))
    # the flow starts near the identity: draws near the standard Normal, not near 50
    assert draws[:, :2].mean(0).abs().max() < 5.0


def test_density_is_flow_density_minus_log_jacobian():
    guide = AutoIAFNormal(model3)
    tr = poutine.trace(guide).get_trace()
    u = tr.nodes["_AutoIAFNormal_latent"]["value"]
    assert torch.allclose(tr.nodes["s"]["value"], u[2].exp())
    # independent: invert the flow numerically (a fresh transform, no cache) and apply the
    # change of variables to the standard Normal base
    flow = guide.transform[0]
    x = AffineAutoregressive(flow.arn).inv(u)
    log_q = (dist.Normal(0.0, 1.0).log_prob(x).sum(-1)
             - flow.log_abs_det_jacobian(x, flow(x)))
    log_jac = biject_to(dist.LogNormal(0.0, 1.0).support).log_abs_det_jacobian(u[2], u[2].exp())
    assert tr.log_prob_sum().item() == pytest.approx((log_q - log_jac).item(), abs=1e-4)


def test_scoring_its_own_draws_needs_no_inverse_pass(monkeypatch):
    guide = AutoIAFNormal(model3, num_transforms=2)
    guide()

    def no_inverse(self, y):
        raise AssertionError("the flow was inverted")

    monkeypatch.setattr(AffineAutoregressive, "_inverse", no_inverse)
    tr = poutine.trace(guide).get_trace()
    assert torch.isfinite(tr.log_prob_sum())
    with pytest.raises(AssertionError, match="inverted"):  # the check itself works
        guide.get_posterior().log_prob(torch.zeros(3))


def test_median_and_quantiles_are_monte_carlo_estimates():
    guide = AutoIAFNormal(gauss_model)
    q = guide.quantiles([0.25, 0.5, 0.75], Y)["z"]
    assert q.shape == (3, 2)
    assert torch.all(q[0] < q[1]) and torch.all(q[1] < q[2])
    # the estimate of the median from 4096 draws is within a few standard errors of the
    # median of an independent large sample (both have sd ~ 1.25 sigma / sqrt(n))
    draws = guide.get_posterior(Y).sample((40000,)).detach()
    sd = draws.std(0)
    assert torch.all((guide.median(Y)["z"] - draws.median(0).values).abs() < 0.1 * sd)


def test_bad_arguments():
    with pytest.raises(ValueError, match="num_transforms"):
        AutoIAFNormal(gauss_model, num_transforms=0)
    with pytest.raises(ValueError, match="hidden_dim"):
        AutoIAFNormal(gauss_model, hidden_dim=[8, 0])


def test_recovers_a_gaussian_posterior():
    guide = AutoIAFNormal(gauss_model)
    svi = SVI(gauss_model, guide, ClippedAdam({"lr": 0.05, "lrd": 0.995}),
              Trace_ELBO(num_particles=64, vectorize_particles=True))
    for _ in range(500):
        svi.step(Y)
    with torch.no_grad():
        draws = guide.get_posterior(Y).sample((20000,))  # the latent vector is z itself
    # over seeds 0-3 the largest errors of 20000-draw moments were 0.043 (mean) and 0.031
    # (covariance), Monte Carlo error included (~0.007 = sd 0.9 / sqrt(2e4))
    assert torch.allclose(draws.mean(0), POST_MEAN, atol=0.1)
    assert torch.allclose(torch.cov(draws.T), POST_COV, atol=0.08)
