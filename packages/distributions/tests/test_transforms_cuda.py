"""Every flow runs on CUDA: module parameters and the tensors the flows make follow the
inputs' device (skipped without a GPU)."""
import pytest
import torch

import pyro.distributions.transforms as T

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
pytest.importorskip("pyro.nn", reason="the flow helpers build pyro.nn networks")

D, C = 3, 2
FLOWS = [
    lambda: T.planar(D), lambda: T.radial(D), lambda: T.householder(D), lambda: T.sylvester(D),
    lambda: T.matrix_exponential(D), lambda: T.spline(D), lambda: T.spline_autoregressive(D),
    lambda: T.spline_coupling(D), lambda: T.affine_coupling(D), lambda: T.polynomial(D),
    lambda: T.affine_autoregressive(D), lambda: T.neural_autoregressive(D),
    lambda: T.block_autoregressive(D), lambda: T.batchnorm(D).eval(),
    lambda: T.DiscreteCosineTransform(smooth=1.0), lambda: T.HaarTransform(),
    lambda: T.ELUTransform(), lambda: T.LeakyReLUTransform(),
]
CONDITIONAL = [
    lambda: T.conditional_planar(D, C), lambda: T.conditional_radial(D, C),
    lambda: T.conditional_householder(D, C), lambda: T.conditional_matrix_exponential(D, C),
    lambda: T.conditional_spline(D, C), lambda: T.conditional_spline_autoregressive(D, C),
    lambda: T.conditional_affine_coupling(D, C), lambda: T.conditional_affine_autoregressive(D, C),
    lambda: T.conditional_neural_autoregressive(D, C),
]


def _check(t, x):
    y = t(x)
    assert y.device == x.device
    assert t.log_abs_det_jacobian(x, y).device == x.device
    assert torch.allclose(t._inverse(y.clone()), x, atol=1e-4)


@pytest.mark.parametrize("make", FLOWS)
def test_flow_on_cuda(make):
    t = make()
    if isinstance(t, torch.nn.Module):
        t = t.cuda()
    _check(t, torch.randn(5, D, device="cuda"))


@pytest.mark.parametrize("make", CONDITIONAL)
def test_conditional_flow_on_cuda(make):
    cond = make().cuda()
    _check(cond.condition(torch.randn(C, device="cuda")), torch.randn(5, D, device="cuda"))


def test_channel_permute_on_cuda():
    t = T.generalized_channel_permute(channels=3).cuda()
    _check(t, torch.randn(2, 3, 4, 4, device="cuda"))
    cond = T.conditional_generalized_channel_permute(C, channels=3).cuda()
    _check(cond.condition(torch.randn(C, device="cuda")), torch.randn(3, 4, 4, device="cuda"))
