"""PyroOptim's step plan and its unwrapped torch step: the same numbers as torch's own
``step``, and torch's wrapper used whenever it has work (hooks, profiler, schedulers)."""
import warnings

import pytest
import torch
from torch.optim.optimizer import register_optimizer_step_post_hook

import pyro
from pyro.optim import SGD, Adam
from pyro.optim.step_plan import StepPlan, step_optimizer


def _params(seed, shapes=((3,), (2, 2), ())):
    torch.manual_seed(seed)
    return {f"p{i}": pyro.param(f"p{i}", torch.randn(s)).unconstrained()
            for i, s in enumerate(shapes)}


def _grads(params, seed):
    torch.manual_seed(seed)
    return {n: torch.randn_like(p) for n, p in params.items()}


@pytest.mark.parametrize("pyro_optim, torch_optim", [
    (lambda: Adam({"lr": 0.05}), lambda ps: torch.optim.Adam(ps, lr=0.05, fused=True)),
    (lambda: Adam({"lr": 0.05, "foreach": False}),
     lambda ps: torch.optim.Adam(ps, lr=0.05, foreach=False)),
    (lambda: SGD({"lr": 0.1, "momentum": 0.9}),
     lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9)),
])
def test_steps_equal_torchs_own_optimizer(pyro_optim, torch_optim):
    pyro.clear_param_store()
    params = _params(0)
    twins = {n: p.detach().clone().requires_grad_() for n, p in params.items()}
    optim, reference = pyro_optim(), torch_optim(list(twins.values()))
    for step in range(5):
        grads = _grads(params, 100 + step)
        for n in params:
            params[n].grad, twins[n].grad = grads[n].clone(), grads[n].clone()
        optim(params)
        reference.step()
        for n in params:
            params[n].grad = twins[n].grad = None
    for n in params:
        assert torch.equal(params[n].detach(), twins[n].detach()), n


def test_step_hooks_run():
    pyro.clear_param_store()
    params = _params(1)
    optim = Adam({"lr": 0.1})
    for p in params.values():
        p.grad = torch.ones_like(p)
    optim(params)  # builds the optimizers
    calls = []
    handles = [o.register_step_pre_hook(lambda *a: calls.append("pre"))
               for o in {id(o): o for o in optim.optim_objs.values()}.values()]
    global_handle = register_optimizer_step_post_hook(
        lambda *a: calls.append("post"))
    try:
        optim(params)
    finally:
        for h in handles:
            h.remove()
        global_handle.remove()
    assert calls == ["pre", "post"]  # one grouped optimizer, stepped through torch's wrapper
    optim(params)
    assert calls == ["pre", "post"]  # hooks removed: nothing more


def test_profiler_sees_the_optimizer_step():
    pyro.clear_param_store()
    params = _params(2)
    optim = Adam({"lr": 0.1})
    for p in params.values():
        p.grad = torch.ones_like(p)
    optim(params)
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        optim(params)
    assert any(e.name == "Optimizer.step#Adam.step" for e in prof.events())


def test_step_runs_without_grad_and_restores_grad_mode():
    p = torch.ones(3, requires_grad=True)
    p.grad = torch.ones(3)
    opt = torch.optim.Adam([p], lr=0.1)
    step_optimizer(opt)
    assert torch.is_grad_enabled()
    assert p.grad_fn is None and not p.detach().eq(1).any()


def test_scheduler_counts_steps_of_the_optimizer():
    # an LR scheduler replaces step on the instance to count calls: that step is used
    p = torch.ones(2, requires_grad=True)
    opt = torch.optim.SGD([p], lr=1.0)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    p.grad = torch.ones(2)
    step_optimizer(opt)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "lr_scheduler.step() before optimizer.step()"
        sched.step()
    assert opt.param_groups[0]["lr"] == 0.5
    assert torch.equal(p.detach(), torch.zeros(2))


def test_plan_follows_the_parameters_of_each_call():
    pyro.clear_param_store()
    params = _params(3)
    optim = Adam({"lr": 0.1})
    for p in params.values():
        p.grad = torch.ones_like(p)
    optim(params)
    plan = optim._plan
    assert plan.fits(list(params.values()))
    # another order: same plan; a subset: rebuilt with only those stepped
    optim(dict(reversed(list(params.items()))))
    before = {n: p.detach().clone() for n, p in params.items()}
    optim({"p0": params["p0"]})
    assert not torch.equal(params["p0"].detach(), before["p0"])
    assert torch.equal(params["p1"].detach(), before["p1"])
    # a parameter replaced in the store is a new tensor: planned anew, fresh state
    pyro.get_param_store()["p0"] = torch.zeros(3)
    new = pyro.get_param_store().get_unconstrained("p0")
    new.grad = torch.ones(3)
    optim({"p0": new})
    assert plan.fits([new])
    assert torch.allclose(new.detach(), torch.full((3,), -0.1))  # Adam's first step: -lr


def test_plan_steps_a_parameter_changed_in_place():
    pyro.clear_param_store()
    params = _params(4, shapes=((2,),))
    optim = SGD({"lr": 1.0})
    p = params["p0"]
    p.grad = torch.ones(2)
    optim(params)
    with torch.no_grad():
        p.fill_(5.0)
    optim(params)
    assert torch.equal(p.detach(), torch.full((2,), 4.0))


def test_empty_plan_steps_nothing():
    plan = StepPlan()
    assert not plan.fits([])
    plan.step((), {})
    plan.rebuild([], lambda p: None)
    assert plan.fits([]) and plan.entries == []
