"""median() and quantiles() of the autoguides return tensors detached from the guide's
parameters (as Pyro's do), with the same values as the parameters give."""
import pytest
import torch

import pyro
import pyro.distributions as dist
from pyro import poutine
from pyro.infer.autoguide import (
    AutoDelta,
    AutoDiagonalNormal,
    AutoGuideList,
    AutoMultivariateNormal,
    AutoNormal,
    AutoStructured,
)


def model():
    a = pyro.sample("a", dist.Normal(0.0, 1.0))  # identity transform: loc is the value
    b = pyro.sample("b", dist.LogNormal(torch.zeros(2), 1.0).to_event(1))
    pyro.sample("y", dist.Normal(a + b.sum(), 1.0), obs=torch.tensor(1.0))


def _guide_list(model):
    guide = AutoGuideList(model)
    guide.append(AutoNormal(poutine.block(model, expose=["a"])))
    guide.append(AutoDelta(poutine.block(model, hide=["a"])))
    return guide


GUIDES = [AutoNormal, AutoDelta, AutoDiagonalNormal, AutoMultivariateNormal, AutoStructured,
          _guide_list]


@pytest.mark.parametrize("make_guide", GUIDES)
def test_median_detached(make_guide):
    pyro.clear_param_store()
    pyro.set_rng_seed(0)
    guide = make_guide(model)
    guide()
    median = guide.median()
    assert set(median) == {"a", "b"}
    for value in median.values():
        assert not value.requires_grad and value.grad_fn is None
    before = median["a"].clone()  # a detached tensor may share the parameter's storage
    # still live values: moving a parameter moves the median
    with torch.no_grad():
        for _, p in pyro.get_param_store().named_parameters():
            p.add_(0.5)
    moved = guide.median()
    assert not torch.equal(moved["a"], before)


@pytest.mark.parametrize("make_guide", [AutoNormal, AutoDiagonalNormal, _guide_list])
def test_quantiles_detached(make_guide):
    pyro.clear_param_store()
    pyro.set_rng_seed(0)
    guide = make_guide(model)
    guide()
    q = guide.quantiles([0.5])
    median = guide.median()
    for name, value in q.items():
        assert not value.requires_grad and value.grad_fn is None
        assert torch.allclose(value[0], median[name], atol=1e-6)


def test_autonormal_quantiles_values():
    pyro.clear_param_store()
    guide = AutoNormal(model, init_scale=0.3)
    guide()
    q = guide.quantiles([0.1, 0.9])
    loc = pyro.param("AutoNormal.locs.a").detach()
    z = torch.distributions.Normal(0.0, 1.0).icdf(torch.tensor([0.1, 0.9]))
    assert torch.allclose(q["a"], loc + 0.3 * z, atol=1e-6)
