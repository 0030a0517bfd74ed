"""The remembered fused-Adam step of :mod:`pyro.optim.step_plan` (``_FusedPlan``): the
same parameters and ``state_dict()`` as torch's ``optimizer.step()``, bit for bit, while
the optimizer changes under it (a parameter added, state loaded, lr or betas changed, a
gradient missing, a state tensor replaced), and step counts that share one buffer while
keeping their identity (live references, as torch's ``state_dict()`` gives them)."""
import copy

import pytest
import torch

from pyro.optim.step_plan import _PLAN_ATTR, step_optimizer

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
SHAPES = ((3,), (2, 2), (), (4,))


def _twins(device, shapes=SHAPES, seed=0):
    torch.manual_seed(seed)
    ours = [torch.randn(s, device=device).requires_grad_() for s in shapes]
    return ours, [p.detach().clone().requires_grad_() for p in ours]


def _grads(ours, theirs, seed, skip=()):
    gen = torch.Generator().manual_seed(seed)
    for i, (p, q) in enumerate(zip(ours, theirs)):
        g = None if i in skip else torch.randn(p.shape, generator=gen).to(p.device)
        p.grad, q.grad = g, (None if g is None else g.clone())


def _same(opt, ref, ours, theirs):
    for p, q in zip(ours, theirs):
        assert torch.equal(p.detach(), q.detach())
    a, b = opt.state_dict(), ref.state_dict()
    assert a["param_groups"] == b["param_groups"]
    assert a["state"].keys() == b["state"].keys()
    for k in a["state"]:
        assert a["state"][k].keys() == b["state"][k].keys()
        for name, x in a["state"][k].items():
            y = b["state"][k][name]
            assert (x.dtype, x.device, x.shape) == (y.dtype, y.device, y.shape), name
            assert torch.equal(x, y), (k, name)


def _step_both(opt, ref, ours, theirs, seed, skip=()):
    _grads(ours, theirs, seed, skip)
    assert step_optimizer(opt) is None
    ref.step()


def _stepped_twins(steps=3, **settings):
    """Twin parameters, a fused Adam over each (ours stepped by step_optimizer, the
    reference by torch), after ``steps`` steps with the same gradients."""
    ours, theirs = _twins("cpu")
    opt = torch.optim.Adam(ours, lr=0.05, fused=True, **settings)
    ref = torch.optim.Adam(theirs, lr=0.05, fused=True, **settings)
    for step in range(steps):
        _step_both(opt, ref, ours, theirs, step)
    return opt, ref, ours, theirs


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("settings", [{}, {"amsgrad": True, "weight_decay": 0.1}])
@pytest.mark.parametrize("cls", [torch.optim.Adam, torch.optim.AdamW])
def test_remembered_steps_are_torchs_steps(device, settings, cls):
    ours, theirs = _twins(device)
    opt = cls(ours, lr=0.05, fused=True, **settings)
    ref = cls(theirs, lr=0.05, fused=True, **settings)
    for step in range(8):
        _step_both(opt, ref, ours, theirs, step, skip=(2,) if step == 5 else ())
    assert _PLAN_ATTR in opt.__dict__
    _same(opt, ref, ours, theirs)


def test_step_counts_share_a_buffer_and_keep_their_identity():
    ours, theirs = _twins("cpu")
    opt = torch.optim.Adam(ours, lr=0.05, fused=True)
    ref = torch.optim.Adam(theirs, lr=0.05, fused=True)
    _step_both(opt, ref, ours, theirs, 0)  # torch's step makes the state
    live = [opt.state[p]["step"] for p in ours]  # what state_dict() hands out
    for step in range(1, 5):
        _step_both(opt, ref, ours, theirs, step)
    assert [opt.state[p]["step"] for p in ours] == live  # the same objects...
    assert [s.item() for s in live] == [5.0] * len(ours)  # ...advanced in place
    storage = live[0].untyped_storage().data_ptr()
    assert all(s.untyped_storage().data_ptr() == storage for s in live)
    _same(opt, ref, ours, theirs)
    # a step of part of the group advances only those counts
    _step_both(opt, ref, ours, theirs, 9, skip=(0, 3))
    assert [s.item() for s in live] == [5.0, 6.0, 6.0, 5.0]
    _same(opt, ref, ours, theirs)
    # a pickled/deep-copied state is an independent snapshot
    snapshot = copy.deepcopy(opt.state_dict())
    _step_both(opt, ref, ours, theirs, 10)
    assert snapshot["state"][1]["step"].item() == 6.0
    _same(opt, ref, ours, theirs)


def test_a_parameter_added_is_planned_again():
    ours, theirs = _twins("cpu")
    opt = torch.optim.Adam(ours[:2], lr=0.05, fused=True)
    ref = torch.optim.Adam(theirs[:2], lr=0.05, fused=True)
    for step in range(3):
        _step_both(opt, ref, ours[:2], theirs[:2], step)
    plan = opt.__dict__[_PLAN_ATTR]
    # as PyroOptim's StepPlan does: the group's params list gains a parameter in place
    opt.param_groups[0]["params"].append(ours[2])
    ref.param_groups[0]["params"].append(theirs[2])
    for step in range(3, 7):
        _step_both(opt, ref, ours[:3], theirs[:3], step)
    assert opt.__dict__[_PLAN_ATTR] is not plan
    # and a new group
    opt.add_param_group({"params": [ours[3]], "lr": 0.01})
    ref.add_param_group({"params": [theirs[3]], "lr": 0.01})
    for step in range(7, 11):
        _step_both(opt, ref, ours, theirs, step)
    _same(opt, ref, ours, theirs)


