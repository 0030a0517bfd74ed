"""SVGD on Gaussian targets (particle mean and covariance vs the exact ones, both kernels,
both modes), a constrained Gamma target (log-Jacobian of the unconstrained space), and the
Stein kernels' gradients against autograd."""
import pytest
import torch

import pyro
import pyro.distributions as dist
from pyro.infer.svgd import SVGD, IMQSteinKernel, RBFSteinKernel, SteinKernel

Adam = pytest.importorskip("pyro.optim", reason="training needs pyro-optim").Adam

MU = torch.tensor([1.0, -1.0])
COV = torch.tensor([[1.0, 0.6], [0.6, 2.0]])


def gaussian_model():
    # (z1, z2) ~ N(MU, COV) written as a chain of univariate Normals
    z1 = pyro.sample("z1", dist.Normal(MU[0], 1.0))
    slope = COV[0, 1] / COV[0, 0]
    cond_var = COV[1, 1] - COV[0, 1] ** 2 / COV[0, 0]
    pyro.sample("z2", dist.Normal(MU[1] + slope * (z1 - MU[0]), cond_var.sqrt()))


@pytest.mark.parametrize("kernel", [RBFSteinKernel, IMQSteinKernel])
@pytest.mark.parametrize("mode", ["univariate", "multivariate"])
def test_gaussian_target(kernel, mode):
    pyro.set_rng_seed(0)
    svgd = SVGD(gaussian_model, kernel(), Adam({"lr": 0.1}), num_particles=60,
                max_plate_nesting=0, mode=mode)
    for _ in range(250):
        sq = svgd.step()
    assert set(sq) == {"z1", "z2"}
    particles = svgd.get_named_particles()
    z = torch.stack([particles["z1"], particles["z2"]], -1)
    assert z.shape == (60, 2)
    # SVGD's fixed point is deterministic given the start; 60 particles pin the mean
    # to ~0.05 sd and the covariance to ~15%
    assert torch.allclose(z.mean(0), MU, atol=0.15)
    cov = torch.cov(z.T)
    assert torch.allclose(cov, COV, atol=0.3, rtol=0.2)


def test_constrained_target_uses_unconstrained_density():
    # Gamma(3, 1): mean 3, variance 3 (without the log-Jacobian the particles would sit
    # around the mode of p(exp(u)), mean 2)
    def model():
        pyro.sample("r", dist.Gamma(3.0, 1.0))

    pyro.set_rng_seed(0)
    svgd = SVGD(model, RBFSteinKernel(), Adam({"lr": 0.05}), num_particles=80,
                max_plate_nesting=0)
    for _ in range(400):
        svgd.step()
    r = svgd.get_named_particles()["r"]
    assert (r > 0).all()
    assert r.mean().item() == pytest.approx(3.0, abs=0.3)
    assert r.var().item() == pytest.approx(3.0, rel=0.35)


@pytest.mark.parametrize("kernel", [RBFSteinKernel(bandwidth_factor=0.7), IMQSteinKernel()])
@pytest.mark.parametrize("mode", ["univariate", "multivariate"])
def test_kernel_gradients_match_autograd(kernel, mode):
    kernel.mode = mode
    x = torch.randn(5, 3)
    log_k, grad = kernel.log_kernel_and_grad(x)
    assert log_k.shape == ((5, 5, 3) if mode == "univariate" else (5, 5))
    assert grad.shape == (5, 5, 3)
    # differentiate log K(x_n, x_m) in x_m with the bandwidth held fixed
    for n in range(5):
        for m in range(5):
            if n == m:
                continue
            xm = x[m].clone().requires_grad_()
            full = torch.cat([x[:m], xm.unsqueeze(0), x[m + 1:]])
            lk = _log_kernel_fixed_h(kernel, x, full, n, m)
            if mode == "univariate":
                expect = torch.stack([torch.autograd.grad(lk[d], xm, retain_graph=True)[0][d]
                                      for d in range(3)])
            else:
                expect = torch.autograd.grad(lk, xm)[0]
            assert torch.allclose(grad[n, m], expect, atol=1e-5)


def _log_kernel_fixed_h(kernel, x, full, n, m):
    from pyro.infer.svgd import _median_bandwidth

    sq0 = (x.unsqueeze(1) - x.unsqueeze(0)) ** 2
    univariate = kernel.mode == "univariate"
    h = kernel.bandwidth_factor * _median_bandwidth(sq0, per_dim=univariate)
    sq = (full[n] - full[m]) ** 2
    d2 = sq / h if univariate else sq.sum() / h
    if isinstance(kernel, RBFSteinKernel):
        return -d2
    return kernel.beta * torch.log(kernel.alpha + d2)


def test_validation():
    with pytest.raises(ValueError, match="mode"):
        SVGD(gaussian_model, RBFSteinKernel(), Adam({}), 10, 0, mode="joint")
    with pytest.raises(ValueError, match="SteinKernel"):
        SVGD(gaussian_model, lambda x: x, Adam({}), 10, 0)
    with pytest.raises(ValueError, match="beta"):
        IMQSteinKernel(beta=0.5)
    assert issubclass(RBFSteinKernel, SteinKernel)

    def discrete():
        pyro.sample("k", dist.Bernoulli(0.5))

    with pytest.raises(ValueError, match="'k'"):
        SVGD(discrete, RBFSteinKernel(), Adam({}), 4, 0).step()
