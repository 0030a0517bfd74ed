"""PyroOptim: exact first steps, per-parameter arguments, parameters that come and go."""
import pytest
import torch

import pyro
from pyro.optim import SGD, Adam, PyroOptim


def uparam(name, init, **kw):
    """Create (or fetch) a ParamStore parameter; return its unconstrained leaf tensor."""
    return pyro.param(name, init, **kw).unconstrained()


def step_with(optim, grads):
    """Give each tensor its gradient, step, clear the gradients (as SVI does)."""
    for p, g in grads.items():
        p.grad = None if g is None else g.clone()
    optim(list(grads))
    for p in grads:
        p.grad = None


def test_adam_first_step_is_hand_computed():
    # step 1 of Adam: m^ = g, v^ = g^2, x <- x - lr g / (|g| + eps)
    x = uparam("x", torch.tensor([1.0, -2.0, 0.5]))
    g = torch.tensor([0.3, -7.0, 1e-3])
    optim = Adam({"lr": 0.05, "eps": 1e-3})
    step_with(optim, {x: g})
    x0 = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    want = x0 - 0.05 * g.double() / (g.double().abs() + 1e-3)
    assert torch.allclose(x.detach().double(), want, atol=1e-7, rtol=0)


def test_sgd_with_momentum_two_steps_are_hand_computed():
    # v1 = g1, x1 = x0 - lr v1; v2 = mu v1 + (1 - d) g2, x2 = x1 - lr v2
    lr, mu, d = 0.1, 0.9, 0.25
    x = uparam("x", torch.tensor([1.0, 2.0]))
    g1, g2 = torch.tensor([1.0, -1.0]), torch.tensor([0.5, 2.0])
    optim = SGD({"lr": lr, "momentum": mu, "dampening": d})
    step_with(optim, {x: g1})
    x1 = torch.tensor([1.0, 2.0]) - lr * g1
    assert torch.allclose(x.detach(), x1, atol=1e-7)
    step_with(optim, {x: g2})
    v2 = mu * g1 + (1 - d) * g2
    assert torch.allclose(x.detach(), x1 - lr * v2, atol=1e-7)


def test_per_param_callable_args_give_per_param_learning_rates():
    seen = []

    def per_param(module_name, param_name):
        seen.append((module_name, param_name))
        return {"lr": 0.5 if param_name == "special" else 0.01}

    a = uparam("special", torch.tensor(0.0))
    b = uparam("other", torch.tensor(0.0))
    optim = SGD(per_param)
    step_with(optim, {a: torch.tensor(1.0), b: torch.tensor(1.0)})
    assert a.item() == pytest.approx(-0.5)
    assert b.item() == pytest.approx(-0.01)
    assert sorted(seen) == [("other", "other"), ("special", "special")]
    # the callable is asked once per parameter, not per step
    step_with(optim, {a: torch.tensor(1.0), b: torch.tensor(1.0)})
    assert len(seen) == 2


def test_callable_receives_module_and_parameter_names():
    net = torch.nn.Linear(2, 1)
    pyro.module("net", net)
    seen = {}

    def per_param(module_name, param_name):
        seen[(module_name, param_name)] = True
        return {"lr": 0.1}

    optim = SGD(per_param)
    weight = net.weight
    step_with(optim, {weight: torch.ones_like(weight)})
    assert ("net", "weight") in seen


def test_parameters_appearing_later_get_their_own_first_step():
    a = uparam("a", torch.tensor(0.0))
    optim = Adam({"lr": 0.1})
    for _ in range(3):
        step_with(optim, {a: torch.tensor(1.0)})
    b = uparam("b", torch.tensor(0.0))  # a new parameter at step 4 (dynamic model)
    step_with(optim, {a: torch.tensor(1.0), b: torch.tensor(-2.0)})
    # b's Adam state starts now: its first move is lr * sign(g)
    assert b.item() == pytest.approx(0.1, abs=1e-6)
    assert optim.get_state()["b"]["state"][0]["step"].item() == 1
    assert optim.get_state()["a"]["state"][0]["step"].item() == 4


