"""DCTAdam: ClippedAdam on plain parameters; on time series parameters Adam in the time
domain plus Adam in the DCT domain, checked against a hand computation with scipy's DCT."""
import math

import numpy as np
import pytest
import torch

import pyro.optim
from pyro.optim.clipped_adam import ClippedAdam
from pyro.optim.dct_adam import DCTAdam

scipy_fft = pytest.importorskip("scipy.fft", reason="scipy gives the reference DCT")


def adam_directions(grads, betas=(0.9, 0.999), eps=1e-8):
    m = v = 0
    for t, g in enumerate(grads, start=1):
        m = betas[0] * m + (1 - betas[0]) * g
        v = betas[1] * v + (1 - betas[1]) * g * g
        yield (m / (1 - betas[0] ** t)) / (np.sqrt(v / (1 - betas[1] ** t)) + eps)


def test_plain_parameter_is_clipped_adam():
    x1 = torch.tensor([1.0, -2.0, 3.0], requires_grad=True)
    x2 = x1.detach().clone().requires_grad_()
    a, b = DCTAdam([x1], lr=0.1, clip_norm=5.0), ClippedAdam([x2], lr=0.1, clip_norm=5.0)
    for _ in range(4):
        g = torch.randn(3) * 4
        x1.grad, x2.grad = g.clone(), g.clone()
        a.step()
        b.step()
    torch.testing.assert_close(x1, x2)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_time_series_parameter_matches_hand_computation(dim):
    x = torch.randn(5, 6, dtype=torch.float64, requires_grad=True)
    x._pyro_dct_dim = dim
    lr = 0.05
    grads = [torch.randn(5, 6, dtype=torch.float64) for _ in range(4)]
    opt = DCTAdam([x], lr=lr, clip_norm=math.inf)
    expected = x.detach().numpy().copy()
    axis = dim % 2
    time_dirs = adam_directions([g.numpy() for g in grads])
    freq_dirs = adam_directions([scipy_fft.dct(g.numpy(), norm="ortho", axis=axis) for g in grads])
    for g, d_time, d_freq in zip(grads, time_dirs, freq_dirs):
        x.grad = g.clone()
        opt.step()
        expected = expected - lr * (d_time + scipy_fft.idct(d_freq, norm="ortho", axis=axis))
        np.testing.assert_allclose(x.detach().numpy(), expected, atol=1e-10)
    assert opt.state[x]["exp_avg"].shape[axis] == 2 * x.shape[axis]


def test_subsample_aware_updates_only_the_subsample():
    x = torch.randn(4, 3, requires_grad=True)
    x._pyro_dct_dim = -1
    before = x.detach().clone()
    opt = DCTAdam([x], lr=0.1, subsample_aware=True)
    x._pyro_subsample = {0: torch.tensor([1, 3])}
    x.grad = torch.randn(4, 3)
    opt.step()
    torch.testing.assert_close(x[[0, 2]].detach(), before[[0, 2]])
    assert (x[[1, 3]].detach() != before[[1, 3]]).all()
    state = opt.state[x]
    assert state["step"][[1, 3]].eq(1).all() and state["step"][[0, 2]].eq(0).all()
    # rows seen for the first time later start their own bias correction: the first move of
    # row 0 is the same as a fresh optimizer's first move
    x._pyro_subsample = {0: torch.tensor([0])}
    g = torch.randn(4, 3)
    x.grad = g.clone()
    row0 = x[0].detach().clone()
    opt.step()
    fresh = row0.clone().unsqueeze(0).requires_grad_()
    fresh._pyro_dct_dim = -1
    other = DCTAdam([fresh], lr=0.1)
    fresh.grad = g[:1].clone() * (10.0 / g.norm()).clamp(max=1.0)
    other.step()
    torch.testing.assert_close(x[0].detach(), fresh[0].detach(), atol=1e-6, rtol=0)


def test_wrapper_and_lrd():
    assert isinstance(pyro.optim.DCTAdam({"lr": 0.01, "lrd": 0.5}), pyro.optim.PyroOptim)
    assert pyro.optim.DCTAdam.optim_constructor is DCTAdam
    x = torch.zeros(3, requires_grad=True)
    opt = DCTAdam([x], lr=0.1, lrd=0.5)
    x.grad = torch.ones(3)
    opt.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.05)
