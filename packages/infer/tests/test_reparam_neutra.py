"""NeuTraReparam: the model's density of the shared latent is the model's joint pushed
back through the guide's flow (with every Jacobian), and transform_sample inverts it."""
import pytest
import torch
from torch.distributions import biject_to

import pyro
import pyro.distributions as dist
from pyro import poutine
from pyro.infer.reparam import NeuTraReparam

autoguide = pytest.importorskip("pyro.infer.autoguide", reason="needs pyro-autoguide")

DATA = torch.tensor([1.0, 0.5])


def model():
    a = pyro.sample("a", dist.Normal(0.0, 1.0))
    b = pyro.sample("b", dist.LogNormal(a, 1.0).expand([2]).to_event(1))
    pyro.sample("c", dist.Normal(b, 1.0).to_event(1), obs=DATA)


def _trained_like_guide(cls):
    guide = cls(model)
    guide()
    # move the guide away from its initialization so that the flow is not trivial
    for p in guide.parameters():
        p.data.add_(0.3 * torch.randn_like(p))
    return guide.requires_grad_(False)


@pytest.mark.parametrize("cls", ["AutoDiagonalNormal", "AutoMultivariateNormal"])
def test_log_density_is_pushed_back_joint(cls):
    guide = _trained_like_guide(getattr(autoguide, cls))
    neutra = NeuTraReparam(guide)
    trace = poutine.trace(poutine.reparam(model, config=lambda _: neutra)).get_trace()
    z = trace.nodes["a_shared_latent"]["value"]
    assert z.shape == (3,)
    assert trace.nodes["a"]["is_observed"] and trace.nodes["b"]["is_observed"]
    assert not isinstance(trace.nodes["c"]["fn"], dist.Delta)

    transform = guide.get_transform()
    u = transform(z)
    a, b = u[0], u[1:].exp()
    log_joint = (dist.Normal(0.0, 1.0).log_prob(a)
                 + dist.LogNormal(a, 1.0).log_prob(b).sum()
                 + dist.Normal(b, 1.0).log_prob(DATA).sum())
    log_jac = transform.log_abs_det_jacobian(z, u).sum() + u[1:].sum()  # flow, then exp
    assert torch.allclose(trace.log_prob_sum(), log_joint + log_jac, atol=1e-5)

    samples = neutra.transform_sample(z)
    assert torch.allclose(samples["a"], a) and torch.allclose(samples["b"], b)
    batch = neutra.transform_sample(torch.randn(5, 3))
    assert batch["b"].shape == (5, 2) and (batch["b"] > 0).all()
    # the state is reset between runs: a second run draws a new shared latent
    trace2 = poutine.trace(poutine.reparam(model, config=lambda _: neutra)).get_trace()
    assert not torch.equal(trace2.nodes["a_shared_latent"]["value"], z)


def test_reparam_helper_and_errors():
    guide = _trained_like_guide(autoguide.AutoDiagonalNormal)
    neutra = NeuTraReparam(guide)
    trace = poutine.trace(neutra.reparam(model)).get_trace()
    assert "a_shared_latent" in trace.nodes
    assert torch.equal(trace.nodes["c"]["value"], DATA)
    assert not isinstance(trace.nodes["c"]["fn"], dist.Delta)
    with pytest.raises(TypeError, match="AutoContinuous"):
        NeuTraReparam(autoguide.AutoNormal(model))


def test_flat_base_for_mcmc():
    # the shared latent contributes no density of its own (masked base)
    guide = _trained_like_guide(autoguide.AutoDiagonalNormal)
    neutra = NeuTraReparam(guide)
    trace = poutine.trace(poutine.reparam(model, config=lambda _: neutra)).get_trace()
    trace.compute_log_prob()
    assert float(trace.nodes["a_shared_latent"]["log_prob_sum"]) == 0.0
    # and the sites' constrained values follow the guide's own constraint maps
    u = guide.get_transform()(trace.nodes["a_shared_latent"]["value"])
    b = biject_to(dist.LogNormal(0.0, 1.0).support)(u[1:])
    assert torch.allclose(trace.nodes["b"]["value"], b)
