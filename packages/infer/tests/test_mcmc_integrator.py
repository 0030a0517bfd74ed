"""The leapfrog integrator (pyro.ops.integrator) and the block mass matrix's kinetic
energy and momenta, checked exactly on quadratic potentials."""
import math

import pytest
import torch

from pyro.infer.mcmc.adaptation import BlockMassMatrix
from pyro.ops.integrator import leapfrog


class EuclideanMetric:
    """One chain's mass matrix through BlockMassMatrix (one block over every site)."""

    def __init__(self, inverse_mass_matrix):
        m = inverse_mass_matrix
        n = m.shape[-1]
        self.mm = BlockMassMatrix()
        shape = (n, n) if m.dim() == 2 else (n,)
        if m.dim() == 2 and m.shape[0] != m.shape[1]:
            raise ValueError("square")
        self.mm.configure({("z",): shape}, initial=torch.zeros(1, n, dtype=m.dtype))
        self.mm.inverse_mass_matrix = {("z",): m.unsqueeze(0)}

    def sample_momentum(self, like):
        return self.mm.sample_momentum(like.unsqueeze(0))[0]

    def velocity(self, r):
        return self.mm.kinetic_grad(r.unsqueeze(0))[0]

    def kinetic_energy(self, r):
        return 0.5 * torch.dot(r, self.velocity(r)).item()


def velocity_verlet(z, r, grad, step_size, potential_grad, metric, num_steps=1):
    z, r, pe, grad = leapfrog(z, r, grad, step_size, potential_grad, metric.velocity,
                              num_steps)
    return z, r, pe, grad

torch.set_num_threads(1)


def quadratic(precision):
    """U(z) = z^T P z / 2 with its gradient P z, as the integrator's potential_grad."""

    def potential_grad(z):
        g = precision @ z
        return 0.5 * torch.dot(z, g).item(), g

    return potential_grad


def leapfrog_matrix(h):
    """The exact leapfrog map of (q, p) for U = q^2 / 2 with unit mass and step h."""
    return torch.tensor([[1 - h * h / 2, h], [-h * (1 - h * h / 4), 1 - h * h / 2]],
                        dtype=torch.float64)


@pytest.mark.parametrize("num_steps", [1, 7])
def test_leapfrog_matches_the_exact_linear_map(num_steps):
    h = 0.3
    pot = quadratic(torch.eye(1, dtype=torch.float64))
    metric = EuclideanMetric(torch.ones(1, dtype=torch.float64))
    z, r = torch.tensor([0.7], dtype=torch.float64), torch.tensor([-0.4], dtype=torch.float64)
    _, g = pot(z)
    z1, r1, pe1, g1 = velocity_verlet(z, r, g, h, pot, metric, num_steps)
    expected = torch.linalg.matrix_power(leapfrog_matrix(h), num_steps) @ torch.cat([z, r])
    torch.testing.assert_close(torch.cat([z1, r1]), expected, rtol=0, atol=1e-14)
    assert pe1 == pytest.approx(0.5 * z1.item() ** 2, rel=1e-14)
    torch.testing.assert_close(g1, z1)


def test_leapfrog_conserves_the_shadow_hamiltonian_exactly():
    # For U = q^2/2 the leapfrog map preserves (1 - h^2/4) q^2 + p^2 exactly (the quadratic
    # form Q with M^T Q M = Q), so H drifts only within O(h^2) and never accumulates.
    h = 0.5
    pot = quadratic(torch.eye(1, dtype=torch.float64))
    metric = EuclideanMetric(torch.ones(1, dtype=torch.float64))
    z, r = torch.tensor([1.0], dtype=torch.float64), torch.tensor([0.5], dtype=torch.float64)
    _, g = pot(z)

    def shadow(z, r):
        return (1 - h * h / 4) * z.item() ** 2 + r.item() ** 2

    h0 = 0.5 * z.item() ** 2 + 0.5 * r.item() ** 2
    s0 = shadow(z, r)
    for _ in range(1000):
        z, r, pe, g = velocity_verlet(z, r, g, h, pot, metric, 1)
        assert shadow(z, r) == pytest.approx(s0, rel=1e-11)
        # |H - H0| <= (h^2 / 8) q^2 <= (h^2 / 8) * s0 / (1 - h^2 / 4)
        assert abs(pe + 0.5 * r.item() ** 2 - h0) <= h * h / 8 * s0 / (1 - h * h / 4) + 1e-12