def test_a_replaced_state_tensor_is_read():
    opt, ref, ours, theirs = _stepped_twins()
    for o, p in ((opt, ours[1]), (ref, theirs[1])):
        o.state[p]["exp_avg"] = torch.full_like(p, 0.25)
        o.state[p]["step"] = torch.tensor(10.0)
    for step in range(3, 7):
        _step_both(opt, ref, ours, theirs, step)
    _same(opt, ref, ours, theirs)


@pytest.mark.parametrize("change", ["lr", "betas", "eps", "weight_decay", "maximize",
                                    "amsgrad"])
def test_changed_settings_are_read_at_each_step(change):
    opt, ref, ours, theirs = _stepped_twins()
    new = {"lr": 0.01, "betas": (0.5, 0.9), "eps": 1e-3, "weight_decay": 0.2,
           "maximize": True, "amsgrad": True}[change]
    for o in (opt, ref):
        o.param_groups[0][change] = new
        if change == "amsgrad":  # torch makes max_exp_avg_sq lazily; both start at zero
            for p in o.param_groups[0]["params"]:
                o.state[p]["max_exp_avg_sq"] = torch.zeros_like(p)
    for step in range(3, 7):
        _step_both(opt, ref, ours, theirs, step)
    _same(opt, ref, ours, theirs)


def test_a_tensor_lr_goes_to_torchs_step():
    opt, ref, ours, theirs = _stepped_twins()
    for o in (opt, ref):
        o.param_groups[0]["lr"] = torch.tensor(0.01)
    for step in range(3, 6):
        _step_both(opt, ref, ours, theirs, step)
    _same(opt, ref, ours, theirs)


def test_one_state_loaded_into_two_optimizers_steps_as_torch():
    """torch steps the very tensors it loads (no copy): two optimizers loading one state
    dict advance the same step counts, and so do ours (the packed counts follow)."""
    ours, theirs = _twins("cpu")
    twins2 = [p.detach().clone().requires_grad_() for p in ours]
    twins3 = [p.detach().clone().requires_grad_() for p in theirs]
    opt, opt2 = (torch.optim.Adam(ps, lr=0.05, fused=True) for ps in (ours, twins2))
    ref, ref2 = (torch.optim.Adam(ps, lr=0.05, fused=True) for ps in (theirs, twins3))
    for step in range(3):
        _step_both(opt, ref, ours, theirs, step)
    mine, theirs_state = copy.deepcopy(opt.state_dict()), copy.deepcopy(ref.state_dict())
    for o, state in ((opt, mine), (opt2, mine), (ref, theirs_state), (ref2, theirs_state)):
        o.load_state_dict(state)
    for step in range(3, 6):
        _step_both(opt, ref, ours, theirs, step)
        _step_both(opt2, ref2, twins2, twins3, step)
    _same(opt, ref, ours, theirs)
    _same(opt2, ref2, twins2, twins3)


def test_betas_list_changed_in_place_is_read():
    ours, theirs = _twins("cpu")
    opt = torch.optim.Adam(ours, lr=0.05, fused=True)
    ref = torch.optim.Adam(theirs, lr=0.05, fused=True)
    for o in (opt, ref):  # (torch makes the given betas a tuple; a user may set a list)
        o.param_groups[0]["betas"] = [0.9, 0.999]
    for step in range(3):
        _step_both(opt, ref, ours, theirs, step)
    for o in (opt, ref):
        o.param_groups[0]["betas"][0] = 0.5  # the same list object, a new value
    for step in range(3, 6):
        _step_both(opt, ref, ours, theirs, step)
    _same(opt, ref, ours, theirs)


def test_same_valued_settings_objects_and_a_scheduler():
    ours, theirs = _twins("cpu")
    opt = torch.optim.Adam(ours, lr=0.05, fused=True)
    ref = torch.optim.Adam(theirs, lr=0.05, fused=True)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    ref_sched = torch.optim.lr_scheduler.StepLR(ref, step_size=2, gamma=0.5)
    for step in range(8):
        _grads(ours, theirs, step)
        step_optimizer(opt)  # (the scheduler wraps step: torch's own step runs)
        ref.step()
        sched.step()
        ref_sched.step()
        _step_both(opt, ref, ours, theirs, 50 + step)  # a direct step in between
    _same(opt, ref, ours, theirs)


def test_graph_capture_check_runs_where_it_can_act(monkeypatch):
    """torch's capture check is skipped only where it cannot act (no CUDA / XPU
    accelerator and torch's own method); a replaced check, or an accelerator, runs it."""
    import pyro.optim.step_plan as step_plan

    calls = []
    ours, theirs = _twins("cpu")
    opt = torch.optim.Adam(ours, lr=0.05, fused=True)
    ref = torch.optim.Adam(theirs, lr=0.05, fused=True)
    _step_both(opt, ref, ours, theirs, 0)
    original = torch.optim.Optimizer._accelerator_graph_capture_health_check
    opt._accelerator_graph_capture_health_check = lambda: calls.append("instance")
    _step_both(opt, ref, ours, theirs, 1)
    assert calls == ["instance"]
    del opt._accelerator_graph_capture_health_check
    monkeypatch.setattr(step_plan, "_CAPTURE_POSSIBLE", [True])
    monkeypatch.setattr(torch.optim.Optimizer, "_accelerator_graph_capture_health_check",
                        lambda self: (calls.append("class"), original(self)))
    _step_both(opt, ref, ours, theirs, 2)
    assert calls == ["instance", "class", "class"]  # ours, and the reference's own step
    _same(opt, ref, ours, theirs)
    assert step_plan._capture_possible() is True