@pytest.mark.parametrize("grouped", [False, True])
def test_params_without_grad_are_not_stepped(grouped):
    a = uparam("a", torch.tensor(1.0))
    b = uparam("b", torch.tensor(1.0))
    optim = Adam({"lr": 0.1}, grouped=grouped)
    step_with(optim, {a: torch.tensor(1.0), b: None})
    assert b.item() == 1.0 and a.item() != 1.0
    assert optim.get_state()["b"]["state"] == {}


def test_params_absent_from_a_step_keep_their_state_and_are_not_moved():
    # grouped mode must not step a parameter of its group that is absent from this call,
    # even if it still carries a stale nonzero gradient
    a = uparam("a", torch.tensor(1.0))
    b = uparam("b", torch.tensor(1.0))
    optim = Adam({"lr": 0.1})
    step_with(optim, {a: torch.tensor(1.0), b: torch.tensor(1.0)})
    b_before = b.item()
    b.grad = torch.tensor(5.0)  # stale
    a.grad = torch.tensor(1.0)
    optim([a])
    assert b.item() == b_before


def test_order_and_container_of_params_do_not_matter():
    names = [f"p{i}" for i in range(5)]

    def run(order_fn):
        pyro.clear_param_store()
        ps = [uparam(n, torch.tensor(float(i))) for i, n in enumerate(names)]
        optim = Adam({"lr": 0.1})
        for t in range(4):
            for i, p in enumerate(ps):
                p.grad = torch.tensor(float(i - t))
            optim(order_fn(ps, t))
        return torch.stack([p.detach() for p in ps])

    ref = run(lambda ps, t: list(ps))
    assert torch.equal(run(lambda ps, t: set(ps)), ref)
    assert torch.equal(run(lambda ps, t: ps[::-1] if t % 2 else ps), ref)
    assert torch.equal(run(lambda ps, t: iter(ps + ps)), ref)  # duplicates step once


def test_tensors_outside_the_store_work_with_dict_args_only():
    x = torch.zeros(2, requires_grad=True)
    optim = SGD({"lr": 0.5})
    x.grad = torch.ones(2)
    optim([x])
    assert torch.equal(x.detach(), torch.full((2,), -0.5))
    with pytest.warns(UserWarning, match="not in the ParamStore"):
        assert optim.get_state() == {}
    optim2 = SGD(lambda m, p: {"lr": 0.5})
    with pytest.raises(ValueError, match=r"shape \(2,\) is not in the ParamStore"):
        optim2([x])


def test_a_new_tensor_under_an_old_name_starts_afresh():
    a = uparam("a", torch.tensor(0.0))
    optim = Adam({"lr": 0.1})
    for _ in range(3):
        step_with(optim, {a: torch.tensor(1.0)})
    pyro.clear_param_store()
    a2 = uparam("a", torch.tensor(0.0))
    step_with(optim, {a2: torch.tensor(1.0)})
    assert a2.item() == pytest.approx(-0.1, abs=1e-6)
    assert len(optim.optim_objs) == 1
    assert optim.get_state()["a"]["state"][0]["step"].item() == 1


def test_bad_arguments_are_reported_clearly():
    with pytest.raises(TypeError, match="not an instance"):
        PyroOptim(torch.optim.Adam([torch.zeros(1, requires_grad=True)]), {"lr": 1.0})
    with pytest.raises(TypeError, match="optim_args"):
        PyroOptim(torch.optim.Adam, 0.1)
    with pytest.raises(ValueError, match="clip_norm"):
        PyroOptim(torch.optim.Adam, {}, clip_args={"clip_norm": 1.0, "clip_value": 1.0})
    with pytest.raises(TypeError, match="must return a dict"):
        a = uparam("a", torch.tensor(0.0))
        a.grad = torch.tensor(1.0)
        PyroOptim(torch.optim.Adam, lambda m, p: 0.1)([a])
    b = uparam("b", torch.tensor(0.0))
    b.grad = torch.tensor(1.0)
    with pytest.raises(ValueError, match=r"Adam for parameter 'b'.*lr"):
        Adam({"lr": -1.0})([b])


