"""pyro.ops.newton against analytic optima of quadratics."""
import pytest
import torch

from pyro.ops.newton import newton_step, newton_step_1d, newton_step_2d, newton_step_3d


def _quadratic(D, batch=(4,)):
    A = torch.randn(batch + (D, D), dtype=torch.float64)
    P = A @ A.mT + D * torch.eye(D, dtype=torch.float64)
    center = torch.randn(batch + (D,), dtype=torch.float64)

    def loss(x):
        d = (x - center).unsqueeze(-1)
        return 0.5 * (d.mT @ P @ d).sum()

    return P, center, loss


@pytest.mark.parametrize("D", [1, 2, 3, 4, 6])
def test_newton_finds_quadratic_optimum_in_one_step(D):
    P, center, loss = _quadratic(D)
    x = torch.randn(4, D, dtype=torch.float64, requires_grad=True)
    mode, cov = newton_step(loss(x), x)
    torch.testing.assert_close(mode, center)
    torch.testing.assert_close(cov, torch.linalg.inv(P))


@pytest.mark.parametrize("D", [2, 3, 5])
def test_trust_region_bounds_the_step_and_descends(D):
    P, center, loss = _quadratic(D)
    P = P - 3 * D * torch.eye(D, dtype=torch.float64)  # make some directions concave
    x = torch.randn(4, D, dtype=torch.float64, requires_grad=True)
    f = loss(x)
    mode, cov = newton_step(f, x, trust_radius=0.1)
    step = (mode - x).detach()
    assert (step.norm(dim=-1) <= 0.1 + 1e-12).all()
    assert (torch.linalg.eigvalsh(cov) > 0).all()
    # the step is a descent direction: g . step < 0
    (g,) = torch.autograd.grad(f, x)
    assert ((g * step).sum(-1) < 0).all()


def test_trust_region_matches_regularized_closed_form():
    # loss = (x0 - 3)^2 + 4 (x1 - 1)^2 at 0: g = (-6, -8), H = diag(2, 8);
    # lam = |g| / r - min eig = 10 - 2 = 8 -> step = (6 / 10, 8 / 16)
    x = torch.zeros(2, requires_grad=True)
    loss = ((x - torch.tensor([3.0, 1.0])) ** 2 * torch.tensor([1.0, 4.0])).sum()
    mode, cov = newton_step_2d(loss, x, trust_radius=1.0)
    torch.testing.assert_close(mode, torch.tensor([0.6, 0.5]))
    torch.testing.assert_close(cov, torch.diag(torch.tensor([0.1, 1 / 16])))


def test_1d_clips_the_step():
    x = torch.zeros(3, 1, requires_grad=True)
    mode, cov = newton_step_1d(((x - 3) ** 2).sum(), x, trust_radius=1.0)
    torch.testing.assert_close(mode, torch.ones(3, 1))
    torch.testing.assert_close(cov, torch.full((3, 1, 1), 0.5))
    # concave: a full downhill step of the trust radius
    mode, _ = newton_step_1d((-((x - 3) ** 2)).sum(), x, trust_radius=1.0)
    torch.testing.assert_close(mode, -torch.ones(3, 1))


def test_newton_iteration_converges_and_is_differentiable():
    # minimize sum (x^4 / 4 + x^2 / 2 - a x): optimum solves x^3 + x = a
    a = torch.tensor([[0.5], [2.0], [10.0]], dtype=torch.float64, requires_grad=True)
    x = torch.zeros(3, 1, dtype=torch.float64)
    for _ in range(30):
        x = x.detach().requires_grad_()
        loss = (x**4 / 4 + x**2 / 2 - a * x).sum()
        x, _ = newton_step(loss, x, trust_radius=2.0)
    torch.testing.assert_close(x**3 + x, a)
    (grad,) = torch.autograd.grad(x.sum(), a)
    torch.testing.assert_close(grad, 1 / (3 * x.detach() ** 2 + 1))  # implicit function theorem


def test_errors():
    x = torch.zeros(2, 3, requires_grad=True)
    with pytest.raises(ValueError, match="rightmost size 2"):
        newton_step_2d((x**2).sum(), x)
    with pytest.raises(ValueError, match="trust_radius"):
        newton_step_3d((x**2).sum(), x, trust_radius=0.0)
    with pytest.raises(ValueError, match="scalar"):
        newton_step(x**2, x)
