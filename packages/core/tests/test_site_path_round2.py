"""Sample-site shortcuts of the core: the observed-shape check without
torch.broadcast_shapes, support_key of Independent without building its constraint,
enumerated values recorded as their distribution's own draws (their check skipped only
for torch families)."""
import pytest
import torch
import torch.distributions as td

import pyro
from pyro import poutine
from pyro.poutine.broadcast_messenger import check_obs_shape
from pyro.poutine.runtime import is_own_draw
from pyro.poutine.trace_struct import support_key
from pyro.primitive_distributions.torch_distribution import Independent


def _msg(value, fn):
    return {"name": "x", "value": value, "is_observed": True, "fn": fn}


@pytest.mark.parametrize("value_shape,batch_shape", [
    ((3,), (3,)), ((3,), (2, 3)), ((1,), (4,)), ((4, 1), (4,)), ((2, 1, 3), (5, 1)),
    ((3,), (4,)), ((2, 3), (3, 3)), ((0,), (1,)), ((0,), (3,)), ((), (2,)),
])
def test_obs_shape_check_follows_broadcast_shapes(value_shape, batch_shape):
    fn = td.Normal(torch.zeros(batch_shape), 1.0)
    msg = _msg(torch.zeros(value_shape), fn)
    try:
        torch.broadcast_shapes(torch.Size(value_shape), torch.Size(batch_shape))
        ok = True
    except RuntimeError:
        ok = False
    if ok:
        check_obs_shape(msg)
    else:
        with pytest.raises(ValueError, match=r"Observed value of shape .* at site 'x'"):
            check_obs_shape(msg)


def test_support_key_of_independent_unfolds_layers():
    base = td.Normal(torch.zeros(2, 3, 4), 1.0)
    one = Independent(base, 1)
    two = Independent(one, 1)
    torch_two = td.Independent(td.Independent(base, 1), 1)
    assert support_key(one) == (td.constraints.real, 1)
    assert support_key(two) == support_key(torch_two) == (td.constraints.real, 2)
    assert support_key(Independent(base, 0)) is td.constraints.real
    # what the support itself unfolds to
    c = two.support
    assert (c.base_constraint.base_constraint, c.reinterpreted_batch_ndims
            + c.base_constraint.reinterpreted_batch_ndims) == support_key(two)

    class Positive(Independent):
        @property
        def support(self):
            return td.constraints.positive

    assert support_key(Positive(base, 1)) is td.constraints.positive  # a subclass is asked


def _enum_model():
    probs = torch.tensor([0.2, 0.3, 0.5])
    with pyro.plate("data", 4):
        pyro.sample("c", td.Categorical(probs), infer={"enumerate": "parallel"})


def test_enumerated_value_is_own_draw_of_torch_families():
    tr = poutine.trace(poutine.enum(_enum_model, first_available_dim=-2)).get_trace()
    site = tr.nodes["c"]
    assert site["value"].shape == (3, 1)
    assert is_own_draw(site["fn"], site["value"])
    lp = tr.nodes["c"]["fn"].log_prob(site["value"])
    tr.compute_log_prob()
    assert torch.equal(site["unscaled_log_prob"], lp)
    site["value"].add_(0)  # in-place change: no longer the own draw
    assert not is_own_draw(site["fn"], site["value"])


def test_enumerated_value_of_custom_support_is_checked():
    class Bad(td.Categorical):
        def enumerate_support(self, expand=True):
            return torch.arange(5.0).reshape((5,) + (1,) * len(self.batch_shape))

    def model():
        pyro.sample("c", Bad(torch.ones(3) / 3, validate_args=True),
                    infer={"enumerate": "parallel"})

    tr = poutine.trace(poutine.enum(model, first_available_dim=-1)).get_trace()
    assert not is_own_draw(tr.nodes["c"]["fn"], tr.nodes["c"]["value"])
    with pytest.raises(ValueError, match="site 'c'"):
        tr.compute_log_prob()


def test_log_prob_unvalidated_restores_the_flag():
    from pyro.poutine.trace_struct import _log_prob_unvalidated

    fn = td.Normal(torch.zeros(3), 1.0, validate_args=True)
    x = torch.tensor([NAN_, 0.0, 1.0])
    lp = _log_prob_unvalidated(fn, x, (), {})  # no check: NaN scored as torch scores it
    assert torch.isnan(lp[0]) and fn._validate_args is True
    with pytest.raises(ValueError):
        fn.log_prob(x)

    class Boom(td.Normal):
        def log_prob(self, value):
            raise RuntimeError("boom")

    bad = Boom(torch.zeros(3), 1.0, validate_args=True)
    with pytest.raises(RuntimeError):
        _log_prob_unvalidated(bad, x, (), {})
    assert bad._validate_args is True
    off = td.Normal(torch.zeros(3), 1.0, validate_args=False)
    _log_prob_unvalidated(off, x, (), {})
    assert off._validate_args is False


NAN_ = float("nan")


# ------------------------------------------------------------ scalar operands

@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("value", [1.0, 0.0, 50.0, 0.1, -1.0 / 3])
def test_scalar_operand_same_bits_and_gradients(dtype, value):
    from pyro.primitive_distributions.util import scalar_operand

    torch.manual_seed(0)
    for shape in [(), (7,), (3, 4)]:
        x = (torch.randn(shape, dtype=dtype) * 1e3).requires_grad_()
        t = scalar_operand(value, x)
        assert type(t) is torch.Tensor and t.dtype == dtype and t.dim() == 0
        for ours, ref in [(x - t, x - value), (torch.sub(t, x), torch.rsub(x, value)),
                          (x * t, x * value)]:
            assert ours.dtype == ref.dtype and ours.shape == ref.shape
            assert torch.equal(ours, ref)
            g1, = torch.autograd.grad(ours.sum(), x)
            g2, = torch.autograd.grad(ref.sum(), x)
            assert torch.equal(g1, g2)
        assert scalar_operand(value, x) is t  # cached


def test_scalar_operand_falls_back_to_the_number():
    from pyro.primitive_distributions.util import scalar_operand

    assert scalar_operand(1.0, torch.ones(2, dtype=torch.float16)) == 1.0
    assert scalar_operand(1.0, torch.ones(2, dtype=torch.bfloat16)) == 1.0
    assert scalar_operand(1.0, torch.ones(2, dtype=torch.int64)) == 1.0
    with torch.inference_mode():
        assert scalar_operand(1.0, torch.ones(2)) == 1.0

    def f(x):
        assert scalar_operand(2.0, x) == 2.0
        return x * 2.0

    torch.jit.trace(f, torch.ones(2))


def test_scale_and_mask_by_a_float_scale_same_bits():
    from pyro.primitive_distributions.util import scale_and_mask

    torch.manual_seed(1)
    x = torch.randn(1000, requires_grad=True)
    ours = scale_and_mask(x, 50.0)
    ref = x * 50.0
    assert torch.equal(ours, ref)
    assert torch.equal(torch.autograd.grad(ours.sum(), x)[0], torch.autograd.grad(ref.sum(), x)[0])
    assert scale_and_mask(x, 1.0) is x
    half = torch.randn(5).half()
    assert torch.equal(scale_and_mask(half, 0.1), half * 0.1)
