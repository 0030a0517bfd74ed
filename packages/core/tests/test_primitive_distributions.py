"""pyro.primitive_distributions: the distributions core needs itself (Delta, Unit), Pyro's
mixin on plain torch distributions and the shape helpers. Uses torch only (no
pyro.distributions), as core must work without pyro-distributions installed."""
import math

import pytest
import torch

from pyro.primitive_distributions import (
    Delta,
    ExpandedDistribution,
    Independent,
    MaskedDistribution,
    ScoreParts,
    TorchDistributionMixin,
    Unit,
    broadcast_shape,
    is_identically_one,
    is_identically_zero,
    scale_and_mask,
    score_parts_of,
    sum_rightmost,
)


class Normal(torch.distributions.Normal, TorchDistributionMixin):
    pass


class Bernoulli(torch.distributions.Bernoulli, TorchDistributionMixin):
    pass


LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


# ----------------------------------------------------------------------------- util


def test_broadcast_shape():
    assert broadcast_shape((3, 1), (4,), ()) == (3, 4)
    assert broadcast_shape() == ()
    assert broadcast_shape((2, 3), (3,), strict=True) == (2, 3)
    with pytest.raises(ValueError, match=r"\(3, 1\) vs \(4,\)"):
        broadcast_shape((3, 1), (4,), strict=True)
    with pytest.raises(ValueError, match="cannot be broadcast"):
        broadcast_shape((2,), (3,))


def test_sum_rightmost():
    x = torch.arange(24.0).reshape(2, 3, 4)
    assert sum_rightmost(x, 0) is x
    assert torch.equal(sum_rightmost(x, 1), x.sum(-1))
    assert torch.equal(sum_rightmost(x, 2), x.sum((-1, -2)))
    assert torch.equal(sum_rightmost(x, -1), x.sum((-1, -2)))  # keep the leftmost dim
    assert sum_rightmost(x, float("inf")) == x.sum()
    assert sum_rightmost(3.0, 2) == 3.0


def test_identically_zero_and_one_never_inspect_tensors():
    assert is_identically_zero(0) and is_identically_zero(0.0)
    assert not is_identically_zero(torch.tensor(0.0))
    assert is_identically_one(1.0) and not is_identically_one(torch.tensor(1.0))


def test_scale_and_mask():
    x = torch.tensor([-math.inf, 1.0, 2.0])
    assert scale_and_mask(x) is x
    assert torch.equal(scale_and_mask(x, 2.0), x * 2)
    mask = torch.tensor([False, True, True])
    assert torch.equal(scale_and_mask(x, 3.0, mask), torch.tensor([0.0, 3.0, 6.0]))
    assert torch.equal(scale_and_mask(x, mask=False), torch.zeros(3))
    assert scale_and_mask(x, mask=True) is x
    assert scale_and_mask(0, 5.0, mask) == 0
    scale = torch.tensor([1.0, 2.0, 3.0])
    assert torch.equal(scale_and_mask(x[1:], scale[1:], mask[1:]), torch.tensor([2.0, 6.0]))


def test_score_parts_scale_and_mask():
    lp = torch.tensor([-1.0, -2.0])
    parts = ScoreParts(lp, lp, 0).scale_and_mask(2.0, torch.tensor([True, False]))
    assert torch.equal(parts.log_prob, torch.tensor([-2.0, 0.0]))
    assert torch.equal(parts.score_function, torch.tensor([-1.0, 0.0]))  # masked, not scaled
    assert parts.entropy_term == 0


# ---------------------------------------------------------------------------- mixin


def test_mixin_shapes_call_and_score_parts():
    d = Normal(torch.zeros(2, 3), 1.0)
    assert d.event_dim == 0 and d.shape((5,)) == (5, 2, 3)
    x = d()
    assert x.shape == (2, 3)
    parts = d.score_parts(x)
    assert parts.score_function == 0 and parts.entropy_term is parts.log_prob
    b = Bernoulli(torch.full((3,), 0.25))
    parts = b.score_parts(torch.ones(3))
    assert parts.entropy_term == 0 and parts.score_function is parts.log_prob
    assert torch.allclose(parts.log_prob, torch.full((3,), math.log(0.25)))


def test_score_parts_of_plain_torch_distribution():
    d = torch.distributions.Normal(0.0, 1.0)
    parts = score_parts_of(d, torch.tensor(0.0))
    assert torch.allclose(parts.log_prob, torch.tensor(-LOG_SQRT_2PI))
    assert parts.score_function == 0


