"""pyro.ops.gamma_gaussian against Gamma x MultivariateNormal densities and quadrature."""

import pytest
import torch
from torch.distributions import Gamma as GammaDist
from torch.distributions import MultivariateNormal

from pyro.ops.gamma_gaussian import (
    Gamma,
    GammaGaussian,
    gamma_and_mvn_to_gamma_gaussian,
    gamma_gaussian_tensordot,
    matrix_and_mvn_to_gamma_gaussian,
    scale_mvn,
    sequential_gamma_gaussian_tensordot,
)

D = torch.float64


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def random_mvn(n, batch=()):
    A = torch.randn(batch + (n, n), dtype=D)
    return MultivariateNormal(torch.randn(batch + (n,), dtype=D), A @ A.mT + torch.eye(n, dtype=D))


def random_gamma(batch=()):
    return GammaDist(torch.rand(batch, dtype=D) * 3 + 1.5, torch.rand(batch, dtype=D) + 0.5)


def joint_log_prob(gamma, mvn, x, s):
    """log Gamma(s) + log N(x; loc, cov / s)."""
    scaled = MultivariateNormal(mvn.loc, mvn.covariance_matrix / s[..., None, None])
    return gamma.log_prob(s) + scaled.log_prob(x)


@pytest.mark.parametrize("batch", [(), (3,)])
def test_gamma_and_mvn_log_density(batch):
    gamma, mvn = random_gamma(batch), random_mvn(3, batch)
    g = gamma_and_mvn_to_gamma_gaussian(gamma, mvn)
    assert g.batch_shape == batch and g.dim() == 3
    x = torch.randn((4,) + batch + (3,), dtype=D)
    s = torch.rand((4,) + batch, dtype=D) + 0.2
    torch.testing.assert_close(g.log_density(x, s), joint_log_prob(gamma, mvn, x, s))


def test_event_logsumexp_recovers_the_prior():
    gamma, mvn = random_gamma(), random_mvn(3)
    marginal = gamma_and_mvn_to_gamma_gaussian(gamma, mvn).event_logsumexp()
    assert isinstance(marginal, Gamma)
    s = torch.rand(5, dtype=D) + 0.1
    torch.testing.assert_close(marginal.log_density(s), gamma.log_prob(s))
    torch.testing.assert_close(marginal.logsumexp(), torch.zeros((), dtype=D))


def test_marginalize_and_condition():
    gamma, mvn = random_gamma(), random_mvn(4)
    g = gamma_and_mvn_to_gamma_gaussian(gamma, mvn) + 0.3
    x = torch.randn(5, 4, dtype=D)
    s = torch.rand(5, dtype=D) + 0.2
    sub = MultivariateNormal(mvn.loc[1:3], mvn.covariance_matrix[1:3, 1:3])
    expected = joint_log_prob(gamma, sub, x[:, 1:3], s) + 0.3
    torch.testing.assert_close(g.marginalize(left=1, right=1).log_density(x[:, 1:3], s), expected)
    cond = g.condition(x[:, 2:])
    assert cond.dim() == 2
    torch.testing.assert_close(cond.log_density(x[:, :2], s), g.log_density(x, s))


def test_matrix_and_mvn_to_gamma_gaussian():
    M = torch.randn(2, 3, dtype=D)
    mvn = random_mvn(3)
    g = matrix_and_mvn_to_gamma_gaussian(M, mvn)
    assert g.dim() == 5
    x, y = torch.randn(4, 2, dtype=D), torch.randn(4, 3, dtype=D)
    s = torch.rand(4, dtype=D) + 0.2
    expected = MultivariateNormal(x @ M + mvn.loc, mvn.covariance_matrix / s[:, None, None])
    torch.testing.assert_close(g.log_density(torch.cat([x, y], -1), s), expected.log_prob(y))


