"""``Normal`` (torch's family with :class:`~pyro.distributions.fast_normal.FastNormal`
mixed in) against scipy and ``torch.distributions.Normal``: densities, broadcasting,
``expand`` / ``to_event`` shapes, draws (same values and generator consumption as torch),
gradients, and validation (same errors as torch's)."""
import math

import pytest
import torch

import pyro.distributions as dist
from pyro.distributions.fast_normal import FastNormal

scipy_stats = pytest.importorskip("scipy.stats", reason="scipy gives the reference densities")


def test_is_the_normal_of_pyro_distributions():
    assert issubclass(dist.Normal, FastNormal)
    assert issubclass(dist.Normal, torch.distributions.Normal)
    assert dist.Normal.__mro__.index(FastNormal) < dist.Normal.__mro__.index(
        torch.distributions.Normal)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_log_prob_against_scipy(dtype):
    loc = torch.tensor([-1.5, 0.0, 2.0, 30.0], dtype=dtype)
    scale = torch.tensor([0.3, 1.0, 2.5, 1e-3], dtype=dtype)
    x = torch.tensor([-1.0, 0.5, -3.0, 30.002], dtype=dtype)
    lp = dist.Normal(loc, scale).log_prob(x)
    assert lp.dtype == dtype
    expected = scipy_stats.norm.logpdf(x.double().numpy(), loc.double().numpy(),
                                       scale.double().numpy())
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    assert torch.allclose(lp.double(), torch.from_numpy(expected), rtol=tol, atol=tol)


@pytest.mark.parametrize("loc_shape,scale_shape,value_shape", [
    ((), (), ()),
    ((3,), (3,), (3,)),
    ((3, 1), (4,), (3, 4)),
    ((4,), (), (2, 4)),
    ((), (2, 3), (5, 1, 1)),
])
def test_log_prob_broadcasting_matches_torch(loc_shape, scale_shape, value_shape):
    torch.manual_seed(1)
    loc = torch.randn(loc_shape, dtype=torch.float64)
    scale = torch.rand(scale_shape, dtype=torch.float64) + 0.2
    x = torch.randn(value_shape, dtype=torch.float64)
    ours = dist.Normal(loc, scale)
    theirs = torch.distributions.Normal(loc, scale)
    assert ours.batch_shape == theirs.batch_shape
    assert ours.event_shape == theirs.event_shape == torch.Size()
    expected = theirs.log_prob(x)
    actual = ours.log_prob(x)
    assert actual.shape == expected.shape
    assert torch.allclose(actual, expected, rtol=1e-12, atol=1e-12)


def test_numbers_give_scalar_batch_and_default_dtype():
    d = dist.Normal(0.0, 1.0)
    assert d.batch_shape == torch.Size()
    assert d.loc.dtype == d.scale.dtype == torch.get_default_dtype()
    assert dist.Normal(1, 2).loc.dtype == torch.get_default_dtype()
    mixed = dist.Normal(torch.zeros(2, 3, dtype=torch.float64), 1.0)
    assert mixed.batch_shape == (2, 3) and mixed.scale.dtype == torch.float64
    assert torch.allclose(d.log_prob(torch.tensor(1.0)),
                          torch.tensor(-0.5 - 0.5 * math.log(2 * math.pi)))


def test_expand_and_to_event_shapes():
    d = dist.Normal(torch.zeros(3), torch.ones(3))
    e = d.expand((2, 3))
    assert type(e) is dist.Normal and e.batch_shape == (2, 3)
    assert e.log_prob(torch.zeros(2, 3)).shape == (2, 3)
    ind = d.to_event(1)
    assert ind.batch_shape == () and ind.event_shape == (3,)
    x = torch.tensor([0.1, -0.2, 0.3])
    expected = torch.distributions.Normal(torch.zeros(3), torch.ones(3)).log_prob(x).sum()
    assert torch.allclose(ind.log_prob(x), expected)
    assert ind.rsample((5,)).shape == (5, 3)


def test_draws_and_generator_consumption_match_torch():
    loc = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64)
    scale = torch.tensor([1.0, 0.1, 3.0], dtype=torch.float64)
    for method in ("rsample", "sample"):
        torch.manual_seed(7)
        ours = getattr(dist.Normal(loc, scale), method)((4,))
        after_ours = torch.rand(())
        torch.manual_seed(7)
        theirs = getattr(torch.distributions.Normal(loc, scale), method)((4,))
        after_theirs = torch.rand(())
        assert ours.shape == theirs.shape == (4, 3)
        assert torch.allclose(ours, theirs, rtol=1e-14, atol=1e-14)
        assert after_ours == after_theirs  # the generator is left in the same state


