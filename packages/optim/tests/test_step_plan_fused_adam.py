"""The fused Adam / AdamW step of :mod:`pyro.optim.step_plan` (torch's fused kernel called
directly with the optimizer's own state): parameters and ``state_dict()`` bit-identical to
``optimizer.step()`` step after step, and torch's own ``step`` wherever the direct call
does not apply (a first step, the user's ``foreach`` / ``fused=False``, tensor ``lr``,
AMP's ``grad_scale``, mixed dtypes, sparse gradients)."""
import copy

import pytest
import torch
import torch.optim.adam as torch_adam

import pyro
from pyro.optim import Adam, AdamW
from pyro.optim.step_plan import step_optimizer

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
SHAPES = ((3,), (2, 2), ())


def _twins(device, dtype=torch.float32, shapes=SHAPES, seed=0):
    torch.manual_seed(seed)
    ours = [torch.randn(s, dtype=dtype, device=device).requires_grad_() for s in shapes]
    return ours, [p.detach().clone().requires_grad_() for p in ours]


def _set_grads(ours, theirs, seed, skip=()):
    torch.manual_seed(seed)
    for i, (p, q) in enumerate(zip(ours, theirs)):
        g = None if i in skip else torch.randn_like(p)
        p.grad, q.grad = g, (None if g is None else g.clone())


def _assert_same_state(a, b):
    """Two ``state_dict()``s equal to the bit (tensors by ``torch.equal`` with equal
    dtype and device)."""
    assert a["param_groups"] == b["param_groups"]
    assert a["state"].keys() == b["state"].keys()
    for key in a["state"]:
        sa, sb = a["state"][key], b["state"][key]
        assert sa.keys() == sb.keys()
        for name in sa:
            x, y = sa[name], sb[name]
            assert (x.dtype, x.device) == (y.dtype, y.device), (key, name)
            assert torch.equal(x, y), (key, name)


class _Spy:
    """Counts the calls of torch's functional ``adam`` (what ``Adam.step`` calls)."""

    def __init__(self, monkeypatch):
        self.calls = 0
        original = torch_adam.adam

        def spy(*args, **kwargs):
            self.calls += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(torch_adam, "adam", spy)


def _run(make, device, steps=12, dtype=torch.float32, skip_at=None):
    ours, theirs = _twins(device, dtype)
    opt, ref = make(ours), make(theirs)
    for step in range(steps):
        skip = (1,) if skip_at is not None and step in skip_at else ()
        _set_grads(ours, theirs, 100 + step, skip)
        assert step_optimizer(opt) is None
        ref.step()
        if step == steps // 2:  # a scheduler's change of lr is read at each step
            for o in (opt, ref):
                o.param_groups[0]["lr"] *= 0.5
    for p, q in zip(ours, theirs):
        assert torch.equal(p.detach(), q.detach())
    _assert_same_state(opt.state_dict(), ref.state_dict())
    return opt


