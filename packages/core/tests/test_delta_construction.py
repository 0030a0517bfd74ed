"""Delta's construction and draws: a number log_density is checked without a tensor op
(validation stays on by default and still rejects NaN with torch's message), draws keep
their shapes, gradients and values."""
import pytest
import torch
from torch.distributions import Distribution

from pyro.primitive_distributions.delta import Delta


def test_number_log_density_validation_follows_the_default():
    v = torch.zeros(2, 3)
    d = Delta(v, event_dim=1)
    assert "_validate_args" not in vars(d)  # the global default applies, as in torch
    assert d._validate_args == Distribution._validate_args
    assert Delta(v, validate_args=False)._validate_args is False
    assert Delta(v, validate_args=True)._validate_args is True
    assert torch.equal(d.log_density, torch.zeros(2))
    assert d.batch_shape == (2,) and d.event_shape == (3,)


@pytest.mark.parametrize("log_density", [float("nan"), torch.tensor(float("nan"))])
def test_nan_log_density_raises(log_density):
    with pytest.raises(ValueError, match="log_density.*Real"):
        Delta(torch.zeros(3), log_density=log_density)
    Delta(torch.zeros(3), log_density=log_density, validate_args=False)


def test_log_density_number_and_int_values():
    d = Delta(torch.tensor([1, 2]), log_density=-1.5)
    assert d.log_density.dtype == torch.get_default_dtype()
    assert torch.equal(d.log_prob(torch.tensor([1, 3])), torch.tensor([-1.5, -float("inf")]))


def test_rsample_returns_the_point_with_its_graph():
    v = torch.tensor([0.5, -1.0], requires_grad=True)
    d = Delta(v)
    x = d.rsample()
    assert x is v  # a draw with no sample shape is the point itself (no view)
    draws = d.rsample((3,))
    assert draws.shape == (3, 2)
    draws.sum().backward()
    assert torch.equal(v.grad, torch.full((2,), 3.0))
    assert d.sample((2,)).shape == (2, 2)
    assert torch.equal(d.sample(), v.detach())
    assert torch.equal(d.log_prob(x), torch.zeros(2))


def test_number_log_density_read_expand_copy():
    import copy
    import pickle

    v = torch.zeros(2, 3, dtype=torch.float64)
    d = Delta(v, log_density=2.0, event_dim=1)
    assert "log_density" not in vars(d)  # made only when read
    lp = d.log_prob(torch.tensor([[0.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype=torch.float64))
    assert torch.equal(lp, torch.tensor([2.0, -float("inf")], dtype=torch.float64))
    for other in (copy.deepcopy(d), pickle.loads(pickle.dumps(d))):
        assert torch.equal(other.log_prob(v), torch.full((2,), 2.0, dtype=torch.float64))
    e = d.expand((4, 2))
    assert e.batch_shape == (4, 2) and e.log_density.shape == (4, 2)
    assert torch.equal(e.log_prob(v), torch.full((4, 2), 2.0, dtype=torch.float64))
    assert torch.equal(d.log_density, torch.full((2,), 2.0, dtype=torch.float64))
    # a tensor log_density is added as given (with its gradient)
    ld = torch.tensor([0.5, -0.5], requires_grad=True)
    t = Delta(torch.zeros(2, 3), log_density=ld, event_dim=1)
    t.log_prob(torch.zeros(2, 3)).sum().backward()
    assert torch.equal(ld.grad, torch.ones(2))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.int64])
@pytest.mark.parametrize("event_dim", [0, 1, 2])
def test_log_prob_is_log_of_indicator_summed_over_event(dtype, event_dim):
    torch.manual_seed(0)
    v = torch.randint(0, 2, (3, 2, 2)).to(dtype)
    d = Delta(v, event_dim=event_dim)
    values = torch.randint(0, 2, (4, 3, 2, 2)).to(dtype)
    values[0] = v  # one sample agrees everywhere
    lp = d.log_prob(values)
    # the definition: the log of the indicator, summed over the event dims
    ind = (values == v).to(dtype if dtype.is_floating_point else torch.get_default_dtype())
    expected = ind.log()
    if event_dim:
        expected = expected.sum(tuple(range(-event_dim, 0)))
    assert lp.dtype == expected.dtype
    assert lp.shape == expected.shape == (4,) + v.shape[:3 - event_dim]
    assert torch.equal(lp, expected)
    assert torch.equal(lp[0], torch.zeros_like(lp[0]))
    # an empty event agrees trivially
    empty = Delta(torch.zeros(2, 0, dtype=torch.float64), event_dim=1)
    assert torch.equal(empty.log_prob(torch.zeros(2, 0, dtype=torch.float64)),
                       torch.zeros(2, dtype=torch.float64))
