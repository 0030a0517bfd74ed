"""The scoring rules, the weighted quantile and the generalized Pareto fit of pyro.ops.stats."""
import math

import pytest
import torch

from pyro.ops.stats import (
    crps_empirical,
    energy_score_empirical,
    fit_generalized_pareto,
    quantile,
    weighed_quantile,
)


def test_crps_matches_pairwise_definition():
    pred, truth = torch.randn(9, 2, 3, dtype=torch.float64), torch.randn(2, 3, dtype=torch.float64)
    expected = (pred - truth).abs().mean(0) - (pred - pred.unsqueeze(1)).abs().mean([0, 1]) / 2
    torch.testing.assert_close(crps_empirical(pred, truth), expected)


def test_crps_matches_integral_definition():
    # CRPS = int (F_n(z) - 1[z >= y])^2 dz, integrated exactly between the sorted knots
    pred = torch.randn(6, dtype=torch.float64)
    y = torch.tensor(0.3, dtype=torch.float64)
    knots = torch.cat([pred, y.reshape(1)]).sort().values
    total = 0.0
    for a, b in zip(knots[:-1], knots[1:]):
        mid = (a + b) / 2
        F = (pred <= mid).double().mean()
        total += float((F - (mid >= y).double()) ** 2 * (b - a))
    assert crps_empirical(pred.unsqueeze(-1), y.reshape(1)).item() == pytest.approx(total)


def test_crps_single_sample_is_absolute_error():
    torch.testing.assert_close(
        crps_empirical(torch.tensor([[1.0, -2.0]]), torch.tensor([0.5, 0.0])),
        torch.tensor([0.5, 2.0]),
    )
    with pytest.raises(ValueError, match="num_samples"):
        crps_empirical(torch.randn(3, 2), torch.randn(3))


def _energy_naive(pred, truth):
    n = pred.size(0)
    first = sum((pred[i] - truth).norm() for i in range(n)) / n
    second = sum((pred[i] - pred[j]).norm() for i in range(n) for j in range(n)) / n**2
    return first - second / 2


def test_energy_score_matches_naive_and_batches():
    pred, truth = torch.randn(3, 7, 4, dtype=torch.float64), torch.randn(3, 4, dtype=torch.float64)
    result = energy_score_empirical(pred, truth)
    assert result.shape == (3,)
    for b in range(3):
        torch.testing.assert_close(result[b], _energy_naive(pred[b], truth[b]))
    torch.testing.assert_close(energy_score_empirical(pred, truth, pred_batch_size=2), result)
    # several observations against the same samples
    many = energy_score_empirical(pred, truth.unsqueeze(-2).expand(3, 2, 4))
    assert many.shape == (3, 2)
    torch.testing.assert_close(many[:, 1], result)


def test_energy_score_univariate_is_crps():
    pred, truth = torch.randn(8, 5, dtype=torch.float64), torch.randn(5, dtype=torch.float64)
    es = energy_score_empirical(pred.T.unsqueeze(-1), truth.unsqueeze(-1))
    torch.testing.assert_close(es, crps_empirical(pred, truth))


def test_weighed_quantile_docstring_and_equal_weights():
    input = torch.tensor([[10.0, 50.0, 40.0], [20.0, 30.0, 0.0]])
    log_weights = torch.tensor([0.4, 0.5, 0.1]).log()
    result = weighed_quantile(input, torch.tensor([0.2, 0.8]), log_weights, -1)
    torch.testing.assert_close(result, torch.tensor([[40.4, 47.6], [9.0, 26.4]]))
    x = torch.randn(11, 3)
    probs = [0.0, 0.1, 0.5, 0.93, 1.0]
    torch.testing.assert_close(weighed_quantile(x, probs, torch.zeros(11)), quantile(x, probs))
    # weights are normalized: a constant shift changes nothing
    torch.testing.assert_close(
        weighed_quantile(x, probs, torch.zeros(11) + 5.0, dim=0), quantile(x, probs, dim=0)
    )


def test_weighed_quantile_is_a_weighted_cdf_inverse():
    # integer weights = repeated draws: the weighted median lies between repeated values
    x = torch.tensor([1.0, 2.0, 3.0])
    w = torch.tensor([1.0, 1.0, 8.0]).log()
    assert weighed_quantile(x, [0.5], w).item() > 2.0
    with pytest.raises(ValueError, match="log_weights"):
        weighed_quantile(x, [0.5], torch.zeros(4))


@pytest.mark.parametrize("k,sigma", [(0.3, 2.0), (-0.2, 1.0), (0.7, 0.5)])
def test_fit_generalized_pareto_recovers_parameters(k, sigma):
    scipy_stats = pytest.importorskip("scipy.stats", reason="scipy draws GPD samples")
    n = 4000
    X = torch.from_numpy(scipy_stats.genpareto(c=k, scale=sigma).rvs(size=n, random_state=0))
    k_hat, sigma_hat = fit_generalized_pareto(X)
    assert isinstance(k_hat, float) and isinstance(sigma_hat, float)
    # the MLE's asymptotic sd of k is (1 + k) / sqrt(n); allow 4 sd plus the prior's pull
    tol_k = 4 * (1 + k) / math.sqrt(n) + 10 * abs(0.5 - k) / (n + 10)
    assert abs(k_hat - k) < tol_k
    assert abs(sigma_hat / sigma - 1) < 4 * math.sqrt(2 * (1 + k) / n)
    # close to scipy's maximum likelihood fit
    c_mle, _, scale_mle = scipy_stats.genpareto.fit(X.numpy(), floc=0)
    assert abs(k_hat - c_mle) < 2 * (1 + k) / math.sqrt(n) + 10 / n
    assert abs(sigma_hat / scale_mle - 1) < 0.1


def test_fit_generalized_pareto_errors():
    with pytest.raises(ValueError, match="1-d"):
        fit_generalized_pareto(torch.ones(2, 2))
    with pytest.raises(ValueError, match="nonnegative"):
        fit_generalized_pareto(torch.tensor([1.0, -1.0, 2.0]))