def test_rsample_statistics():
    torch.manual_seed(3)
    n = 40000
    x = dist.Normal(torch.tensor(2.0), torch.tensor(0.5)).rsample((n,))
    # standard errors: 0.5 / sqrt(n) = 0.0025 for the mean; ~0.0018 for the sd
    assert abs(x.mean().item() - 2.0) < 5 * 0.0025
    assert abs(x.std().item() - 0.5) < 5 * 0.0018


def test_gradients_match_torch():
    def grads(cls):
        loc = torch.tensor([0.3, -0.7], dtype=torch.float64, requires_grad=True)
        scale = torch.tensor([1.2, 0.4], dtype=torch.float64, requires_grad=True)
        x = torch.tensor([[0.1, 0.2], [1.5, -2.0]], dtype=torch.float64, requires_grad=True)
        cls(loc, scale).log_prob(x).sum().backward()
        torch.manual_seed(0)
        cls(loc, scale).rsample((3,)).pow(2).sum().backward()
        return loc.grad, scale.grad, x.grad

    for ours, theirs in zip(grads(dist.Normal), grads(torch.distributions.Normal)):
        assert torch.allclose(ours, theirs, rtol=1e-12, atol=1e-12)


def _torch_error(*args):
    with pytest.raises(ValueError) as info:
        torch.distributions.Normal(*args, validate_args=True)
    return str(info.value)


@pytest.mark.parametrize("loc,scale", [
    (torch.tensor([0.0, 1.0]), torch.tensor([1.0, -1.0])),
    (torch.tensor([0.0, float("nan")]), torch.tensor([1.0, 1.0])),
    (torch.tensor(0.0), torch.tensor(0.0)),
    (torch.tensor([1.0, 2.0]), torch.tensor([float("nan"), 1.0])),
    (0.0, -1.0),
    (float("nan"), 1.0),
])
def test_invalid_parameters_raise_torch_error(loc, scale):
    with pytest.raises(ValueError) as info:
        dist.Normal(loc, scale)
    # the same message as torch's, with the wrapper's name
    assert str(info.value) == _torch_error(loc, scale)
    dist.Normal(loc, scale, validate_args=False)  # accepted when not validating


def test_valid_edge_parameters_accepted():
    # torch's constraints: loc real (infinities allowed, NaN not), scale > 0
    d = dist.Normal(torch.tensor([float("inf"), -float("inf")]), torch.tensor([1.0, 2.0]))
    assert d.batch_shape == (2,)
    dist.Normal(torch.tensor(0.0), torch.tensor(float("inf")))
    dist.Normal(torch.zeros(2, 1), torch.full((3,), 1e-30))


def test_value_validation():
    d = dist.Normal(torch.zeros(3), torch.ones(3))
    with pytest.raises(ValueError, match="support"):
        d.log_prob(torch.tensor([0.0, float("nan"), 1.0]))
    with pytest.raises(ValueError, match="broadcastable"):
        d.log_prob(torch.zeros(2))


def test_devices_follow_parameters():
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for device in devices:
        d = dist.Normal(torch.zeros(2, device=device), torch.ones(2, device=device))
        assert d.rsample().device.type == device
        assert d.log_prob(torch.zeros(2, device=device)).device.type == device


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_number_parameters_are_torch_tensors_of_default_dtype(dtype):
    old = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        for loc, scale in [(0.1, 0.7), (-3, 2), (1e-40, 3.3e38)]:
            d = dist.Normal(loc, scale)
            ref = torch.distributions.Normal(loc, scale)
            assert d.loc.dtype == d.scale.dtype == dtype
            assert torch.equal(d.loc, ref.loc) and torch.equal(d.scale, ref.scale)
            assert d.loc.shape == d.scale.shape == ()
    finally:
        torch.set_default_dtype(old)


def test_validated_construction_under_vmap():
    # the parameter check must not turn a batched tensor into a Python bool
    locs = torch.tensor([[0.0, 1.0], [2.0, -1.0], [0.5, 0.5]])

    def log_density(loc):
        return dist.Normal(loc, torch.ones(2)).log_prob(torch.zeros(2)).sum()

    batched = torch.func.vmap(log_density)(locs)
    expected = torch.distributions.Normal(locs, 1.0).log_prob(torch.zeros(2)).sum(-1)
    assert torch.allclose(batched, expected)
