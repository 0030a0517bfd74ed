"""pyro.ops numerics of MCMC: arrowhead algebra, Welford arrowhead covariance, streaming
statistics (against numpy / dense linear algebra), the dict leapfrog and exception
handlers."""
import numpy as np
import pytest
import torch

from pyro.ops.arrowhead import SymmArrowhead, sqrt, triu_gram, triu_inverse, triu_matvecmul
from pyro.ops.integrator import potential_grad, register_exception_handler, velocity_verlet
from pyro.ops.streaming import (
    CountMeanStats,
    CountMeanVarianceStats,
    CountStats,
    StackStats,
    StatsOfDict,
)
from pyro.ops.welford import WelfordArrowheadCovariance, WelfordCovariance


def _dense(x: SymmArrowhead) -> torch.Tensor:
    h, n = x.top.shape
    m = torch.diag(torch.cat([torch.zeros(h, dtype=x.top.dtype), x.bottom_diag]))
    m[:h, :] = x.top
    m[:, :h] = x.top.T
    return m


def _random_arrowhead(h=2, n=5):
    torch.manual_seed(0)
    top = 0.3 * torch.randn(h, n, dtype=torch.float64)
    top[:, :h] = top[:, :h] @ top[:, :h].T + 3 * torch.eye(h, dtype=torch.float64)
    return SymmArrowhead(top, torch.rand(n - h, dtype=torch.float64) + 1.0)


def test_arrowhead_sqrt_inverse_matvec_gram_match_dense_algebra():
    x = _random_arrowhead()
    dense = _dense(x)
    u = sqrt(x)
    h, n = x.top.shape
    full_u = torch.zeros(n, n, dtype=torch.float64)
    full_u[:h] = u.top
    full_u[range(h, n), range(h, n)] = u.bottom_diag
    assert torch.allclose(full_u, full_u.triu())  # upper triangular
    torch.testing.assert_close(full_u @ full_u.T, dense)
    v = triu_inverse(u)
    full_v = torch.zeros(n, n, dtype=torch.float64)
    full_v[:h] = v.top
    full_v[range(h, n), range(h, n)] = v.bottom_diag
    torch.testing.assert_close(full_v, torch.linalg.inv(full_u))
    y = torch.randn(n, dtype=torch.float64)
    torch.testing.assert_close(triu_matvecmul(u, y), full_u @ y)
    torch.testing.assert_close(triu_matvecmul(u, y, transpose=True), full_u.T @ y)
    # the precision of x from its inverse square root
    torch.testing.assert_close(triu_gram(v), torch.linalg.inv(dense))


def test_welford_arrowhead_matches_numpy_covariance():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(40, 4)) @ rng.normal(size=(4, 4))
    w = WelfordArrowheadCovariance(head_size=1)
    for row in x:
        w.update(torch.tensor(row))
    cov = np.cov(x.T)
    est = w.get_covariance(regularize=False)
    np.testing.assert_allclose(est.top.numpy(), cov[:1], rtol=1e-10)
    np.testing.assert_allclose(est.bottom_diag.numpy(), np.diag(cov)[1:], rtol=1e-10)
    # Stan's shrinkage on the diagonal, the head's off-diagonal entries scaled
    reg = w.get_covariance()
    np.testing.assert_allclose(reg.top[0, 0].item(), 40 / 45 * cov[0, 0] + 1e-3 * 5 / 45)
    np.testing.assert_allclose(reg.top[0, 1:].numpy(), 40 / 45 * cov[0, 1:], rtol=1e-10)


def test_welford_covariance_of_a_batch_matches_separate_estimates():
    torch.manual_seed(2)
    x = torch.randn(30, 2, 3, dtype=torch.float64)
    batched = WelfordCovariance(diagonal=False)
    single = [WelfordCovariance(diagonal=False) for _ in range(2)]
    for row in x:
        batched.update(row)
        for c in range(2):
            single[c].update(row[c])
    for c in range(2):
        torch.testing.assert_close(batched.get_covariance()[c], single[c].get_covariance())


def test_streaming_stats_and_merge_match_numpy():
    torch.manual_seed(3)
    x = torch.randn(50, 2, dtype=torch.float64)
    a, b = CountMeanVarianceStats(), CountMeanVarianceStats()
    for row in x[:20]:
        a.update(row)
    for row in x[20:]:
        b.update(row)
    merged = a.merge(b).get()
    assert merged["count"] == 50
    np.testing.assert_allclose(merged["mean"].numpy(), x.numpy().mean(0), rtol=1e-12)
    np.testing.assert_allclose(merged["variance"].numpy(), x.numpy().var(0, ddof=1),
                               rtol=1e-12)
    m = CountMeanStats()
    for row in x:
        m.update(row)
    np.testing.assert_allclose(m.get()["mean"].numpy(), x.numpy().mean(0), rtol=1e-12)
    s = StackStats()
    for row in x[:3]:
        s.update(row)
    torch.testing.assert_close(s.get()["samples"], x[:3])
    c = CountStats()
    c.update(None)
    assert c.merge(c).get() == {"count": 2}
    with pytest.raises(TypeError, match="merge"):
        c.merge(m)


def test_stats_of_dict_uses_per_key_types():
    stats = StatsOfDict(types={"b": CountStats})
    for i in range(4):
        stats.update({"a": torch.tensor(float(i)), "b": torch.tensor(0.0)})
    out = stats.get()
    assert out["b"] == {"count": 4}
    assert out["a"]["mean"].item() == 1.5
    merged = stats.merge(stats).get()
    assert merged["a"]["count"] == 8 and merged["b"]["count"] == 8


def test_velocity_verlet_on_dicts_matches_the_exact_map():
    # U = (x^2 + y^2) / 2 with unit mass: one leapfrog step of size h is a linear map
    h = 0.2

    def potential_fn(z):
        return 0.5 * (z["x"] ** 2).sum() + 0.5 * (z["y"] ** 2).sum()

    z = {"x": torch.tensor([0.5], dtype=torch.float64),
         "y": torch.tensor([[1.0, -1.0]], dtype=torch.float64)}
    r = {"x": torch.tensor([0.1], dtype=torch.float64),
         "y": torch.tensor([[0.0, 0.3]], dtype=torch.float64)}
    z1, r1, grads, pe = velocity_verlet(z, r, potential_fn, lambda r: r, h)
    for k in z:
        q, p = z[k], r[k]
        p_half = p - h / 2 * q
        q1 = q + h * p_half
        torch.testing.assert_close(z1[k], q1)
        torch.testing.assert_close(r1[k], p_half - h / 2 * q1)
        torch.testing.assert_close(grads[k], q1)
    assert pe.item() == pytest.approx(potential_fn(z1).item())


def test_registered_exception_handler_turns_errors_into_nan():
    def potential_fn(z):
        torch.linalg.cholesky(z["m"])  # not positive definite
        return z["m"].sum()

    grads, pe = potential_grad(potential_fn, {"m": -torch.eye(2)})
    assert torch.isnan(pe) and torch.isnan(grads["m"]).all()

    def raising(z):
        raise KeyError("boom")

    with pytest.raises(KeyError):
        potential_grad(raising, {"m": torch.eye(2)})
    register_exception_handler("test-keyerror", lambda e: isinstance(e, KeyError))
    _, pe = potential_grad(raising, {"m": torch.eye(2)})
    assert torch.isnan(pe)
    with pytest.warns(RuntimeWarning, match="overwriting"):
        register_exception_handler("test-keyerror", lambda e: False)
