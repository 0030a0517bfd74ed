"""ProjectedNormal: the closed-form density against quadrature, samples against density
(goodness of fit), normalization on the circle and sphere."""
import math

import numpy as np
import pytest
import torch
from scipy import integrate

import pyro.distributions as dist
from pyro.distributions.testing.gof import auto_goodness_of_fit

TEST_FAILURE_RATE = 1e-3


@pytest.mark.parametrize("dim", [2, 3, 4, 5, 7])
def test_log_prob_matches_radial_quadrature(dim):
    conc = torch.linspace(-1.0, 2.0, dim, dtype=torch.float64)
    d = dist.ProjectedNormal(conc)
    x = torch.cat([d.sample((4,)), (conc / conc.norm())[None], (-conc / conc.norm())[None]])
    expected = []
    for xi in x:
        t, sq = float(xi @ conc), float(conc @ conc)
        def f(r, t=t, sq=sq):
            return r ** (dim - 1) * math.exp(-(r * r - 2 * r * t + sq) / 2)

        value, _ = integrate.quad(f, 0, np.inf)
        expected.append(math.log(value) - dim / 2 * math.log(2 * math.pi))
    assert np.allclose(d.log_prob(x).numpy(), expected, rtol=1e-9)


def test_density_integrates_to_one_on_circle():
    theta = torch.linspace(-math.pi, math.pi, 20001, dtype=torch.float64)
    x = torch.stack([theta.cos(), theta.sin()], -1)
    d = dist.ProjectedNormal(torch.tensor([1.5, -0.7], dtype=torch.float64))
    assert torch.trapezoid(d.log_prob(x).exp(), theta).item() == pytest.approx(1.0, abs=1e-8)


def test_far_from_mode_is_finite():
    d = dist.ProjectedNormal(torch.tensor([0.0, 0.0, 30.0], dtype=torch.float64))
    lp = d.log_prob(torch.tensor([[0.0, 0.0, -1.0], [1.0, 0.0, 0.0]], dtype=torch.float64))
    assert torch.isfinite(lp).all()
    # opposite the mode: the density is about (2 pi)^{-3/2} e^{-450} * 2 / 30^3
    assert lp[0].item() == pytest.approx(-1.5 * math.log(2 * math.pi) - 450 + math.log(2 / 27000),
                                         rel=1e-3)


@pytest.mark.parametrize("conc", [[0.5, 1.0], [2.0, -1.0, 0.5]])
def test_samples_match_density(conc):
    d = dist.ProjectedNormal(torch.tensor(conc, dtype=torch.float64))
    x = d.sample((4000,))
    assert torch.allclose(x.norm(dim=-1), torch.ones(()).double())
    probs = d.log_prob(x).exp()
    # the samples lie on a (D-1)-dimensional sphere
    assert auto_goodness_of_fit(x, probs, dim=len(conc) - 1) > TEST_FAILURE_RATE


def test_mean_mode_shapes_and_expand():
    d = dist.ProjectedNormal(torch.tensor([[3.0, 4.0], [0.0, 0.0]]))
    assert torch.allclose(d.mean[0], torch.tensor([0.6, 0.8]))
    assert torch.equal(d.mode[1], torch.tensor([1.0, 0.0]))  # the zero vector's convention
    e = d.expand((3, 2))
    assert e.sample().shape == (3, 2, 2) and e.log_prob(e.sample()).shape == (3, 2)
    with pytest.raises(ValueError, match="D >= 2"):
        dist.ProjectedNormal(torch.ones(3, 1))


def test_rsample_gradient():
    conc = torch.tensor([1.0, 2.0, 0.5], requires_grad=True)
    x = dist.ProjectedNormal(conc).rsample((100,))
    x[..., 0].sum().backward()
    assert conc.grad is not None and torch.isfinite(conc.grad).all()