def test_to_event_independent_and_undo():
    d = Normal(torch.zeros(2, 3), 1.0)
    e = d.to_event()
    assert isinstance(e, Independent) and e.event_shape == (2, 3) and e.batch_shape == ()
    assert torch.allclose(e.log_prob(torch.zeros(2, 3)), torch.tensor(-6 * LOG_SQRT_2PI))
    assert e.to_event(-2) is d
    assert e.expand((4,)).batch_shape == (4,)
    with pytest.raises(ValueError, match="batch shape"):
        d.to_event(3)
    with pytest.raises(ValueError, match="negative"):
        d.to_event(-1)


def test_mask():
    d = Normal(torch.zeros(3), 1.0)
    m = d.mask(torch.tensor([[True], [False]]))
    assert isinstance(m, MaskedDistribution) and m.batch_shape == (2, 3)
    lp = m.log_prob(torch.zeros(3))
    assert torch.allclose(lp[0], torch.full((3,), -LOG_SQRT_2PI)) and lp[1].eq(0).all()
    assert m.has_rsample and m.sample().shape == (2, 3)
    assert d.mask(False).log_prob(torch.zeros(4, 3)).shape == (4, 3)


def test_expanded_distribution():
    base = Normal(torch.tensor([[0.0], [100.0]]), 1.0)
    d = ExpandedDistribution(base, (3, 2, 4))
    x = d.sample((2,))
    assert x.shape == (2, 3, 2, 4)
    assert (x[:, :, 1] > 50).all() and (x[:, :, 0] < 50).all()
    assert d.log_prob(x).shape == (2, 3, 2, 4)
    assert d.expand_by((5,)).batch_shape == (5, 3, 2, 4)


# ---------------------------------------------------------------------------- Delta


def test_delta():
    v = torch.tensor([1.0, 2.0])
    d = Delta(v)
    assert d.batch_shape == (2,) and d.event_shape == () and d.has_rsample
    assert torch.equal(d.sample((3,)), v.expand(3, 2))
    assert torch.equal(d.log_prob(v), torch.zeros(2))
    assert torch.equal(d.log_prob(torch.tensor([1.0, 0.0])), torch.tensor([0.0, -math.inf]))
    e = Delta(v, log_density=1.5, event_dim=1)
    assert e.batch_shape == () and e.event_shape == (2,)
    assert e.log_prob(v).item() == 1.5
    assert e.log_prob(torch.tensor([1.0, 0.0])).item() == -math.inf
    assert torch.equal(e.mean, v) and torch.equal(e.variance, torch.zeros(2))
    assert e.expand((3,)).sample().shape == (3, 2)
    with pytest.raises(ValueError, match="event_dim"):
        Delta(v, event_dim=2)


def test_delta_gradient_flows_through_rsample():
    v = torch.tensor(2.0, requires_grad=True)
    Delta(v).rsample((3,)).sum().backward()
    assert v.grad.item() == 3.0


def test_delta_integer_values():
    d = Delta(torch.tensor([1, 2]))
    assert d.log_prob(torch.tensor([1, 2])).dtype == torch.get_default_dtype()


# ----------------------------------------------------------------------------- Unit


def test_unit():
    d = Unit(torch.tensor([0.5, -1.0]))
    x = d.sample((4,))
    assert x.shape == (4, 2, 0) and d.event_shape == (0,) and d.batch_shape == (2,)
    assert torch.equal(d.log_prob(x), torch.tensor([0.5, -1.0]).expand(4, 2))
    assert not d.has_rsample
    assert Unit(0.0, has_rsample=True).has_rsample
    e = d.expand((3, 2))
    assert e.batch_shape == (3, 2) and e.log_prob(e.sample()).shape == (3, 2)


def test_broadcasts_to_only_without_enlarging():
    from pyro.primitive_distributions.util import broadcasts_to

    assert broadcasts_to((3,), (2, 3)) and broadcasts_to((1, 3), (2, 3))
    assert broadcasts_to((2, 3), (2, 3)) and broadcasts_to((), (4,))
    assert not broadcasts_to((3, 1), (3,))   # would enlarge to (3, 3)
    assert not broadcasts_to((4,), (3,))     # does not broadcast at all
