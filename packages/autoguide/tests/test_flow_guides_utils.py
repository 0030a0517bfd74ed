"""AutoNormalizingFlow / AutoBNAFNormal against a conjugate posterior, AutoNormal's sites,
Pyro's import paths, and pyro.infer.autoguide.utils."""
import math
from functools import partial

import pytest
import torch

import pyro
import pyro.distributions as dist
from pyro import poutine
from pyro.distributions.transforms import affine_autoregressive, iterated
from pyro.infer import SVI, Trace_ELBO
from pyro.infer.autoguide import (
    AutoBNAFNormal,
    AutoNormal,
    AutoNormalizingFlow,
    mean_field_entropy,
)
from pyro.infer.autoguide.utils import deep_setattr, helpful_support_errors

_optim = pytest.importorskip("pyro.optim", reason="training needs pyro-optim")
ClippedAdam = _optim.ClippedAdam

X = torch.tensor([0.9, 1.7, 1.2, 0.4, 1.3, 0.8])


def chain_model(x=X):
    z1 = pyro.sample("z1", dist.Normal(0.0, 1.0))
    z2 = pyro.sample("z2", dist.Normal(z1, 1.0))
    with pyro.plate("data", len(x)):
        pyro.sample("x", dist.Normal(z1 + z2, 1.0), obs=x)


def chain_posterior(x=X):
    precision = torch.tensor([[2.0, -1.0], [-1.0, 1.0]]) + len(x) * torch.ones(2, 2)
    cov = torch.linalg.inv(precision)
    return cov @ (x.sum() * torch.ones(2)), cov


def train(model, guide, steps, lr=0.05, lrd=0.995, particles=8):
    svi = SVI(model, guide, ClippedAdam({"lr": lr, "lrd": lrd}),
              Trace_ELBO(num_particles=particles, vectorize_particles=True,
                         max_plate_nesting=1))
    for _ in range(steps):
        svi.step()


def draws(guide, n=4000):
    with torch.no_grad():
        latent = guide.get_posterior().sample((n,))
    return latent


def test_normalizing_flow_recovers_gaussian_posterior():
    # two affine autoregressive flows represent any Gaussian exactly
    guide = AutoNormalizingFlow(chain_model, partial(iterated, 2, affine_autoregressive,
                                                     hidden_dims=[8]))
    train(chain_model, guide, 600)
    mean, cov = chain_posterior()
    z = draws(guide)
    n = z.shape[0]
    # tolerances: 5 Monte Carlo standard errors plus the optimisation's error
    assert torch.allclose(z.mean(0), mean, atol=5 * cov.diagonal().max().sqrt() / n ** 0.5
                          + 0.05)
    emp = torch.cov(z.T)
    assert torch.allclose(emp, cov, atol=5 * math.sqrt(2 / n) * cov.abs().max() + 0.02)
    names = [n for n, _ in guide.named_parameters()]
    assert names and all(n.startswith("transform.") for n in names)
    assert any(k.startswith("AutoNormalizingFlow.transform$$$0.")
               for k in pyro.get_param_store().keys())


def test_bnaf_fits_conjugate_posterior_approximately():
    def model():
        z = pyro.sample("z", dist.Normal(0.0, 1.0))
        with pyro.plate("data", len(X)):
            pyro.sample("x", dist.Normal(z, 1.0), obs=X)

    guide = AutoBNAFNormal(model, hidden_factors=[4], num_transforms=2)
    train(model, guide, 320, lr=0.025)
    z = draws(guide).squeeze(-1)
    n = len(X)
    assert z.mean().item() == pytest.approx(X.sum().item() / (n + 1), abs=0.1)
    assert z.std().item() == pytest.approx(1 / math.sqrt(n + 1), rel=0.25)
    keys = list(pyro.get_param_store().keys())
    assert any(k.startswith("AutoBNAFNormal.transform$$$1.layers") for k in keys)


def test_normalizing_flow_checks_the_transform():
    with pytest.raises(ValueError, match="callable"):
        AutoNormalizingFlow(chain_model, None)
    with pytest.raises(ValueError, match="Transform"):
        AutoNormalizingFlow(chain_model, lambda d: torch.zeros(d))()


def test_auto_normal_records_unconstrained_sites_as_pyro():
    def model():
        pyro.sample("a", dist.Normal(0.0, 1.0))
        pyro.sample("b", dist.LogNormal(0.0, 1.0))

    trace = poutine.trace(AutoNormal(model)).get_trace()
    samples = [n for n, s in trace.nodes.items() if s["type"] == "sample"]
    assert samples == ["a_unconstrained", "a", "b_unconstrained", "b"]
    assert trace.nodes["a"]["value"] == trace.nodes["a_unconstrained"]["value"]
    assert trace.nodes["b"]["value"] == trace.nodes["b_unconstrained"]["value"].exp()


def test_guides_module_keeps_pyros_import_paths():
    import pyro.infer.autoguide as ag
    import pyro.infer.autoguide.guides as guides

    for name in ["AutoDiagonalNormal", "AutoMultivariateNormal", "AutoNormalizingFlow",
                 "AutoIAFNormal", "AutoGuideList", "AutoLaplaceApproximation"]:
        assert getattr(guides, name) is getattr(ag, name)
    with pytest.raises(AttributeError):
        guides.AutoNothing  # noqa: B018
    msg = {"type": "sample", "is_observed": False, "fn": dist.Normal(0.0, 1.0),
           "infer": {}, "name": "z"}
    assert guides.prototype_hide_fn(msg) is False
    assert guides.prototype_hide_fn({**msg, "is_observed": True}) is True
    assert guides.prototype_hide_fn({**msg, "type": "param"}) is True


def test_mean_field_entropy_sums_site_entropies():
    def model(s):
        pyro.sample("a", dist.Normal(0.0, s))
        with pyro.plate("p", 3):
            pyro.sample("b", dist.Normal(torch.zeros(3), 2.0))
        pyro.sample("o", dist.Normal(0.0, 1.0), obs=torch.tensor(0.0))

    h = lambda s: 0.5 * math.log(2 * math.pi * math.e * s * s)  # noqa: E731
    total = mean_field_entropy(model, (1.5,))
    assert total.shape == (3,)
    assert total[0].item() == pytest.approx(h(1.5) + h(2.0) + h(1.0), rel=1e-6)
    only_b = mean_field_entropy(model, (1.5,), whitelist=["b"])
    assert torch.allclose(only_b, torch.full((3,), h(2.0)))

    def bad():
        pyro.sample("x", dist.Normal(torch.zeros(2), 1.0))
        pyro.sample("y", dist.Normal(torch.zeros(3), 1.0))

    with pytest.raises(ValueError, match="'y'"):
        mean_field_entropy(bad, ())


def test_deep_setattr_and_helpful_support_errors():
    from pyro.nn import PyroModule

    root = PyroModule()
    deep_setattr(root, "a.b.c", torch.nn.Parameter(torch.ones(2)))
    assert isinstance(root.a, PyroModule) and isinstance(root.a.b, PyroModule)
    assert [n for n, _ in root.named_parameters()] == ["a.b.c"]
    site = {"name": "k", "fn": dist.Bernoulli(0.5)}
    with pytest.raises(ValueError, match="discrete sample site 'k'"):
        with helpful_support_errors(site):
            torch.distributions.biject_to(site["fn"].support)
    with helpful_support_errors({"name": "z", "fn": dist.Normal(0.0, 1.0)}):
        torch.distributions.biject_to(dist.Normal(0.0, 1.0).support)
