"""``Distribution.has_rsample_``: forcing (non-)reparameterized sampling on one instance."""
import pytest
import torch

import pyro.distributions as dist


def test_forcing_false_detaches_draws_of_that_instance_only():
    loc = torch.tensor(0.0, requires_grad=True)
    d = dist.Normal(loc, 1.0)
    assert d.has_rsample_(False) is d
    assert d.has_rsample is False
    assert not d().requires_grad           # __call__ now draws with sample()
    assert d.rsample().requires_grad       # an explicit rsample still differentiates
    assert dist.Normal(loc, 1.0).has_rsample is True   # the class is untouched
    assert d.has_rsample_(True).has_rsample is True


@pytest.mark.parametrize("wrap", [
    lambda d: d.expand([3]).to_event(1),
    lambda d: d.expand([3]).mask(torch.tensor([True, False, True])),
])
def test_wrappers_are_forced_without_touching_their_base(wrap):
    base = dist.Normal(torch.zeros(3), 1.0)
    d = wrap(base)
    assert d.has_rsample is True
    assert d.has_rsample_(False).has_rsample is False
    assert base.has_rsample is True


def test_only_booleans_are_accepted():
    with pytest.raises(ValueError, match="True or False"):
        dist.Normal(0.0, 1.0).has_rsample_(1)


@pytest.mark.parametrize("make", [
    lambda: dist.Gumbel(torch.tensor(0.0, requires_grad=True), 1.0),
    lambda: dist.Weibull(1.0, torch.tensor(1.5, requires_grad=True)),
    lambda: dist.Pareto(torch.tensor(1.0, requires_grad=True), 2.0),
    lambda: dist.TransformedDistribution(
        dist.Normal(torch.tensor(0.0, requires_grad=True), 1.0),
        [dist.transforms.ExpTransform()]),
], ids=["Gumbel", "Weibull", "Pareto", "TransformedDistribution"])
def test_transformed_families_can_be_forced(make):
    # torch's has_rsample is a read-only property of these (the base's): forcing it raised
    d = make()
    assert d.has_rsample is True and d.rsample().requires_grad
    assert d.has_rsample_(False).has_rsample is False
    assert not d().requires_grad
    assert d.base_dist.has_rsample is True     # the base is untouched
    assert make().has_rsample is True
    assert d.has_rsample_(True).has_rsample is True


def test_composite_families_can_be_forced():
    # has_rsample is computed from the parts (a read-only property before)
    mix = dist.MaskedMixture(torch.tensor([True, False]), dist.Normal(0.0, 1.0).expand([2]),
                             dist.Normal(1.0, 1.0).expand([2]))
    assert mix.has_rsample is True
    assert mix.has_rsample_(False).has_rsample is False
    assert mix.component0.has_rsample is True
    rej = dist.Rejector(dist.Exponential(1.0), lambda x: torch.zeros_like(x), 0.0)
    assert rej.has_rsample is True and rej.has_rsample_(False).has_rsample is False