def test_lbfgs_with_closure_matches_torch_lbfgs():
    # per-parameter LBFGS: each parameter's optimizer runs the user's closure
    target = torch.tensor([1.0, -2.0, 3.0])

    def fit(make_opt):
        pyro.clear_param_store()
        x = uparam("x", torch.zeros(3))
        step = make_opt(x)

        def closure():
            x.grad = None
            loss = ((x - target) ** 2 * torch.tensor([1.0, 2.0, 3.0])).sum()
            loss.backward()
            return loss

        for _ in range(4):
            step(closure)
        return x.detach().clone()

    def torch_lbfgs(x):
        opt = torch.optim.LBFGS([x], lr=0.5, max_iter=5)
        return opt.step

    def pyro_lbfgs(x):
        optim = pyro.optim.LBFGS({"lr": 0.5, "max_iter": 5})
        return lambda closure: optim([x], closure)

    got = fit(pyro_lbfgs)
    assert torch.equal(got, fit(torch_lbfgs))
    assert torch.allclose(got, target, atol=1e-4)


def test_clip_args_clip_each_parameter():
    a = uparam("a", torch.zeros(2))
    b = uparam("b", torch.zeros(2))
    optim = SGD({"lr": 1.0}, clip_args={"clip_norm": 1.0})
    step_with(optim, {a: torch.tensor([3.0, 4.0]), b: torch.tensor([0.3, 0.4])})
    assert torch.allclose(a.detach(), torch.tensor([-0.6, -0.8]))
    assert torch.allclose(b.detach(), torch.tensor([-0.3, -0.4]))
    c = uparam("c", torch.zeros(2))
    optim = SGD({"lr": 1.0}, clip_args={"clip_value": 0.5})
    step_with(optim, {c: torch.tensor([3.0, -0.25])})
    assert torch.allclose(c.detach(), torch.tensor([-0.5, 0.25]))


def test_callable_clip_args_per_parameter():
    a = uparam("a", torch.zeros(2))
    b = uparam("b", torch.zeros(2))
    optim = SGD({"lr": 1.0}, clip_args=lambda m, p: {"clip_value": 1.0} if p == "a" else None)
    step_with(optim, {a: torch.tensor([3.0, 4.0]), b: torch.tensor([3.0, 4.0])})
    assert torch.allclose(a.detach(), torch.tensor([-1.0, -1.0]))
    assert torch.allclose(b.detach(), torch.tensor([-3.0, -4.0]))


def test_repr_names_mode_and_counts():
    a = uparam("a", torch.zeros(1))
    optim = Adam({"lr": 0.1})
    step_with(optim, {a: torch.ones(1)})
    assert "grouped" in repr(optim) and "1 parameters" in repr(optim)


def _torch_optimizers(optim):
    return [slot.optimizer for slot in optim._slots]


@pytest.mark.parametrize("settings, fused", [
    ({"lr": 0.1}, True),                      # default: torch's fused kernel
    ({"lr": 0.1, "foreach": False}, None),    # an explicit choice is kept
    ({"lr": 0.1, "fused": False}, False),
])
def test_adam_uses_the_fused_kernel_unless_told_otherwise(settings, fused):
    p = pyro.param("w", torch.tensor([1.0, -2.0])).unconstrained()
    p.grad = torch.tensor([0.5, 0.5])
    optim = Adam(settings)
    optim([p])
    (torch_optim,) = _torch_optimizers(optim)
    assert torch_optim.defaults["fused"] == fused
    # first Adam step moves each coordinate by lr against the gradient's sign
    assert torch.allclose(p.detach(), torch.tensor([0.9, -2.1]))
