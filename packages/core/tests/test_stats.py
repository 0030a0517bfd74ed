"""Tests of pyro.ops.stats against numpy / scipy, analytic values and independent loops."""
import math

import numpy as np
import pytest
import torch
from scipy.special import logsumexp
from scipy.stats import norm

from pyro.ops import stats


def ar1(phi, num_chains, n, seed):
    """Stationary AR(1) chains x_t = phi x_{t-1} + sqrt(1 - phi^2) e_t (unit variance)."""
    rng = np.random.default_rng(seed)
    e = rng.standard_normal((num_chains, n))
    x = np.empty_like(e)
    x[:, 0] = e[:, 0]
    c = math.sqrt(1 - phi**2)
    for t in range(1, n):
        x[:, t] = phi * x[:, t - 1] + c * e[:, t]
    return x


def geyer_ess_loop(x):
    """Independent O(N^2) reference: multi-chain Geyer initial monotone ESS (Stan's rules)."""
    m, n = x.shape
    xc = x - x.mean(1, keepdims=True)
    acov = np.array([[np.dot(xc[c, : n - k], xc[c, k:]) / n for k in range(n)] for c in range(m)])
    w = x.var(1, ddof=1).mean()
    var_plus = w * (n - 1) / n + (x.mean(1).var(ddof=1) if m > 1 else 0.0)
    rho = 1 - (w - acov.mean(0)) / var_plus
    rho[0] = 1.0
    pairs, extra = [], 0.0
    for t in range(n // 2):
        p = rho[2 * t] + rho[2 * t + 1]
        if p <= 0:
            extra = max(rho[2 * t], 0.0)
            break
        pairs.append(min(p, pairs[-1]) if pairs else p)
    tau = max(-1 + 2 * sum(pairs) + extra, 1 / math.log10(m * n))
    return m * n / tau


def test_autocovariance_matches_direct_sum():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 50))
    xc = x - x.mean(1, keepdims=True)
    expected = np.array([[np.dot(r[: 50 - k], r[k:]) / 50 for k in range(50)] for r in xc])
    got = stats.autocovariance(torch.tensor(x), dim=1)
    assert got.dtype == torch.float64
    np.testing.assert_allclose(got.numpy(), expected, atol=1e-12)
    # dim=0 layout and autocorrelation = autocovariance / lag-0 value
    got0 = stats.autocorrelation(torch.tensor(x.T), dim=0).numpy()
    np.testing.assert_allclose(got0, (expected / expected[:, :1]).T, atol=1e-12)


def test_autocorrelation_of_ar1_decays_geometrically():
    # 4 x 20000 draws: the lag-k estimate has sd ~ sqrt((1 + phi^2) / (1 - phi^2) / N)
    # ~ 0.006 (Bartlett), so 0.03 is ~5 sd
    x = torch.tensor(ar1(0.6, 4, 20000, seed=1))
    acf = stats.autocorrelation(x, dim=1).mean(0)
    for k in range(5):
        assert abs(acf[k].item() - 0.6**k) < 0.03


@pytest.mark.parametrize("phi", [0.0, 0.5, 0.9, -0.4])
def test_effective_sample_size_matches_independent_loop(phi):
    x = ar1(phi, 3, 301, seed=2)
    got = stats.effective_sample_size(torch.tensor(x)).item()
    assert got == pytest.approx(geyer_ess_loop(x), rel=1e-9)


def test_ess_of_iid_draws_is_about_n():
    # iid draws: tau_hat = -1 + 2 sum of the few kept pairs; each autocorrelation has sd
    # 1 / sqrt(8000) ~ 0.011 and ~3 pairs are kept, so sd(tau_hat) ~ 2 sqrt(6) 0.011 ~ 0.06:
    # ESS / n within 25% is > 4 sd
    torch.manual_seed(3)
    x = torch.randn(4, 2000)
    ess = stats.effective_sample_size(x).item()
    assert 0.75 * 8000 < ess < 1.25 * 8000
    bulk = stats.bulk_effective_sample_size(x).item()
    assert 0.75 * 8000 < bulk < 1.25 * 8000


@pytest.mark.parametrize("phi", [0.5, 0.8])
def test_ess_of_ar1_matches_analytic(phi):
    # AR(1): integrated autocorrelation time tau = (1 + phi) / (1 - phi), ESS = N / tau.
    # Sokal's variance of a windowed tau estimate: var(tau_hat) / tau^2 ~ 2 (2M + 1) / N
    # with window M ~ 5 tau (<= 45 here), N = 4 x 5000: relative sd <= 0.095 for phi=0.8,
    # 0.04 for phi=0.5; the 25% tolerance is > 2.5 sd in the worst case (seeded).
    x = torch.tensor(ar1(phi, 4, 5000, seed=4))
    expected = 20000 * (1 - phi) / (1 + phi)
    assert stats.effective_sample_size(x).item() == pytest.approx(expected, rel=0.25)
    assert stats.bulk_effective_sample_size(x).item() == pytest.approx(expected, rel=0.25)