SETTINGS = [
    {},
    {"amsgrad": True},
    {"weight_decay": 0.1},
    {"maximize": True},
    {"amsgrad": True, "weight_decay": 0.05, "maximize": True, "betas": (0.8, 0.99),
     "eps": 1e-6},
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("cls", [torch.optim.Adam, torch.optim.AdamW])
@pytest.mark.parametrize("settings", SETTINGS)
def test_direct_fused_step_is_bit_identical(monkeypatch, device, cls, settings):
    spy = _Spy(monkeypatch)
    make = lambda ps: cls(ps, lr=0.05, fused=True, **settings)  # noqa: E731
    _run(make, device, skip_at={3, 4})
    # torch's step ran for the reference's 12 steps and our first (lazy state) only
    assert spy.calls == 12 + 1


@pytest.mark.parametrize("settings", [{"foreach": True}, {"foreach": False},
                                      {"fused": False}, {}])
def test_users_choice_of_implementation_is_torchs_step(monkeypatch, settings):
    spy = _Spy(monkeypatch)
    _run(lambda ps: torch.optim.Adam(ps, lr=0.05, **settings), "cpu", steps=4)
    assert spy.calls == 8  # every step of both optimizers went through Adam.step


@pytest.mark.parametrize("change", ["tensor_lr", "grad_scale", "mixed_dtypes", "sparse"])
def test_what_the_direct_call_does_not_cover_goes_to_torch(monkeypatch, change):
    ours, theirs = _twins("cpu")
    if change == "mixed_dtypes":
        ours[1], theirs[1] = (t.detach().double().requires_grad_() for t in (ours[1], theirs[1]))
    lr = torch.tensor(0.05) if change == "tensor_lr" else 0.05
    opt = torch.optim.Adam(ours, lr=lr, fused=True)
    ref = torch.optim.Adam(theirs, lr=lr, fused=True)
    _set_grads(ours, theirs, 0)
    step_optimizer(opt)
    ref.step()
    spy = _Spy(monkeypatch)
    if change == "grad_scale":
        for o in (opt, ref):
            o.grad_scale = torch.tensor(2.0)
            o.found_inf = torch.tensor(0.0)
    _set_grads(ours, theirs, 1)
    if change == "sparse":
        ours[0].grad = ours[0].grad.to_sparse()
        with pytest.raises(RuntimeError, match="sparse"):
            step_optimizer(opt)
        return
    step_optimizer(opt)
    ref.step()
    assert spy.calls == 2
    for p, q in zip(ours, theirs):
        assert torch.equal(p.detach(), q.detach())
    _assert_same_state(opt.state_dict(), ref.state_dict())


def test_state_loaded_midway_is_the_state_stepped():
    ours, theirs = _twins("cpu")
    opt = torch.optim.Adam(ours, lr=0.05, fused=True, amsgrad=True)
    ref = torch.optim.Adam(theirs, lr=0.05, fused=True, amsgrad=True)
    for step in range(3):
        _set_grads(ours, theirs, step)
        step_optimizer(opt)
        ref.step()
    saved = copy.deepcopy(ref.state_dict())  # (state_dict() holds the live tensors)
    for step in range(3, 6):  # ours diverges, then takes the reference's state back
        _set_grads(ours, theirs, 10 * step)
        step_optimizer(opt)
    with torch.no_grad():
        for p, q in zip(ours, theirs):
            p.copy_(q)
    opt.load_state_dict(saved)
    for step in range(3, 6):
        _set_grads(ours, theirs, step)
        step_optimizer(opt)
        ref.step()
    for p, q in zip(ours, theirs):
        assert torch.equal(p.detach(), q.detach())
    _assert_same_state(opt.state_dict(), ref.state_dict())


@pytest.mark.parametrize("pyro_optim, torch_cls", [(Adam, torch.optim.Adam),
                                                    (AdamW, torch.optim.AdamW)])
@pytest.mark.parametrize("grouped", [True, False])
def test_pyro_optim_state_equals_torchs(monkeypatch, pyro_optim, torch_cls, grouped):
    """PyroOptim (fused by default) against torch's fused optimizer: the same parameters
    and, per parameter, the same saved state."""
    pyro.clear_param_store()
    torch.manual_seed(0)
    params = {f"p{i}": pyro.param(f"p{i}", torch.randn(s)).unconstrained()
              for i, s in enumerate(SHAPES)}
    twins = {n: p.detach().clone().requires_grad_() for n, p in params.items()}
    optim = pyro_optim({"lr": 0.05, "amsgrad": True, "weight_decay": 0.01}, grouped=grouped)
    refs = {n: torch_cls([t], lr=0.05, amsgrad=True, weight_decay=0.01, fused=True)
            for n, t in twins.items()}
    spy = _Spy(monkeypatch)
    for step in range(6):
        grads = [torch.randn_like(p) for p in params.values()]
        for (n, p), g in zip(params.items(), grads):
            p.grad, twins[n].grad = g, g.clone()
        optim(params)
        for ref in refs.values():
            ref.step()
        for n in params:
            params[n].grad = twins[n].grad = None
    # ours went through Adam.step at its first step only (one call per torch optimizer)
    assert spy.calls == 6 * len(refs) + (1 if grouped else len(refs))
    state = optim.get_state()
    for n, p in params.items():
        assert torch.equal(p.detach(), twins[n].detach()), n
        ours = state[n]
        ours = {"state": ours["state"], "param_groups": ours["param_groups"]}
        _assert_same_state(ours, refs[n].state_dict())
