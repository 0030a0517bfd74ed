import math

import pytest
import torch

from pyro.ops.special import (
    get_quad_rule,
    log_beta,
    log_binomial,
    log_I1,
    safe_log,
    sparse_multinomial_likelihood,
)

scipy_special = pytest.importorskip("scipy.special", reason="scipy gives reference values")


@pytest.mark.parametrize("tol", [0.0, 0.02, 0.05, 0.1, 0.5])
def test_log_beta_within_tol(tol):
    x = torch.logspace(-2, 3, 40, dtype=torch.float64)
    X, Y = torch.meshgrid(x, x, indexing="ij")
    expected = torch.from_numpy(scipy_special.betaln(X.numpy(), Y.numpy()))
    actual = log_beta(X, Y, tol=tol)
    assert (actual - expected).abs().max() <= max(tol, 1e-10)


@pytest.mark.parametrize("tol", [0.0, 0.1])
def test_log_binomial(tol):
    n = torch.arange(0.0, 60.0, dtype=torch.float64)
    k = (n * 0.3).floor()
    expected = torch.tensor(
        [math.log(math.comb(int(a), int(b))) for a, b in zip(n, k)], dtype=torch.float64
    )
    actual = log_binomial(n, k, tol=tol)
    assert (actual - expected).abs().max() <= max(2 * tol, 1e-9)


def test_safe_log_gradient_bounded():
    x = torch.tensor([0.0, 0.5], requires_grad=True)
    y = safe_log(x)
    assert y[0] == -math.inf and y[1] == math.log(0.5)
    y.sum().backward()
    torch.testing.assert_close(x.grad, torch.tensor([1 / torch.finfo(torch.float32).eps, 2.0]))


def test_log_I1_matches_scipy():
    z = torch.tensor([0.0, 0.1, 0.5, 1.0, 3.0, 10.0], dtype=torch.float64)
    result = log_I1(3, z)
    assert result.shape == (4, 6)
    for v in range(4):
        expected = torch.from_numpy(scipy_special.iv(v, z.numpy())).log()
        torch.testing.assert_close(result[v], expected)
    assert log_I1(2, torch.tensor(1.0)).shape == (3, 1)
    assert log_I1(1, torch.ones(2, 5)).shape == (2, 2, 5)


@pytest.mark.parametrize("num_quad", [1, 4, 16])
def test_quad_rule_integrates_normal_moments(num_quad):
    points, log_weights = get_quad_rule(num_quad, torch.zeros(1, dtype=torch.float64))
    assert points.dtype == torch.float64 and points.shape == (num_quad,)
    weights = log_weights.exp()
    torch.testing.assert_close(weights.sum(), torch.tensor(1.0, dtype=torch.float64))
    # E[X^{2m}] = (2m - 1)!! is exact for 2m < 2 num_quad
    for m in range(num_quad):
        expected = float(math.prod(range(1, 2 * m, 2)))
        torch.testing.assert_close((weights * points ** (2 * m)).sum().item(), expected)
    # the docstring example
    points, log_weights = get_quad_rule(32, torch.zeros(()))
    variance = torch.logsumexp((4.0 * points).pow(2).log() + log_weights, 0).exp()
    assert abs(variance.item() - 16.0) < 1e-4


def test_sparse_multinomial_likelihood_matches_dense():
    logits = torch.randn(3, 5, dtype=torch.float64)
    value = torch.tensor([[0, 2, 0, 1, 0], [3, 0, 0, 0, 0], [1, 1, 1, 1, 1]], dtype=torch.float64)
    expected = sum(
        torch.distributions.Multinomial(int(v.sum()), logits=lg).log_prob(v)
        for lg, v in zip(logits, value)
    )
    nnz = value.nonzero(as_tuple=True)
    actual = sparse_multinomial_likelihood(
        value.sum(-1), (logits - logits.logsumexp(-1, True))[nnz], value[nnz]
    )
    torch.testing.assert_close(actual, expected)
