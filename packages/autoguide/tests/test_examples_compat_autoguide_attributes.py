"""Reading a fitted autoguide's parameters as attributes, as Pyro programs do
(``guide.loc``, ``guide.scale``, ``AutoNormal``'s ``guide.locs.z`` / ``guide.scales.z``):
the constrained values of the params, as Pyro's PyroModule guides give them (the raw
unconstrained leaves stay the module's ``parameters()``)."""
import pytest
import torch

import pyro
import pyro.distributions as dist
from pyro.infer import SVI, Trace_ELBO
from pyro.infer.autoguide import (
    AutoDelta,
    AutoDiagonalNormal,
    AutoLowRankMultivariateNormal,
    AutoMultivariateNormal,
    AutoNormal,
)

Adam = pytest.importorskip("pyro.optim", reason="needs pyro-optim for SVI").Adam


def model():
    pyro.sample("a", dist.Normal(0.0, 1.0).expand([2]).to_event(1))
    pyro.sample("s", dist.LogNormal(0.0, 1.0))


def fit(cls):
    pyro.clear_param_store()
    pyro.set_rng_seed(0)
    guide = cls(model)
    svi = SVI(model, guide, Adam({"lr": 0.1}), Trace_ELBO())
    for _ in range(3):
        svi.step()
    return guide


@pytest.mark.parametrize("cls, attrs", [
    (AutoDiagonalNormal, ["loc", "scale"]),
    (AutoMultivariateNormal, ["loc", "scale", "scale_tril"]),
    (AutoLowRankMultivariateNormal, ["loc", "scale", "cov_factor"]),
])
def test_joint_guide_attributes_are_constrained_params(cls, attrs):
    guide = fit(cls)
    store = pyro.get_param_store()
    for attr in attrs:
        torch.testing.assert_close(getattr(guide, attr), store[f"{cls.__name__}.{attr}"])
    assert (guide.scale > 0).all()
    if cls is AutoMultivariateNormal:
        torch.testing.assert_close(guide.scale_tril.diagonal(), torch.ones(3))
    # the optimizer's view is unchanged: the unconstrained leaves
    leaves = dict(guide.named_parameters())
    assert leaves["scale"] is store[f"{cls.__name__}.scale"].unconstrained()


def test_autonormal_per_site_attributes():
    guide = fit(AutoNormal)
    store = pyro.get_param_store()
    for site in ("a", "s"):
        torch.testing.assert_close(getattr(guide.locs, site), store[f"AutoNormal.locs.{site}"])
        torch.testing.assert_close(getattr(guide.scales, site),
                                   store[f"AutoNormal.scales.{site}"])
    assert (guide.scales.a > 0).all()
    with pytest.raises(AttributeError, match="AutoNormal.locs.b"):
        guide.locs.b


def test_autodelta_site_attributes():
    guide = fit(AutoDelta)
    torch.testing.assert_close(guide.s, pyro.get_param_store()["AutoDelta.s"])
    assert guide.s > 0  # constrained to the LogNormal's support
