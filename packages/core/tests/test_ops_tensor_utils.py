import math

import numpy as np
import pytest
import torch

import pyro.ops.tensor_utils as T

scipy_fft = pytest.importorskip("scipy.fft", reason="scipy gives the reference transforms")


def randn(*shape):
    return torch.randn(*shape, dtype=torch.float64)


@pytest.mark.parametrize("N", [1, 2, 3, 4, 7, 8, 17])
def test_dct_idct_match_scipy_ortho(N):
    x = randn(3, N)
    np.testing.assert_allclose(T.dct(x).numpy(), scipy_fft.dct(x.numpy(), norm="ortho"), atol=1e-12)
    np.testing.assert_allclose(
        T.idct(x).numpy(), scipy_fft.idct(x.numpy(), norm="ortho"), atol=1e-12
    )
    torch.testing.assert_close(T.idct(T.dct(x)), x)


def test_dct_dim():
    x = randn(5, 4, 3)
    expected = scipy_fft.dct(x.numpy(), norm="ortho", axis=0)
    np.testing.assert_allclose(T.dct(x, dim=0).numpy(), expected, atol=1e-12)
    torch.testing.assert_close(T.idct(T.dct(x, dim=1), dim=1), x)


def _haar_matrix(N):
    return torch.stack([T.haar_transform(e) for e in torch.eye(N, dtype=torch.float64)], -1)


@pytest.mark.parametrize("N", [1, 2, 3, 5, 6, 8, 13])
def test_haar_is_orthonormal_and_inverted(N):
    H = _haar_matrix(N)
    torch.testing.assert_close(H @ H.T, torch.eye(N, dtype=torch.float64))
    x = randn(2, N)
    torch.testing.assert_close(T.inverse_haar_transform(T.haar_transform(x)), x)


def test_haar_power_of_two_closed_form():
    # [a, b, c, d] -> [(a+b+c+d)/2, (a+b-c-d)/2, (a-b)/sqrt2, (c-d)/sqrt2]
    x = torch.tensor([0.0, 1.0, 2.0, 3.0])
    r = math.sqrt(0.5)
    torch.testing.assert_close(T.haar_transform(x), torch.tensor([3.0, -2.0, -r, -r]))
    # odd length: the last element is carried after the finest details
    torch.testing.assert_close(
        T.haar_transform(torch.arange(5.0)), torch.tensor([3.0, -2.0, -r, -r, 4.0])
    )


@pytest.mark.parametrize("mode", ["full", "valid", "same"])
@pytest.mark.parametrize("m,n", [(5, 3), (3, 5), (4, 2), (1, 4), (6, 6)])
def test_convolve_matches_numpy(m, n, mode):
    signal, kernel = randn(m), randn(n)
    expected = np.convolve(signal.numpy(), kernel.numpy(), mode)
    np.testing.assert_allclose(T.convolve(signal, kernel, mode).numpy(), expected, atol=1e-12)


def test_convolve_broadcasts_and_rejects_mode():
    signal, kernel = randn(4, 1, 10), randn(3, 4)
    assert T.convolve(signal, kernel).shape == (4, 3, 13)
    with pytest.raises(ValueError, match="mode"):
        T.convolve(signal, kernel, "circular")


def test_next_fast_len():
    for size in [1, 7, 97, 1000, 1025]:
        assert T.next_fast_len(size) == scipy_fft.next_fast_len(size, real=True)
    with pytest.raises(ValueError):
        T.next_fast_len(0)


def test_repeated_matmul():
    M = randn(2, 3, 3) / 2
    result = T.repeated_matmul(M, 6)
    assert result.shape == (6, 2, 3, 3)
    for k in range(6):
        torch.testing.assert_close(result[k], torch.linalg.matrix_power(M, k + 1))
    with pytest.raises(ValueError):
        T.repeated_matmul(randn(2, 3), 2)


def test_block_diag_embed_and_block_diagonal():
    mat = randn(4, 3, 2, 5)
    big = T.block_diag_embed(mat)
    assert big.shape == (4, 6, 15)
    torch.testing.assert_close(big[1], torch.block_diag(*mat[1]))
    torch.testing.assert_close(T.block_diagonal(big, 3), mat)


def test_broadcast_tensors_without_dim():
    a, b = T.broadcast_tensors_without_dim([randn(2, 1, 3), randn(5, 4)], -1)
    assert a.shape == (2, 5, 3) and b.shape == (2, 5, 4)
    assert torch.cat([a, b], -1).shape == (2, 5, 7)
    a, b = T.broadcast_tensors_without_dim([randn(2, 1, 3), randn(4, 5, 3)], 0)
    assert a.shape == (2, 5, 3) and b.shape == (4, 5, 3)
    with pytest.raises(ValueError, match="negative"):
        T.broadcast_tensors_without_dim([randn(2, 3), randn(3)], 0)


def _spd(*batch, n=3):
    A = randn(*batch, n, n)
    return A @ A.mT + n * torch.eye(n, dtype=torch.float64)


