"""PyroLRScheduler and the scheduler wrappers: schedules against closed forms, grouped
mode's equality with per-parameter mode, state round trips."""
import copy
import math

import pytest
import torch

import pyro
import pyro.optim
from pyro.optim import PyroLRScheduler


def uparam(name, init):
    return pyro.param(name, init).unconstrained()


def sgd_step(sched, p, g=1.0):
    """One SGD step with gradient g; return the move (which is -lr * g)."""
    before = p.item()
    p.grad = torch.tensor(g)
    sched([p])
    p.grad = None
    return p.item() - before


def lrs_over(sched_wrapper, kwargs, n, metrics=None):
    """The learning rate used at each of n steps, with scheduler.step() after each."""
    p = uparam("x", torch.tensor(0.0))
    sched = sched_wrapper({"optimizer": torch.optim.SGD, "optim_args": {"lr": 1.0}, **kwargs})
    lrs = []
    for i in range(n):
        move = sgd_step(sched, p)
        lr = sched.optim_objs[p].optimizer.param_groups[0]["lr"]
        assert move == pytest.approx(-lr, rel=1e-3)  # the step used the group's lr
        lrs.append(lr)
        if metrics is None:
            sched.step()
        else:
            sched.step(metrics[i])
    return lrs


def test_exponential_lr_on_a_quadratic_by_hand():
    # SGD on 0.5 (1 - m)^2: m <- m - lr (m - 1)
    m = uparam("m", torch.tensor(0.0))
    sched = pyro.optim.ExponentialLR(
        {"optimizer": torch.optim.SGD, "optim_args": {"lr": 0.1}, "gamma": 0.5}
    )
    m.grad = m.detach() - 1
    sched([m])
    assert m.item() == pytest.approx(0.1, abs=1e-7)
    sched.step()
    m.grad = m.detach() - 1
    sched([m])
    assert m.item() == pytest.approx(0.1 - 0.05 * (0.1 - 1), abs=1e-7)


def test_step_and_multistep_lr_closed_forms():
    assert lrs_over(pyro.optim.StepLR, {"step_size": 2, "gamma": 0.1}, 5) == pytest.approx(
        [1.0, 1.0, 0.1, 0.1, 0.01], rel=1e-6
    )
    got = lrs_over(pyro.optim.MultiStepLR, {"milestones": [1, 3], "gamma": 0.5}, 5)
    assert got == pytest.approx([1.0, 0.5, 0.5, 0.25, 0.25], rel=1e-6)


def test_cosine_annealing_closed_form():
    # lr_t = eta_min + (lr0 - eta_min) (1 + cos(pi t / T)) / 2
    T, eta_min = 6, 0.1
    got = lrs_over(pyro.optim.CosineAnnealingLR, {"T_max": T, "eta_min": eta_min}, T + 1)
    want = [eta_min + (1 - eta_min) * (1 + math.cos(math.pi * t / T)) / 2 for t in range(T + 1)]
    assert got == pytest.approx(want, rel=1e-5, abs=1e-7)


def test_one_cycle_lr_starts_low_peaks_and_anneals():
    kwargs = {"max_lr": 2.0, "total_steps": 10, "div_factor": 4.0, "final_div_factor": 100.0,
              "anneal_strategy": "linear", "pct_start": 0.3, "cycle_momentum": False}
    got = lrs_over(pyro.optim.OneCycleLR, kwargs, 10)
    assert got[0] == pytest.approx(2.0 / 4.0)
    assert max(got) == pytest.approx(2.0)
    assert got[-1] == pytest.approx(2.0 / 4.0 / 100.0)


def test_reduce_lr_on_plateau_is_fed_the_loss():
    losses = [3.0, 2.0, 2.5, 2.6, 1.0, 1.5]
    got = lrs_over(pyro.optim.ReduceLROnPlateau, {"factor": 0.5, "patience": 0}, 6, losses)
    # no improvement after the 3rd and 4th losses, and after the 6th
    assert got == pytest.approx([1.0, 1.0, 1.0, 0.5, 0.25, 0.25])


def test_sequential_and_chained_schedulers_from_specs():
    seq = lrs_over(
        pyro.optim.SequentialLR,
        {"schedulers": [(torch.optim.lr_scheduler.ConstantLR, {"factor": 0.5, "total_iters": 2}),
                        (pyro.optim.ExponentialLR, {"gamma": 0.5})],
         "milestones": [2]},
        5,
    )
    assert seq == pytest.approx([0.5, 0.5, 1.0, 0.5, 0.25])
    pyro.clear_param_store()
    chained = lrs_over(
        pyro.optim.ChainedScheduler,
        {"schedulers": [(torch.optim.lr_scheduler.ExponentialLR, {"gamma": 0.5}),
                        (torch.optim.lr_scheduler.StepLR, {"step_size": 2, "gamma": 0.1})]},
        4,
    )
    assert chained == pytest.approx([1.0, 0.5, 0.025, 0.0125])


def test_a_pyro_optim_wrapper_stands_for_its_torch_class():
    p = uparam("x", torch.tensor(0.0))
    sched = pyro.optim.StepLR({"optimizer": pyro.optim.SGD, "optim_args": {"lr": 0.3},
                               "step_size": 1})
    assert sgd_step(sched, p) == pytest.approx(-0.3)
    assert isinstance(next(iter(sched.optim_objs.values())).optimizer, torch.optim.SGD)


