"""The cheap parameter check of :class:`~pyro.distributions.fast_normal.FastNormal`
(host reads of CPU tensors: ``min(scale) > 0``, ``sum(loc)`` not NaN) accepts exactly
what torch's ``Normal`` accepts and raises torch's error otherwise, for every floating
dtype, edge value, shape and under ``torch.func.vmap``; its draws equal torch's."""
import math

import pytest
import torch

import pyro.distributions as dist

INF, NAN = math.inf, math.nan
DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64]

# (loc values, scale values): each a list (a tensor of that many entries)
CASES = [
    ([0.0], [1.0]),
    ([NAN], [1.0]),
    ([0.0], [NAN]),
    ([0.0], [0.0]),
    ([0.0], [-0.0]),
    ([0.0], [-1.0]),
    ([INF], [1.0]),
    ([-INF], [1.0]),
    ([0.0], [INF]),
    ([0.0], [1e-40]),  # subnormal in float32 (0 in float16 / bfloat16: invalid there)
    ([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]),
    ([1.0, NAN, 3.0], [1.0, 2.0, 3.0]),
    ([1.0, 2.0, 3.0], [1.0, 0.0, 3.0]),
    ([1.0, 2.0, 3.0], [1.0, NAN, 3.0]),
    ([INF, -INF, 0.0], [1.0, 1.0, 1.0]),  # sum NaN, yet valid: torch's check decides
    ([3e38, 3e38, -3e38, -3e38], [1.0] * 4),
    ([1.0] * 200 + [NAN], [0.5] * 201),
    ([0.0] * 201, [0.5] * 200 + [-0.5]),
]


def _torch_outcome(loc, scale):
    try:
        torch.distributions.Normal(loc, scale, validate_args=True)
    except ValueError as e:
        return str(e)
    return None


def _our_outcome(loc, scale):
    try:
        d = dist.Normal(loc, scale, validate_args=True)
    except ValueError as e:
        return str(e)
    assert d.loc is not None
    return None


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("loc_values, scale_values", CASES)
def test_accepts_and_rejects_as_torch(dtype, loc_values, scale_values):
    loc = torch.tensor(loc_values, dtype=dtype)
    scale = torch.tensor(scale_values, dtype=dtype)
    expected = _torch_outcome(loc, scale)
    assert _our_outcome(loc, scale) == expected
    if len(loc_values) == 1:  # 0-dim tensors, and with gradients
        l0, s0 = loc.reshape(()), scale.reshape(())
        assert _our_outcome(l0, s0) == _torch_outcome(l0, s0)
        lg, sg = l0.clone().requires_grad_(), s0.clone().requires_grad_()
        assert _our_outcome(lg, sg) == _torch_outcome(lg, sg)


@pytest.mark.parametrize("loc_shape, scale_shape", [((3, 1), (4,)), ((), (5,)), ((2,), ()),
                                                    ((0,), (0,)), ((0, 3), (3,))])
def test_broadcast_and_empty_parameters(loc_shape, scale_shape):
    torch.manual_seed(0)
    loc = torch.randn(loc_shape)
    scale = torch.rand(scale_shape) + 0.1
    assert _our_outcome(loc, scale) is None
    d = dist.Normal(loc, scale)
    assert d.batch_shape == torch.distributions.Normal(loc, scale).batch_shape
    if scale.numel():
        bad = scale.clone()
        bad.view(-1)[-1] = -1.0
        # (torch checks the broadcast parameters: nothing is invalid in an empty batch)
        expected = _torch_outcome(loc, bad)
        assert (expected is None) == (d.batch_shape.numel() == 0)
        assert _our_outcome(loc, bad) == expected


def test_no_graph_is_recorded_and_gradients_flow():
    loc = torch.randn(4, 3, requires_grad=True)
    scale = (torch.rand(4, 3) + 0.5).requires_grad_()
    d = dist.Normal(loc, scale)
    assert d.loc is loc and d.scale is scale  # no copies, no reduction nodes attached
    x = torch.randn(4, 3)
    d.log_prob(x).sum().backward()
    ref_loc, ref_scale = loc.detach().requires_grad_(), scale.detach().requires_grad_()
    torch.distributions.Normal(ref_loc, ref_scale).log_prob(x).sum().backward()
    assert torch.allclose(loc.grad, ref_loc.grad) and torch.allclose(scale.grad, ref_scale.grad)
    assert torch.is_grad_enabled()


def test_under_vmap_the_tensor_check_is_used():
    func = pytest.importorskip("torch.func", reason="torch.func gives vmap")
    locs = torch.randn(5, 3)
    scales = torch.rand(5, 3) + 0.1
    x = torch.randn(3)

    def lp(loc, scale):
        return dist.Normal(loc, scale, validate_args=True).log_prob(x).sum()

    got = func.vmap(lp)(locs, scales)
    expected = torch.distributions.Normal(locs, scales).log_prob(x).sum(-1)
    assert torch.allclose(got, expected)


def test_validation_off_skips_every_check():
    d = dist.Normal(torch.tensor([NAN]), torch.tensor([-1.0]), validate_args=False)
    assert d.batch_shape == (1,)


@pytest.mark.parametrize("sample_shape", [(), (4,), (2, 3)])
@pytest.mark.parametrize("batch", [(), (3,), (2, 1)])
def test_rsample_draws_and_generator_state_equal_torchs(sample_shape, batch):
    loc = torch.full(batch, 0.5, dtype=torch.float64)
    scale = torch.full(batch, 2.0, dtype=torch.float64)
    torch.manual_seed(11)
    ours = dist.Normal(loc, scale).rsample(sample_shape)
    after_ours = torch.rand(())
    torch.manual_seed(11)
    theirs = torch.distributions.Normal(loc, scale).rsample(sample_shape)
    after_theirs = torch.rand(())
    assert ours.shape == theirs.shape
    assert torch.equal(ours, theirs)
    assert after_ours == after_theirs


def test_rsample_under_jit_trace_draws_through_torchs_helper():
    """Under a tracer the draw goes through torch's ``_standard_normal`` (which avoids
    ``normal_``), so the traced function draws afresh at each call."""
    loc, scale = torch.zeros(3), torch.ones(3)

    def draw(loc, scale):
        return dist.Normal(loc, scale, validate_args=False).rsample()

    traced = torch.jit.trace(draw, (loc, scale), check_trace=False)
    a, b = traced(loc, scale), traced(loc, scale)
    assert a.shape == b.shape == (3,)
    assert torch.isfinite(a).all() and not torch.equal(a, b)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_log_prob_constant_operand_gives_the_bits_of_the_number(dtype):
    """The constant -log(2 pi)/2 as a cached 0-dim operand: the bits, dtype and gradients
    of ``torch.rsub`` with the Python number."""
    torch.manual_seed(0)
    loc = torch.randn(6, dtype=dtype).requires_grad_()
    scale = (torch.rand(6, dtype=dtype) + 0.1).requires_grad_()
    x = torch.randn(6, dtype=dtype)
    got = dist.Normal(loc, scale).log_prob(x)
    z = (x - loc) / scale
    expected = torch.rsub(torch.addcmul(scale.log(), z, z, value=0.5),
                          -0.5 * math.log(2 * math.pi))
    assert got.dtype == expected.dtype == dtype
    assert torch.equal(got, expected)
    g1 = torch.autograd.grad(got.sum(), (loc, scale))
    g2 = torch.autograd.grad(expected.sum(), (loc, scale))
    assert all(torch.equal(a, b) for a, b in zip(g1, g2))
