"""OMT and AVF multivariate normals: unbiased scale_tril gradients (against the exact
gradient of a quadratic expectation), OMT's lower variance, shapes."""
import pytest
import torch

import pyro.distributions as dist


def _gradient_estimates(make, scale_tril, a, n_batches=40, n=4000):
    grads = []
    for _ in range(n_batches):
        x = make().rsample((n,))
        f = ((x @ a) * x).sum(-1).mean()
        grads.append(torch.autograd.grad(f, scale_tril)[0].tril())
    return torch.stack(grads)


@pytest.mark.parametrize("kind", ["omt", "avf", "mvn"])
def test_scale_tril_gradient_is_unbiased(kind):
    a = torch.tensor([[2.0, 0.3, -0.4], [0.3, 1.0, 0.2], [-0.4, 0.2, 1.5]], dtype=torch.float64)
    tril = torch.tensor([[1.0, 0, 0], [0.3, 0.8, 0], [-0.2, 0.4, 1.2]], dtype=torch.float64,
                        requires_grad=True)
    loc = torch.tensor([0.1, 0.2, -0.3], dtype=torch.float64, requires_grad=True)
    control = 0.3 * torch.randn(2, 3, 3, dtype=torch.float64)
    make = {
        "omt": lambda: dist.OMTMultivariateNormal(loc, tril),
        "avf": lambda: dist.AVFMultivariateNormal(loc, tril, control),
        "mvn": lambda: dist.MultivariateNormal(loc, scale_tril=tril),
    }[kind]
    grads = _gradient_estimates(make, tril, a)
    # d/dL E[x^T A x] = d/dL tr(A L L^T) = 2 A L on the lower triangle
    exact = (2 * a @ tril).tril().detach()
    se = grads.std(0) / len(grads) ** 0.5
    lower = torch.ones(3, 3).tril().bool()
    assert torch.all(((grads.mean(0) - exact).abs() < 5 * se + 1e-9)[lower])


def test_omt_gradient_has_lower_variance_than_reparameterization():
    a = torch.tensor([[2.0, 0.3, -0.4], [0.3, 1.0, 0.2], [-0.4, 0.2, 1.5]], dtype=torch.float64)
    tril = torch.tensor([[1.0, 0, 0], [0.3, 0.8, 0], [-0.2, 0.4, 1.2]], dtype=torch.float64,
                        requires_grad=True)
    loc = torch.zeros(3, dtype=torch.float64)
    omt = _gradient_estimates(lambda: dist.OMTMultivariateNormal(loc, tril), tril, a, 20, 500)
    rep = _gradient_estimates(lambda: dist.MultivariateNormal(loc, scale_tril=tril), tril, a,
                              20, 500)
    assert omt.var(0).sum() < rep.var(0).sum()


def test_zero_control_variate_is_the_reparameterization_gradient():
    tril = torch.tensor([[1.0, 0], [0.5, 2.0]], requires_grad=True)
    loc = torch.zeros(2)
    torch.manual_seed(3)
    x = dist.AVFMultivariateNormal(loc, tril, torch.zeros(2, 2, 2)).rsample((10,))
    (g1,) = torch.autograd.grad(x.pow(3).sum(), tril)
    torch.manual_seed(3)
    y = dist.MultivariateNormal(loc, scale_tril=tril).rsample((10,))
    (g2,) = torch.autograd.grad(y.pow(3).sum(), tril)
    assert torch.allclose(x, y) and torch.allclose(g1, g2.tril())


def test_shapes_and_errors():
    d = dist.OMTMultivariateNormal(torch.zeros(4, 2), torch.eye(2).expand(4, 2, 2))
    assert d.rsample((3,)).shape == (3, 4, 2) and d.expand((5, 4)).batch_shape == (5, 4)
    with pytest.raises(ValueError, match="control_var"):
        dist.AVFMultivariateNormal(torch.zeros(2), torch.eye(2), torch.zeros(2, 3, 3))