def test_solves():
    P = _spd(2)
    L = torch.linalg.cholesky(P)
    b = randn(2, 3, 4)
    torch.testing.assert_close(P @ T.cholesky_solve(b, L), b)
    torch.testing.assert_close(L @ T.triangular_solve(b, L), b)
    torch.testing.assert_close(L.mT @ T.triangular_solve(b, L, transpose=True), b)
    U = L.mT
    torch.testing.assert_close(U @ T.triangular_solve(b, U, upper=True), b)
    torch.testing.assert_close(U.mT @ T.triangular_solve(b, U, upper=True, transpose=True), b)
    # batch dims broadcast
    assert T.cholesky_solve(randn(5, 1, 3, 2), L).shape == (5, 2, 3, 2)


def test_precision_to_scale_tril():
    P = _spd(4)
    L = T.precision_to_scale_tril(P)
    torch.testing.assert_close(L, torch.linalg.cholesky(torch.linalg.inv(P)))


def test_safe_cholesky():
    P = _spd(3)
    torch.testing.assert_close(T.safe_cholesky(P), torch.linalg.cholesky(P))
    singular = torch.ones(2, 2, dtype=torch.float64)
    L = T.safe_cholesky(singular)
    torch.testing.assert_close(L @ L.T, singular, atol=1e-10, rtol=0)
    with pytest.raises(torch.linalg.LinAlgError):
        T.safe_cholesky(-torch.eye(2))


def test_matmul_matvecmul():
    x, y = randn(2, 3, 4), randn(4, 5)
    torch.testing.assert_close(T.matmul(x, y), x @ y)
    a, b = randn(2, 3, 1), randn(1, 5)
    torch.testing.assert_close(T.matmul(a, b), a @ b)
    v = randn(5, 1, 4)
    torch.testing.assert_close(T.matvecmul(x, v), (x @ v.unsqueeze(-1)).squeeze(-1))
    w = randn(1)
    torch.testing.assert_close(T.matvecmul(a, w), (a @ w.unsqueeze(-1)).squeeze(-1))


def test_safe_normalize():
    torch.testing.assert_close(T.safe_normalize(torch.tensor([3.0, 4.0])), torch.tensor([0.6, 0.8]))
    torch.testing.assert_close(
        T.safe_normalize(torch.tensor([3.0, -4.0]), p=1), torch.tensor([3 / 7, -4 / 7])
    )
    torch.testing.assert_close(T.safe_normalize(torch.zeros(2, 3)), torch.eye(3)[[0, 0]])
    x = torch.zeros(3, requires_grad=True)
    T.safe_normalize(x).sum().backward()
    assert torch.isfinite(x.grad).all()


def test_as_complex():
    x = randn(3, 4)[:, :2]  # strides (4, 1): a view is impossible
    z = T.as_complex(x)
    torch.testing.assert_close(z.real, x[:, 0])
    torch.testing.assert_close(z.imag, x[:, 1])
    with pytest.raises(ValueError):
        T.as_complex(randn(3))


def test_periodic_repeat_and_cumsum():
    x = torch.tensor([[1, 2, 3], [4, 5, 6]])
    assert T.periodic_repeat(x, 4, 0).tolist() == [[1, 2, 3], [4, 5, 6], [1, 2, 3], [4, 5, 6]]
    assert T.periodic_repeat(x, 4, -1).tolist() == [[1, 2, 3, 1], [4, 5, 6, 4]]
    d = randn(10, 2)
    result = T.periodic_cumsum(d, 3, 0)
    for t in range(10):
        expected = d[t] + (result[t - 3] if t >= 3 else 0)
        torch.testing.assert_close(result[t], expected)


def test_periodic_features():
    f = T.periodic_features(10, 5)
    assert f.shape == (10, 4)
    t = torch.arange(10.0)
    torch.testing.assert_close(f[:, 1], torch.cos(4 * math.pi * t / 5))
    torch.testing.assert_close(f[:, 2], -torch.sin(2 * math.pi * t / 5), atol=1e-5, rtol=0)
    assert T.periodic_features(100, 365.25, 7).shape == (100, 2 * math.ceil(365.25 / 7) - 2)
    assert T.periodic_features(10, dtype=torch.float64).dtype == torch.float64
    assert T.periodic_features(10).shape == (10, 8)


def test_safe_cholesky_jitter_setting():
    import pyro

    assert pyro.settings.get("cholesky_relative_jitter") == 4.0
    singular = torch.ones(2, 2, dtype=torch.float64)
    L = T.safe_cholesky(singular)
    # 4 eps of jitter: L22^2 = 2 * jitter to first order
    assert L[1, 1].item() ** 2 == pytest.approx(2 * 4 * torch.finfo(torch.float64).eps, rel=0.1)
    with pyro.settings.context(cholesky_relative_jitter=400.0):
        L = T.safe_cholesky(singular)
        assert L[1, 1].item() ** 2 == pytest.approx(800 * torch.finfo(torch.float64).eps, rel=0.1)
    with pytest.raises(ValueError):
        pyro.settings.set(cholesky_relative_jitter=-1.0)


@pytest.mark.parametrize("shape, dim", [((3, 0), 0), ((3, 0), -1), ((0, 4), 1), ((0,), 0)])
def test_dct_idct_of_an_empty_tensor_is_an_empty_copy(shape, dim):
    x = torch.zeros(shape, dtype=torch.float64)
    for f in (T.dct, T.idct):
        y = f(x, dim=dim)
        assert y.shape == x.shape and y.dtype == x.dtype and y is not x