@pytest.mark.parametrize("dense", [False, True])
def test_leapfrog_is_reversible(dense):
    torch.manual_seed(0)
    a = torch.randn(3, 3, dtype=torch.float64)
    precision = a @ a.T + 3 * torch.eye(3, dtype=torch.float64)
    if dense:
        b = torch.randn(3, 3, dtype=torch.float64)
        inv_mass = b @ b.T + torch.eye(3, dtype=torch.float64)
    else:
        inv_mass = torch.tensor([0.5, 1.0, 2.0], dtype=torch.float64)
    metric = EuclideanMetric(inv_mass)
    pot = quadratic(precision)
    z0 = torch.randn(3, dtype=torch.float64)
    r0 = metric.sample_momentum(z0)
    _, g0 = pot(z0)
    z1, r1, _, g1 = velocity_verlet(z0, r0, g0, 0.05, pot, metric, 25)
    # integrating backwards (negative step) retraces the path
    z2, r2, _, _ = velocity_verlet(z1, r1, g1, -0.05, pot, metric, 25)
    torch.testing.assert_close(z2, z0, rtol=0, atol=1e-12)
    torch.testing.assert_close(r2, r0, rtol=0, atol=1e-12)
    # so does flipping the momentum
    z3, r3, _, _ = velocity_verlet(z1, -r1, g1, 0.05, pot, metric, 25)
    torch.testing.assert_close(z3, z0, rtol=0, atol=1e-12)
    torch.testing.assert_close(-r3, r0, rtol=0, atol=1e-12)


def test_dense_metric_kinetic_energy_and_momentum_covariance():
    torch.manual_seed(1)
    inv_mass = torch.tensor([[2.0, 0.6], [0.6, 1.0]], dtype=torch.float64)
    metric = EuclideanMetric(inv_mass)
    r = torch.tensor([0.3, -1.2], dtype=torch.float64)
    assert metric.kinetic_energy(r) == pytest.approx(0.5 * (r @ inv_mass @ r).item(), rel=1e-14)
    torch.testing.assert_close(metric.velocity(r), inv_mass @ r)
    # momenta ~ N(0, M) with M = inv(inverse_mass_matrix): the empirical covariance of
    # 20000 draws has entrywise sd <= sqrt(2/20000) * max|M| ~ 0.02; tolerance 0.1
    draws = torch.stack([metric.sample_momentum(r) for _ in range(20000)])
    torch.testing.assert_close(torch.cov(draws.T), torch.linalg.inv(inv_mass), rtol=0, atol=0.1)
    diag = EuclideanMetric(torch.tensor([4.0, 0.25], dtype=torch.float64))
    d = torch.stack([diag.sample_momentum(r) for _ in range(20000)])
    torch.testing.assert_close(d.std(0), torch.tensor([0.5, 2.0], dtype=torch.float64),
                               rtol=0.05, atol=0)


def test_metric_rejects_bad_matrices():
    with pytest.raises(ValueError, match="positive definite"):
        EuclideanMetric(torch.tensor([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(ValueError, match="positive"):
        EuclideanMetric(torch.tensor([1.0, -1.0]))
    with pytest.raises(ValueError, match="square"):
        EuclideanMetric(torch.ones(2, 3))


def test_leapfrog_with_a_step_size_per_chain():
    # two chains, steps 0.3 and 0.1, on U = q^2/2: each follows its own exact linear map
    z = torch.tensor([[0.7], [0.2]], dtype=torch.float64)
    r = torch.tensor([[-0.4], [1.0]], dtype=torch.float64)
    step = torch.tensor([[0.3], [0.1]], dtype=torch.float64)

    def value_and_grad(z):
        return 0.5 * (z * z).sum(-1), z

    z1, r1, _, _ = leapfrog(z, r, z, step, value_and_grad, lambda r: r, 3)
    for c, h in enumerate((0.3, 0.1)):
        expected = torch.linalg.matrix_power(leapfrog_matrix(h), 3) @ torch.cat([z[c], r[c]])
        torch.testing.assert_close(torch.cat([z1[c], r1[c]]), expected, rtol=0, atol=1e-14)


def test_energy_error_of_one_leapfrog_step_is_third_order():
    # The local energy error of leapfrog is O(h^3): halving h divides it by ~8.
    pot = quadratic(torch.eye(1, dtype=torch.float64))
    metric = EuclideanMetric(torch.ones(1, dtype=torch.float64))
    z, r = torch.tensor([1.0], dtype=torch.float64), torch.tensor([1.0], dtype=torch.float64)
    _, g = pot(z)
    errors = []
    for h in (0.1, 0.05):
        z1, r1, pe1, _ = velocity_verlet(z, r, g, h, pot, metric, 1)
        errors.append(abs(pe1 + 0.5 * r1.item() ** 2 - 1.0))
    assert math.log2(errors[0] / errors[1]) == pytest.approx(3.0, abs=0.1)