def test_bulk_ess_is_rank_based_and_batched():
    x = torch.tensor(ar1(0.7, 2, 400, seed=5))
    a = stats.bulk_effective_sample_size(x)
    b = stats.bulk_effective_sample_size(x.exp() * 3 + 1)  # monotone map: same ranks
    assert a.item() == pytest.approx(b.item(), rel=1e-12)
    batched = torch.stack([x, x.exp()], dim=-1)  # (chains, draws, 2)
    out = stats.bulk_effective_sample_size(batched)
    assert out.shape == (2,)
    assert out[0].item() == pytest.approx(a.item(), rel=1e-12)
    # chain_dim / sample_dim may be anywhere
    moved = stats.effective_sample_size(batched.permute(2, 1, 0), chain_dim=2, sample_dim=1)
    torch.testing.assert_close(moved, stats.effective_sample_size(batched))
    assert math.isnan(stats.effective_sample_size(torch.ones(2, 10)).item())


def test_gelman_rubin_identical_and_shifted_chains():
    torch.manual_seed(6)
    chain = torch.randn(1000, dtype=torch.float64)
    same = torch.stack([chain, chain])
    # identical chains: B = 0, so R-hat = sqrt((N - 1) / N) exactly
    assert stats.gelman_rubin(same).item() == pytest.approx(math.sqrt(999 / 1000), rel=1e-12)
    # shifted chains, against the formula evaluated with numpy
    shifted = torch.stack([chain, chain + 1.0]).numpy()
    w = shifted.var(1, ddof=1).mean()
    var_plus = w * 999 / 1000 + shifted.mean(1).var(ddof=1)
    expected = math.sqrt(var_plus / w)
    got = stats.gelman_rubin(torch.tensor(shifted)).item()
    assert got == pytest.approx(expected, rel=1e-12)
    assert got > 1.1
    # independent iid chains: R-hat - 1 is O(1 / N)
    iid = torch.randn(4, 1000)
    assert abs(stats.gelman_rubin(iid).item() - 1) < 0.01
    assert abs(stats.split_gelman_rubin(iid).item() - 1) < 0.01


def test_split_gelman_rubin_detects_a_trend_in_one_chain():
    torch.manual_seed(7)
    trend = torch.randn(1, 1000) + torch.linspace(0, 3, 1000)
    assert stats.gelman_rubin(trend).item() < 1.0 + 1e-9  # one chain: blind to the trend
    assert stats.split_gelman_rubin(trend).item() > 1.2
    with pytest.raises(ValueError, match="at least 4 draws"):
        stats.split_gelman_rubin(torch.randn(2, 3))


def test_quantile_matches_numpy():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((101, 3, 2))
    probs = [0.0, 0.05, 0.33, 0.5, 0.95, 1.0]
    got = stats.quantile(torch.tensor(x), probs, dim=0).numpy()
    np.testing.assert_allclose(got, np.quantile(x, probs, axis=0), atol=1e-12)
    got1 = stats.quantile(torch.tensor(x), probs, dim=1).numpy()
    np.testing.assert_allclose(got1, np.moveaxis(np.quantile(x, probs, axis=1), 0, 1),
                               atol=1e-12)
    scalar = stats.quantile(torch.tensor(x), 0.2, dim=0)
    assert scalar.shape == (3, 2)
    np.testing.assert_allclose(scalar.numpy(), np.quantile(x, 0.2, axis=0), atol=1e-12)
    with pytest.raises(ValueError, match="probs"):
        stats.quantile(torch.tensor(x), 1.5)


def test_pi_is_central_interval():
    rng = np.random.default_rng(9)
    x = rng.gamma(2.0, size=(500, 4))
    got = stats.pi(torch.tensor(x), 0.8, dim=0).numpy()
    np.testing.assert_allclose(got, np.quantile(x, [0.1, 0.9], axis=0), atol=1e-12)


def brute_force_hpdi(x, prob):
    s = np.sort(x)
    span = int(prob * len(x))
    widths = s[span:] - s[: len(x) - span]
    i = int(np.argmin(widths))
    return s[i], s[i + span]


def test_hpdi_against_brute_force_and_analytic():
    rng = np.random.default_rng(10)
    x = rng.exponential(size=(4000, 3))
    got = stats.hpdi(torch.tensor(x), 0.9, dim=0).numpy()
    assert got.shape == (2, 3)
    for j in range(3):
        np.testing.assert_allclose(got[:, j], brute_force_hpdi(x[:, j], 0.9), atol=0)
    # Exponential(1): the 90% HPD interval is [0, -log(0.1)] = [0, 2.303]; the sample
    # 90% quantile has sd sqrt(0.9 * 0.1 / n) / f(q) = 0.0047 / 0.1 = 0.047: tolerance 0.2
    assert np.all(got[0] < 0.01)
    np.testing.assert_allclose(got[1], -math.log(0.1), atol=0.2)
    # along dim=1 of a transposed copy
    got_t = stats.hpdi(torch.tensor(x.T), 0.9, dim=1).numpy()
    np.testing.assert_allclose(got_t, got.T, atol=0)
    # Normal: HPD = central interval, +-1.645 (tolerance as above ~ 4 sd)
    z = stats.hpdi(torch.tensor(rng.standard_normal(4000)), 0.9)
    np.testing.assert_allclose(z.numpy(), [norm.ppf(0.05), norm.ppf(0.95)], atol=0.15)


