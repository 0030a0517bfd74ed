"""pyro.optim.multi.Newton: one step solves a quadratic; trust radii bound the step."""
import pytest
import torch

from pyro.optim.multi import Newton


def _loss(params, centers, scales):
    return sum(((params[k] - centers[k]) ** 2 * scales[k]).sum() for k in params)


def test_newton_step_solves_quadratic_in_place():
    params = {"a": torch.zeros(4, 2, requires_grad=True), "b": torch.zeros(3, requires_grad=True)}
    params["b"] = params["b"].detach().reshape(3, 1).requires_grad_()
    centers = {"a": torch.randn(4, 2), "b": torch.randn(3, 1)}
    scales = {"a": torch.rand(4, 2) + 0.5, "b": torch.rand(3, 1) + 0.5}
    Newton().step(_loss(params, centers, scales), params)
    for k in params:
        torch.testing.assert_close(params[k].detach(), centers[k])
        assert params[k].grad is None


def test_trust_radius_limits_named_parameters_only():
    params = {"a": torch.zeros(2, 3, requires_grad=True)}
    params["b"] = torch.zeros(2, 3, requires_grad=True)
    centers = {"a": torch.full((2, 3), 10.0), "b": torch.full((2, 3), 10.0)}
    scales = {"a": torch.ones(2, 3), "b": torch.ones(2, 3)}
    updated = Newton(trust_radii={"a": 1.0}).get_step(_loss(params, centers, scales), params)
    assert (updated["a"].norm(dim=-1) <= 1.0 + 1e-6).all()
    torch.testing.assert_close(updated["b"], centers["b"])
    assert updated["a"].requires_grad  # get_step is differentiable


def test_get_step_is_differentiable_in_hyperparameters():
    center = torch.tensor([[1.0, 2.0]], requires_grad=True)
    x = torch.zeros(1, 2, requires_grad=True)
    updated = Newton().get_step(((x - center) ** 2).sum(), {"x": x})
    (grad,) = torch.autograd.grad(updated["x"].sum(), center)
    torch.testing.assert_close(grad, torch.ones(1, 2))


def test_errors():
    with pytest.raises(ValueError, match="positive"):
        Newton(trust_radii={"a": 0.0})
    x = torch.tensor(1.0, requires_grad=True)
    with pytest.raises(ValueError, match="scalar"):
        Newton().step(x**2, {"x": x})
