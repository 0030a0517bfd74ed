"""pyro.ops.gaussian against dense multivariate-normal algebra and 1-D quadrature."""

import math

import pytest
import torch
from torch.distributions import Independent, MultivariateNormal, Normal

from pyro.ops.gaussian import (
    AffineNormal,
    Gaussian,
    gaussian_tensordot,
    matrix_and_gaussian_to_gaussian,
    matrix_and_mvn_to_gaussian,
    mvn_to_gaussian,
    sequential_gaussian_filter_sample,
    sequential_gaussian_tensordot,
)

D = torch.float64


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def random_mvn(n, batch=()):
    A = torch.randn(batch + (n, n), dtype=D)
    cov = A @ A.mT + torch.eye(n, dtype=D)
    return MultivariateNormal(torch.randn(batch + (n,), dtype=D), cov)


def random_gaussian(n, batch=()):
    """A non-normalized factor with a positive-definite precision."""
    g = mvn_to_gaussian(random_mvn(n, batch))
    return g + torch.randn(batch, dtype=D)


def dense_log_density(g, x):
    P, eta, c = g.precision, g.info_vec, g.log_normalizer
    return c + (x * eta).sum(-1) - 0.5 * (x.unsqueeze(-2) @ P @ x.unsqueeze(-1))[..., 0, 0]


@pytest.mark.parametrize("batch", [(), (3,), (2, 3)])
def test_mvn_to_gaussian_log_density(batch):
    mvn = random_mvn(4, batch)
    g = mvn_to_gaussian(mvn)
    x = torch.randn((5,) + batch + (4,), dtype=D)
    assert g.batch_shape == batch
    torch.testing.assert_close(g.log_density(x), mvn.log_prob(x))
    torch.testing.assert_close(g.event_logsumexp(), torch.zeros(batch, dtype=D))


def test_mvn_to_gaussian_diagonal_normal():
    loc, scale = torch.randn(3, dtype=D), torch.rand(3, dtype=D) + 0.5
    d = Independent(Normal(loc, scale), 1)
    x = torch.randn(3, dtype=D)
    torch.testing.assert_close(mvn_to_gaussian(d).log_density(x), d.log_prob(x))


def test_marginalize_matches_dense_block():
    mvn = random_mvn(5)
    g = mvn_to_gaussian(mvn) + 0.7
    x = torch.randn(10, 2, dtype=D)
    sub = MultivariateNormal(mvn.loc[1:3], mvn.covariance_matrix[1:3, 1:3])
    torch.testing.assert_close(g.marginalize(left=1, right=2).log_density(x), sub.log_prob(x) + 0.7)
    sub = MultivariateNormal(mvn.loc[3:], mvn.covariance_matrix[3:, 3:])
    torch.testing.assert_close(g.marginalize(left=3).log_density(x), sub.log_prob(x) + 0.7)


def test_condition_matches_dense_conditional():
    mvn = random_mvn(5)
    g = mvn_to_gaussian(mvn)
    x = torch.randn(4, 5, dtype=D)
    # The unnormalized conditional is the joint density at the full point.
    torch.testing.assert_close(g.condition(x[:, 3:]).log_density(x[:, :3]), mvn.log_prob(x))
    torch.testing.assert_close(g.left_condition(x[:, :2]).log_density(x[:, 2:]), mvn.log_prob(x))
    # Its normalized form is the textbook conditional N(mu_a + S_ab S_bb^-1 (b - mu_b), ...).
    S, mu = mvn.covariance_matrix, mvn.loc
    b = x[0, 3:]
    K = S[:3, 3:] @ torch.linalg.inv(S[3:, 3:])
    cond = g.condition(b)
    mean = torch.linalg.solve(cond.precision, cond.info_vec)
    torch.testing.assert_close(mean, mu[:3] + K @ (b - mu[3:]))
    torch.testing.assert_close(torch.linalg.inv(cond.precision), S[:3, :3] - K @ S[3:, :3])


def test_event_logsumexp_by_quadrature():
    g = random_gaussian(1)
    grid = torch.linspace(-40, 40, 200001, dtype=D).unsqueeze(-1)
    dense = torch.trapezoid(g.log_density(grid).exp(), grid.squeeze(-1)).log()
    torch.testing.assert_close(g.event_logsumexp(), dense)


def test_gaussian_tensordot_by_quadrature():
    x = random_gaussian(2)  # over (a, b)
    y = random_gaussian(2)  # over (b, c)
    xy = gaussian_tensordot(x, y, dims=1)
    assert xy.dim() == 2
    b = torch.linspace(-40, 40, 100001, dtype=D)
    for a, c in [(0.3, -0.5), (-1.0, 2.0)]:
        ab = torch.stack([torch.full_like(b, a), b], -1)
        bc = torch.stack([b, torch.full_like(b, c)], -1)
        dense = torch.trapezoid((x.log_density(ab) + y.log_density(bc)).exp(), b).log()
        torch.testing.assert_close(xy.log_density(torch.tensor([a, c], dtype=D)), dense)