def test_waic_against_numpy():
    rng = np.random.default_rng(11)
    loglik = rng.normal(-1.0, 0.3, size=(200, 7))
    value, p = stats.waic(torch.tensor(loglik), pointwise=True)
    lpd = logsumexp(loglik, axis=0) - math.log(200)
    p_ref = loglik.var(0, ddof=1)
    np.testing.assert_allclose(p.numpy(), p_ref, rtol=1e-10)
    np.testing.assert_allclose(value.numpy(), -2 * (lpd - p_ref), rtol=1e-10)
    total, p_total = stats.waic(torch.tensor(loglik))
    assert total.item() == pytest.approx(value.sum().item(), rel=1e-12)
    assert p_total.item() == pytest.approx(p.sum().item(), rel=1e-12)
    # uniform log weights change nothing; data along dim 1 with draws on dim 1 transposed
    same, _ = stats.waic(torch.tensor(loglik), log_weights=torch.full((200,), 3.0,
                         dtype=torch.float64))
    assert same.item() == pytest.approx(total.item(), rel=1e-12)
    t, _ = stats.waic(torch.tensor(loglik.T), dim=1)
    assert t.item() == pytest.approx(total.item(), rel=1e-12)
    # weighted: lpd uses the weighted mixture
    logw = rng.normal(size=200)
    w = np.exp(logw - logsumexp(logw))
    v, pw = stats.waic(torch.tensor(loglik), log_weights=torch.tensor(logw), pointwise=True)
    lpd_w = logsumexp(loglik + np.log(w)[:, None], axis=0)
    mean_w = (w[:, None] * loglik).sum(0)
    p_w = (w[:, None] * (loglik - mean_w) ** 2).sum(0) / (1 - (w**2).sum())
    np.testing.assert_allclose(pw.numpy(), p_w, rtol=1e-10)
    np.testing.assert_allclose(v.numpy(), -2 * (lpd_w - p_w), rtol=1e-10)


def test_resample():
    torch.manual_seed(12)
    x = torch.arange(10.0).unsqueeze(-1).expand(10, 3)
    r = stats.resample(x, 6)
    assert r.shape == (6, 3)
    assert len(set(r[:, 0].tolist())) == 6  # without replacement: distinct rows
    assert (r[:, 0:1] == r).all()
    assert stats.resample(x, 25, replacement=True).shape == (25, 3)
    with pytest.raises(ValueError, match="replacement"):
        stats.resample(x, 11)


def test_summary_keys_shapes_and_values():
    torch.manual_seed(13)
    samples = {"a": torch.randn(2, 300, 3), "b": torch.randn(2, 300) + 5.0}
    out = stats.summary(samples, prob=0.9)
    assert list(out["a"]) == ["mean", "std", "median", "5.0%", "95.0%", "n_eff", "r_hat"]
    for v in out["a"].values():
        assert v.shape == (3,)
    for v in out["b"].values():
        assert v.shape == ()
    flat_b = samples["b"].reshape(-1)
    assert out["b"]["mean"].item() == pytest.approx(flat_b.mean().item(), rel=1e-6)
    assert out["b"]["std"].item() == pytest.approx(flat_b.std().item(), rel=1e-6)
    torch.testing.assert_close(out["b"]["n_eff"], stats.effective_sample_size(samples["b"]))
    torch.testing.assert_close(out["b"]["r_hat"], stats.split_gelman_rubin(samples["b"]))
    # ungrouped draws and other interval masses
    out2 = stats.summary({"b": flat_b}, prob=0.5, group_by_chain=False)
    assert "25.0%" in out2["b"] and "75.0%" in out2["b"]
    # integer draws are summarized as floats; too few draws give NaN, not an error
    out3 = stats.summary({"k": torch.tensor([[1, 2, 3]])})
    assert math.isnan(out3["k"]["n_eff"].item()) and out3["k"]["mean"].item() == 2.0


def test_float32_in_float32_out():
    x = torch.randn(2, 100)
    for fn in (stats.effective_sample_size, stats.bulk_effective_sample_size,
               stats.gelman_rubin, stats.split_gelman_rubin):
        assert fn(x).dtype == torch.float32
    assert stats.hpdi(x[0], 0.9).dtype == torch.float32