def test_per_param_callable_args_inside_a_scheduler():
    a = uparam("a", torch.tensor(0.0))
    b = uparam("b", torch.tensor(0.0))
    sched = pyro.optim.ExponentialLR({"optimizer": torch.optim.SGD, "gamma": 0.5,
                                      "optim_args": lambda m, p: {"lr": 1.0 if p == "a" else 0.1}})
    a.grad, b.grad = torch.tensor(1.0), torch.tensor(1.0)
    sched([a, b])
    sched.step()
    sched([a, b])
    assert a.item() == pytest.approx(-1.5) and b.item() == pytest.approx(-0.15)


def test_bad_scheduler_arguments():
    with pytest.raises(ValueError, match="missing.*optim_args"):
        pyro.optim.StepLR({"optimizer": torch.optim.SGD, "step_size": 1})
    with pytest.raises(TypeError, match="must be a dict"):
        PyroLRScheduler(torch.optim.lr_scheduler.StepLR, [torch.optim.SGD])
    p = uparam("x", torch.tensor(0.0))
    p.grad = torch.tensor(1.0)
    sched = pyro.optim.StepLR({"optimizer": torch.optim.SGD, "optim_args": {"lr": 1.0}})
    with pytest.raises(TypeError, match=r"StepLR for parameter 'x'.*step_size"):
        sched([p])


APPEAR = {"a": 0, "b": 0, "c": 2, "d": 3, "e": 5, "f": 5}


def dynamic_run(sched, steps=8, schedule_every=2, metric=False):
    """Parameters appear between scheduler steps; each scheduler step is fed the loss when
    metric=True. Returns final values and state."""
    pyro.clear_param_store()
    for t in range(steps):
        ps = []
        for i, (n, t0) in enumerate(APPEAR.items()):
            if t >= t0 and not (n == "b" and t == 4):
                ps.append(uparam(n, torch.full((2,), float(i))))
        for p in ps:
            p.grad = torch.cos(p.detach() * (t + 1))
        sched(ps)
        for p in ps:
            p.grad = None
        if t % schedule_every == 1:
            if metric:
                sched.step(float((t * 7) % 5))
            else:
                sched.step()
    return {n: pyro.param(n).detach().clone() for n in APPEAR}, sched.get_state()


SCHEDULERS = {
    "ExponentialLR": {"gamma": 0.7},
    "StepLR": {"step_size": 2, "gamma": 0.3},
    "CosineAnnealingLR": {"T_max": 5},
    "OneCycleLR": {"max_lr": 0.5, "total_steps": 10},
    "ReduceLROnPlateau": {"factor": 0.5, "patience": 0},
    "LinearLR": {"start_factor": 0.5, "total_iters": 3},
}


@pytest.mark.parametrize("name", sorted(SCHEDULERS))
def test_grouped_equals_per_parameter_with_late_parameters(name):
    wrapper = getattr(pyro.optim, name)
    args = {"optimizer": torch.optim.Adam, "optim_args": {"lr": 0.1}, **SCHEDULERS[name]}
    metric = name == "ReduceLROnPlateau"
    per_param = wrapper(args, grouped=False)
    v1, s1 = dynamic_run(per_param, metric=metric)
    grouped = wrapper(args)
    v2, s2 = dynamic_run(grouped, metric=metric)
    for n in APPEAR:
        assert torch.equal(v1[n], v2[n]), n
    assert set(s1) == set(s2)
    for n in s1:
        assert s1[n]["param_groups"] == s2[n]["param_groups"], n
        assert s1[n]["scheduler"] == s2[n]["scheduler"], n
    # cohorts: {a, b} before the first scheduler step, {c, d} and {e, f} after later ones
    assert len({id(o) for o in grouped.optim_objs.values()}) == 3
    assert len({id(o) for o in per_param.optim_objs.values()}) == len(APPEAR)


@pytest.mark.parametrize("grouped", [True, False])
def test_scheduler_state_round_trip_resumes_exactly(grouped, tmp_path):
    def make():
        return pyro.optim.StepLR({"optimizer": torch.optim.Adam, "optim_args": {"lr": 0.1},
                                  "step_size": 2, "gamma": 0.5}, grouped=grouped)

    names = ["a", "b"]

    def run(sched, start, stop):
        for t in range(start, stop):
            ps = [uparam(n, torch.full((2,), float(i))) for i, n in enumerate(names)]
            for p in ps:
                p.grad = torch.sin(p.detach() + t)
            sched(ps)
            for p in ps:
                p.grad = None
            sched.step()

    sched = make()
    run(sched, 0, 3)
    sched.save(str(tmp_path / "sched.pt"))
    store = copy.deepcopy(pyro.get_param_store().get_state())
    run(sched, 3, 7)
    expected = {n: pyro.param(n).detach().clone() for n in names}
    entry = sched.get_state()["a"]
    assert entry["scheduler"]["last_epoch"] == 7

    pyro.clear_param_store()
    pyro.get_param_store().set_state(store)
    fresh = make()
    fresh.load(str(tmp_path / "sched.pt"))
    run(fresh, 3, 7)
    for n in names:
        assert torch.equal(pyro.param(n).detach(), expected[n]), n