def test_compound_is_student_t_by_quadrature():
    pytest.importorskip(
        "pyro.distributions", reason="compound() returns a pyro-distributions family"
    )
    gamma, mvn = random_gamma(), random_mvn(2)
    g = gamma_and_mvn_to_gamma_gaussian(gamma, mvn)
    t = g.compound()
    x = torch.randn(3, 2, dtype=D)
    s = torch.linspace(1e-6, 60.0, 400001, dtype=D)
    for xi, lp in zip(x, t.log_prob(x)):
        dense = torch.trapezoid(g.log_density(xi.expand(s.shape + (2,)), s).exp(), s).log()
        torch.testing.assert_close(lp, dense, rtol=1e-6, atol=1e-6)


def test_gamma_gaussian_tensordot_by_quadrature():
    x = matrix_and_mvn_to_gamma_gaussian(torch.randn(1, 1, dtype=D), random_mvn(1))
    y = matrix_and_mvn_to_gamma_gaussian(torch.randn(1, 1, dtype=D), random_mvn(1))
    xy = gamma_gaussian_tensordot(x, y, dims=1)
    b = torch.linspace(-60, 60, 200001, dtype=D)
    a, c, s = 0.4, -0.7, torch.tensor(0.8, dtype=D)
    ab = torch.stack([torch.full_like(b, a), b], -1)
    bc = torch.stack([b, torch.full_like(b, c)], -1)
    dense = torch.trapezoid((x.log_density(ab, s) + y.log_density(bc, s)).exp(), b).log()
    torch.testing.assert_close(xy.log_density(torch.tensor([a, c], dtype=D), s), dense)


@pytest.mark.parametrize("T", [1, 2, 3, 6])
def test_sequential_matches_left_fold(T):
    g = matrix_and_mvn_to_gamma_gaussian(torch.randn(T, 2, 2, dtype=D), random_mvn(2, (T,)))
    result = sequential_gamma_gaussian_tensordot(g)
    expected = g[..., 0]
    for t in range(1, T):
        expected = gamma_gaussian_tensordot(expected, g[..., t], dims=2)
    z, s = torch.randn(4, dtype=D), torch.tensor(1.3, dtype=D)
    torch.testing.assert_close(result.log_density(z, s), expected.log_density(z, s))


def test_scale_mvn():
    mvn = random_mvn(3, (2,))
    s = torch.tensor([0.5, 2.0], dtype=D)
    scaled = scale_mvn(mvn, s)
    assert type(scaled) is type(mvn)
    torch.testing.assert_close(scaled.covariance_matrix, mvn.covariance_matrix / s[:, None, None])
    torch.testing.assert_close(scaled.loc, mvn.loc)


def test_batch_manipulations():
    g = gamma_and_mvn_to_gamma_gaussian(random_gamma((2, 3)), random_mvn(2, (2, 3)))
    x, s = torch.randn(2, 3, 2, dtype=D), torch.rand(2, 3, dtype=D) + 0.5
    torch.testing.assert_close(g[1].log_density(x[1], s[1]), g.log_density(x, s)[1])
    cat = GammaGaussian.cat([g[:, :1], g[:, 1:]], dim=1)
    torch.testing.assert_close(cat.log_density(x, s), g.log_density(x, s))
    r = g.reshape((6,))
    torch.testing.assert_close(
        r.log_density(x.reshape(6, 2), s.reshape(6)), g.log_density(x, s).reshape(6)
    )
    perm = [1, 0]
    torch.testing.assert_close(
        g.event_permute(perm).log_density(x[..., perm], s), g.log_density(x, s)
    )
    padded = g.event_pad(left=1)
    z = torch.cat([torch.randn(2, 3, 1, dtype=D), x], -1)
    torch.testing.assert_close(padded.log_density(z, s), g.log_density(x, s))


def test_errors():
    with pytest.raises(ValueError, match="precision"):
        GammaGaussian(
            *(torch.zeros(()),) * 0,
            torch.zeros(()),
            torch.zeros(2),
            torch.zeros(3, 3),
            torch.zeros(()),
            torch.zeros(()),
        )
    with pytest.raises(ValueError, match="MultivariateNormal"):
        scale_mvn(GammaDist(1.0, 1.0), 2.0)