def test_gaussian_tensordot_dims_zero_is_product():
    x, y = random_gaussian(2), random_gaussian(3)
    z = torch.randn(5, dtype=D)
    expected = x.log_density(z[:2]) + y.log_density(z[2:])
    torch.testing.assert_close(gaussian_tensordot(x, y).log_density(z), expected)


def test_gaussian_tensordot_full_contraction():
    x, y = random_gaussian(3), random_gaussian(3)
    xy = gaussian_tensordot(x, y, dims=3)
    assert xy.dim() == 0
    torch.testing.assert_close(xy.event_logsumexp(), (x + y).event_logsumexp())


@pytest.mark.parametrize("T", [1, 2, 3, 4, 5, 7, 8])
def test_sequential_gaussian_tensordot_matches_left_fold(T):
    g = random_gaussian(4, (2, T))
    result = sequential_gaussian_tensordot(g)
    expected = g[..., 0]
    for t in range(1, T):
        expected = gaussian_tensordot(expected, g[..., t], dims=2)
    assert result.batch_shape == (2,)
    z = torch.randn(2, 4, dtype=D)
    torch.testing.assert_close(result.log_density(z), expected.log_density(z))


def dense_chain(init, trans):
    """The joint factor over (x_0, ..., x_T) as one dense Gaussian."""
    s = init.dim()
    T = trans.batch_shape[-1]
    n = s * (T + 1)
    joint = init.event_pad(right=n - s)
    for t in range(T):
        joint = joint + trans[..., t].event_pad(left=s * t, right=n - s * (t + 2))
    return joint


@pytest.mark.parametrize("T", [1, 2, 3, 5, 6])
def test_filter_sample_is_the_joint_distribution(T):
    s = 2
    init = mvn_to_gaussian(random_mvn(s))
    trans = matrix_and_mvn_to_gaussian(0.5 * torch.randn(T, s, s, dtype=D), random_mvn(s, (T,)))
    joint = dense_chain(init, trans)
    mean = torch.linalg.solve(joint.precision, joint.info_vec)
    cov = torch.linalg.inv(joint.precision)
    n = s * (T + 1)
    # Zero noise gives the joint mean (every conditional step is linear-Gaussian) ...
    zero = torch.zeros(T + 1, s, dtype=D)
    x0 = sequential_gaussian_filter_sample(init, trans, noise=zero)
    assert x0.shape == (T + 1, s)
    torch.testing.assert_close(x0.reshape(n), mean)

    # ... and the sample is affine in the noise, with B B^T the joint covariance.
    def f(noise):
        return sequential_gaussian_filter_sample(init, trans, noise=noise).reshape(n)

    B = torch.autograd.functional.jacobian(f, zero).reshape(n, n)
    torch.testing.assert_close(B @ B.T, cov)


def test_filter_sample_shapes_and_batching():
    init = mvn_to_gaussian(random_mvn(3, (2, 1)))
    trans = random_gaussian(6, (4, 5))
    x = sequential_gaussian_filter_sample(init, trans, (7,))
    assert x.shape == (7, 2, 4, 6, 3)
    assert x.dtype == D
    assert torch.isfinite(x).all()


def test_rsample_moments():
    mvn = random_mvn(3)
    g = mvn_to_gaussian(mvn) + 1.0
    n = 40000
    x = g.rsample((n,))
    assert x.shape == (n, 3)
    se = (mvn.covariance_matrix.diagonal() / n).sqrt()
    assert ((x.mean(0) - mvn.loc).abs() < 5 * se).all()
    cov = mvn.covariance_matrix
    sd = cov.diagonal().sqrt()
    corr_err = (x.T.cov() - cov) / (sd[:, None] * sd[None])
    assert corr_err.abs().max() < 5 * math.sqrt(2 / n)


def test_rsample_noise_is_whitened():
    mvn = random_mvn(3)
    g = mvn_to_gaussian(mvn)
    noise = torch.randn(3, dtype=D)
    x = g.rsample(noise=noise)
    # x = mean + L^{-T} noise with L L^T = precision, so (x - mean)^T P (x - mean) = |noise|^2
    d = x - mvn.loc
    torch.testing.assert_close(d @ mvn.precision_matrix @ d, noise @ noise)


def test_matrix_and_mvn_to_gaussian_is_the_conditional():
    M = torch.randn(2, 3, dtype=D)
    mvn = random_mvn(3, (4,))
    g = matrix_and_mvn_to_gaussian(M, mvn)
    assert g.dim() == 5 and g.batch_shape == (4,)
    x, y = torch.randn(4, 2, dtype=D), torch.randn(4, 3, dtype=D)
    expected = MultivariateNormal(x @ M + mvn.loc, mvn.covariance_matrix).log_prob(y)
    torch.testing.assert_close(g.log_density(torch.cat([x, y], -1)), expected)
    torch.testing.assert_close(g.condition(y).log_density(x), expected)
    # integrating y out of a conditional leaves a constant zero factor in x
    torch.testing.assert_close(g.marginalize(right=3).log_density(x), torch.zeros(4, dtype=D))


