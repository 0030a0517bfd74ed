"""pyro.ops.ssm_gp.MaternKernel: the state space model reproduces the Matern covariance."""
import math

import pytest
import torch

import pyro
from pyro.ops.ssm_gp import MaternKernel


def matern(nu, r, length_scale, kernel_scale):
    s = math.sqrt(2 * nu) * r / length_scale
    poly = {0.5: 1.0, 1.5: 1 + s, 2.5: 1 + s + s**2 / 3}[nu]
    return kernel_scale**2 * poly * torch.exp(-s)


@pytest.mark.parametrize("nu", [0.5, 1.5, 2.5])
def test_state_space_covariance_is_matern(nu):
    length_scale = torch.tensor([0.7, 2.0], dtype=torch.float64)
    kernel_scale = torch.tensor([1.5, 0.4], dtype=torch.float64)
    kernel = MaternKernel(nu, 2, length_scale, kernel_scale)
    P = kernel.stationary_covariance()
    assert P.shape == (2, kernel.state_dim, kernel.state_dim)
    for dt in [0.0, 0.1, 0.5, 2.3]:
        A, Q = kernel.transition_matrix_and_covariance(dt)
        # new = old @ A: Cov(new_0, old_0) = (A^T P)[0, 0] is the kernel at lag dt
        cross = (A.mT @ P)[:, 0, 0]
        torch.testing.assert_close(cross, matern(nu, dt, length_scale, kernel_scale))
        # stationarity: the covariance of new equals P
        torch.testing.assert_close(A.mT @ P @ A + Q, P)
        assert (torch.linalg.eigvalsh(Q) > -1e-9).all()


@pytest.mark.parametrize("nu", [0.5, 1.5, 2.5])
def test_stationary_covariance_solves_lyapunov(nu):
    kernel = MaternKernel(nu, 1, torch.tensor([1.3]).double(), torch.tensor([0.8]).double())
    F = kernel._drift()
    P = kernel.stationary_covariance()
    residual = F @ P + P @ F.mT
    # only the white-noise entry L q L^T (bottom right) is nonzero
    residual[..., -1, -1] = 0
    torch.testing.assert_close(residual, torch.zeros_like(residual))


def test_parameters_are_learnable_and_positive():
    kernel = MaternKernel(nu=1.5, num_gps=3)
    names = {n for n, _ in kernel.named_parameters()}
    assert names == {"length_scale_unconstrained", "kernel_scale_unconstrained"}
    torch.testing.assert_close(kernel.length_scale.detach(), torch.ones(3))
    A = kernel.transition_matrix(torch.tensor(0.5))
    A.sum().backward()
    assert kernel.length_scale_unconstrained.grad is not None


def test_errors_and_namespace():
    with pytest.raises(ValueError, match="nu"):
        MaternKernel(nu=2.0)
    with pytest.raises(ValueError, match="shape"):
        MaternKernel(num_gps=2, length_scale_init=torch.ones(3))
    # pyro-nn's portion of the pyro.ops namespace is reachable from pyro.ops
    assert pyro.ops.ssm_gp.MaternKernel is MaternKernel
    assert pyro.ops.tensor_utils.dct is not None
