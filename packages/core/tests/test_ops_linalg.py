"""pyro.ops.linalg and pyro.ops.hessian against torch.linalg / torch.autograd.functional."""
import warnings

import pytest
import torch

from pyro.ops.hessian import hessian
from pyro.ops.linalg import (
    determinant_3d,
    eig_3d,
    ignore_torch_deprecation_warnings,
    inv3d,
    rinverse,
)


def _spd(*batch, n):
    A = torch.randn(*batch, n, n, dtype=torch.float64)
    return A @ A.mT + n * torch.eye(n, dtype=torch.float64)


def test_determinant_and_eig_3d():
    H = _spd(4, n=3)
    torch.testing.assert_close(determinant_3d(H), torch.linalg.det(H))
    torch.testing.assert_close(torch.stack(eig_3d(H), -1), torch.linalg.eigvalsh(H))
    # diagonal, repeated and indefinite cases
    for diag in ([3.0, 1.0, 2.0], [2.0, 2.0, 2.0], [-1.0, 5.0, -1.0]):
        H = torch.diag(torch.tensor(diag, dtype=torch.float64))
        torch.testing.assert_close(torch.stack(eig_3d(H)), torch.tensor(sorted(diag)).double())
    with pytest.raises(ValueError, match="3, 3"):
        eig_3d(torch.eye(2))


@pytest.mark.parametrize("sym", [False, True])
def test_inv3d(sym):
    H = _spd(2, 5, n=3) if sym else torch.randn(2, 5, 3, 3, dtype=torch.float64)
    torch.testing.assert_close(inv3d(H, sym=sym), torch.linalg.inv(H))


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 8])
@pytest.mark.parametrize("sym", [False, True])
def test_rinverse(n, sym):
    M = _spd(3, n=n) if sym else torch.randn(3, n, n, dtype=torch.float64) + 4 * torch.eye(n)
    torch.testing.assert_close(rinverse(M, sym=sym), torch.linalg.inv(M))


def test_ignore_torch_deprecation_warnings():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with ignore_torch_deprecation_warnings():
            warnings.warn("x is deprecated", UserWarning)
        warnings.warn("kept", UserWarning)
    assert [str(w.message) for w in caught] == ["kept"]


def test_hessian_matches_autograd_functional():
    x = torch.randn(3, dtype=torch.float64, requires_grad=True)
    z = torch.randn(2, 2, dtype=torch.float64, requires_grad=True)

    def f(x, z):
        return (x**2).sum() * z.prod() + x[0] ** 3 + (z.sin() * x[:2]).sum()

    blocks = torch.autograd.functional.hessian(f, (x, z))
    expected = torch.cat(
        [torch.cat([b.reshape(x.numel() if i == 0 else z.numel(), -1) for b in row], -1)
         for i, row in enumerate(blocks)],
        -2,
    )
    actual = hessian(f(x, z), (x, z))
    assert actual.shape == (7, 7) and not actual.requires_grad
    torch.testing.assert_close(actual, expected)
    torch.testing.assert_close(hessian((x**3).sum(), x), torch.diag(6 * x.detach()))


def test_hessian_of_linear_and_unused_inputs_is_zero():
    x = torch.randn(2, requires_grad=True)
    unused = torch.randn(2, requires_grad=True)
    torch.testing.assert_close(hessian(x.sum() * 3, [x, unused]), torch.zeros(4, 4))
    with pytest.raises(ValueError, match="scalar"):
        hessian(x * 2, x)