def test_matrix_and_gaussian_to_gaussian():
    M = torch.randn(2, 3, dtype=D)
    yg = random_gaussian(3)
    g = matrix_and_gaussian_to_gaussian(M, yg)
    x, y = torch.randn(2, dtype=D), torch.randn(3, dtype=D)
    torch.testing.assert_close(g.log_density(torch.cat([x, y])), yg.log_density(y - x @ M))


def test_affine_normal():
    M = torch.randn(2, 3, dtype=D)
    loc, scale = torch.randn(3, dtype=D), torch.rand(3, dtype=D) + 0.5
    a = AffineNormal(M, loc, scale)
    x, y = torch.randn(5, 2, dtype=D), torch.randn(5, 3, dtype=D)
    expected = Normal(x @ M + loc, scale).log_prob(y).sum(-1)
    torch.testing.assert_close(a.condition(y).log_density(x), expected)
    torch.testing.assert_close(a.to_gaussian().log_density(torch.cat([x, y], -1)), expected)
    mvn = MultivariateNormal(loc, torch.diag(scale**2))
    ref = matrix_and_mvn_to_gaussian(M, mvn)
    torch.testing.assert_close(a.to_gaussian().precision, ref.precision)
    torch.testing.assert_close(a.to_gaussian().info_vec, ref.info_vec)
    left = a.left_condition(x)
    assert isinstance(left, AffineNormal)
    torch.testing.assert_close(left.condition(y).log_density(x[:, :0]), expected)
    torch.testing.assert_close(left.rsample(noise=torch.zeros(5, 3, dtype=D)), x @ M + loc)
    with pytest.raises(ValueError, match="left_condition"):
        a.rsample()
    torch.testing.assert_close(a.marginalize(right=3).log_density(x), torch.zeros(5, dtype=D))
    assert a.expand((4,)).batch_shape == (4,)
    assert a.expand((4,))[1:3].batch_shape == (2,)


def test_batch_manipulations():
    g = random_gaussian(3, (2, 4))
    x = torch.randn(2, 4, 3, dtype=D)
    torch.testing.assert_close(g[1].log_density(x[1]), g.log_density(x)[1])
    torch.testing.assert_close(
        g.reshape((8,)).log_density(x.reshape(8, 3)), g.log_density(x).reshape(8)
    )
    cat = Gaussian.cat([g[:, :1], g[:, 1:]], dim=-1)
    torch.testing.assert_close(cat.log_density(x), g.log_density(x))
    assert g.expand((5, 2, 4)).batch_shape == (5, 2, 4)
    perm = [2, 0, 1]
    torch.testing.assert_close(g.event_permute(perm).log_density(x[..., perm]), g.log_density(x))
    padded = g.event_pad(left=1, right=2)
    z = torch.randn(2, 4, 6, dtype=D)
    torch.testing.assert_close(padded.log_density(z), g.log_density(z[..., 1:4]))
    torch.testing.assert_close((g - 1.5).log_density(x), g.log_density(x) - 1.5)


def test_errors_name_shapes():
    with pytest.raises(ValueError, match="precision"):
        Gaussian(torch.zeros(()), torch.zeros(3), torch.zeros(2, 2))
    with pytest.raises(ValueError, match="event_pad"):
        random_gaussian(2) + random_gaussian(3)
    with pytest.raises(ValueError, match="time dim"):
        sequential_gaussian_tensordot(random_gaussian(4))
    with pytest.raises(ValueError, match="MultivariateNormal"):
        mvn_to_gaussian(Normal(torch.zeros(3), 1.0))


def test_float32_follows_inputs():
    mvn = MultivariateNormal(torch.zeros(2), torch.eye(2))
    g = mvn_to_gaussian(mvn)
    assert g.info_vec.dtype == torch.float32
    assert g.rsample((3,)).dtype == torch.float32


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_tensors_follow_inputs():
    dev = torch.device("cuda")
    init = mvn_to_gaussian(MultivariateNormal(torch.zeros(2, device=dev), torch.eye(2, device=dev)))
    trans = matrix_and_mvn_to_gaussian(
        torch.eye(2, device=dev).expand(5, 2, 2),
        MultivariateNormal(torch.zeros(5, 2, device=dev), torch.eye(2, device=dev)),
    )
    x = sequential_gaussian_filter_sample(init, trans, (3,))
    assert x.device.type == "cuda"
    assert sequential_gaussian_tensordot(trans).info_vec.device.type == "cuda"
