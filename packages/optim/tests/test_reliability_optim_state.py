"""Optimizer state files: every tensor is checked against its parameter before a torch
kernel sees it (torch's fused CPU Adam trusts sizes and strides: a state of another shape
used to crash or hang the process), and the user's settings win over the file's."""
import subprocess
import sys
import textwrap

import pytest
import torch

import pyro
import pyro.optim
from pyro.optim import Adam, ClippedAdam, OptimStateError


def step(optim, names, shape=(2,)):
    ps = [pyro.param(n, torch.ones(shape)).unconstrained() for n in names]
    for p in ps:
        p.grad = torch.full_like(p, 0.5)
    optim(ps)
    for p in ps:
        p.grad = None


def run_isolated(code, tmp_path):
    """Run ``code`` in a fresh process: a crash there fails this test instead of killing it."""
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=str(tmp_path),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"rc={proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def test_state_saved_for_another_shape_fails_cleanly_before_the_fused_kernel(tmp_path):
    # the report, in a fresh process: state saved for `loc` of shape (1,), loaded
    # where `loc` has 10**6 elements (before and after the parameter exists), then a step
    out = run_isolated("""
        import torch, pyro, pyro.optim
        torch.set_num_threads(2)
        opt = pyro.optim.Adam({"lr": 0.1})
        loc = pyro.param("loc", torch.zeros(1)).unconstrained()
        loc.grad = torch.ones(1); opt([loc])
        opt.save("optim.pt")
        for loaded_before_param in (True, False):
            pyro.clear_param_store()
            opt = pyro.optim.Adam({"lr": 0.1})
            if loaded_before_param:
                opt.load("optim.pt")
            loc = pyro.param("loc", torch.zeros(10**6)).unconstrained()
            try:
                if not loaded_before_param:
                    opt.load("optim.pt")
                loc.grad = torch.ones(10**6)
                opt([loc])
            except pyro.optim.OptimStateError as e:
                print("refused:", e)
    """, tmp_path)
    lines = [line for line in out.splitlines() if line.startswith("refused:")]
    assert len(lines) == 2
    for line in lines:
        assert "optim.pt" in line and "'loc'" in line and "(1,)" in line and "(1000000,)" in line


@pytest.mark.parametrize("make_bad, match", [
    (lambda n: torch.zeros(1).expand(n), "repeats or overlaps"),
    (lambda n: torch.zeros(n + 3)[:n].as_strided((n,), (1,)).new_zeros(n - 1), "shape"),
    (lambda n: torch.zeros(n, dtype=torch.complex64), "dtype"),
])
def test_malformed_state_tensor_is_refused_naming_file_and_entry(tmp_path, make_bad, match):
    n = 1000
    opt = Adam({"lr": 0.1})
    step(opt, ["w"], (n,))
    state = opt.get_state()
    state["w"]["state"][0]["exp_avg"] = make_bad(n)
    torch.save(state, str(tmp_path / "bad.pt"))
    fresh = Adam({"lr": 0.1})
    with pytest.raises(OptimStateError, match=match) as info:
        fresh.load(str(tmp_path / "bad.pt"))
    assert "bad.pt" in str(info.value) and "'w'" in str(info.value)
    assert "exp_avg" in str(info.value)


@pytest.mark.parametrize("step_value", [torch.tensor([1.0, 2.0]), torch.tensor(float("nan")),
                                        torch.tensor(-3.0), torch.zeros(0), True,
                                        float("inf")])
def test_bad_step_count_is_refused(tmp_path, step_value):
    opt = Adam({"lr": 0.1})
    step(opt, ["w"])
    state = opt.get_state()
    state["w"]["state"][0]["step"] = step_value
    with pytest.raises(OptimStateError, match="'w'.*step"):
        Adam({"lr": 0.1}).set_state(state)


def test_state_checked_again_when_the_parameter_appears(tmp_path):
    opt = Adam({"lr": 0.1})
    step(opt, ["w"], (3,))
    opt.save(str(tmp_path / "o.pt"))
    pyro.clear_param_store()
    fresh = Adam({"lr": 0.1})
    fresh.load(str(tmp_path / "o.pt"))  # no live "w" yet: shapes cannot be checked
    with pytest.raises(OptimStateError, match=r"o\.pt.*'w'.*\(3,\).*\(5,\)"):
        step(fresh, ["w"], (5,))


def group_of(optim, name):
    p = pyro.get_param_store().get_unconstrained(name)
    obj = optim.optim_objs[p]
    return getattr(obj, "optimizer", obj).param_groups[0]  # a scheduler's optimizer


def test_users_settings_win_over_the_files(tmp_path):
    opt = Adam({"lr": 0.1, "betas": (0.5, 0.6), "fused": False})
    step(opt, ["w"])
    opt.save(str(tmp_path / "o.pt"))
    fresh = Adam({"lr": 0.01})
    fresh.load(str(tmp_path / "o.pt"))
    step(fresh, ["w"])
    group = group_of(fresh, "w")
    assert group["lr"] == 0.01 and group["betas"] == (0.9, 0.999)
    assert group["fused"] is True  # the live optimizer's kernel choice, never the file's
    assert fresh.get_state()["w"]["state"][0]["step"].item() == 2  # the moments were loaded


def test_restore_settings_takes_the_files_settings_but_not_the_kernel(tmp_path):
    opt = Adam({"lr": 0.1, "betas": (0.5, 0.6), "fused": False})
    step(opt, ["w"])
    opt.save(str(tmp_path / "o.pt"))
    fresh = Adam({"lr": 0.01})
    fresh.load(str(tmp_path / "o.pt"), restore_settings=True)
    step(fresh, ["w"])
    group = group_of(fresh, "w")
    assert group["lr"] == 0.1 and tuple(group["betas"]) == (0.5, 0.6)
    assert group["fused"] is True


def test_unchanged_settings_continue_their_evolution(tmp_path):
    # ClippedAdam decays lr in its group: with the same settings the decayed lr continues
    opt = ClippedAdam({"lr": 0.1, "lrd": 0.5})
    step(opt, ["w"])
    step(opt, ["w"])
    opt.save(str(tmp_path / "o.pt"))
    same = ClippedAdam({"lr": 0.1, "lrd": 0.5})
    same.load(str(tmp_path / "o.pt"))
    step(same, ["w"])
    assert group_of(same, "w")["lr"] == pytest.approx(0.1 * 0.5 ** 3)
    changed = ClippedAdam({"lr": 0.2, "lrd": 0.5})
    changed.load(str(tmp_path / "o.pt"))
    step(changed, ["w"])
    assert group_of(changed, "w")["lr"] == pytest.approx(0.2 * 0.5)


def test_wrong_kind_of_setting_in_file_is_refused(tmp_path):
    opt = Adam({"lr": 0.1})
    step(opt, ["w"])
    state = opt.get_state()
    state["w"]["param_groups"][0]["betas"] = "fast"
    fresh = Adam({"lr": 0.1})
    fresh.set_state(state, restore_settings=True)
    with pytest.raises(OptimStateError, match="'betas'"):
        step(fresh, ["w"])


def test_load_is_all_or_nothing(tmp_path):
    opt = Adam({"lr": 0.1})
    step(opt, ["a", "b"])
    good = opt.get_state()
    target = Adam({"lr": 0.1})
    target.set_state(good)
    before = {k: v["state"][0]["exp_avg"].clone() for k, v in target.get_state().items()}
    bad = opt.get_state()
    bad = {"a": bad["a"], "b": {**bad["b"], "state": {0: {**bad["b"]["state"][0],
                                                           "exp_avg": torch.zeros(7)}}}}
    with pytest.raises(OptimStateError, match="'b'"):
        target.set_state(bad)
    after = target.get_state()
    for k, v in before.items():
        assert torch.equal(after[k]["state"][0]["exp_avg"], v)


def test_scheduler_continues_its_schedule_from_the_users_changed_lr(tmp_path):
    def make(lr):
        return pyro.optim.StepLR({"optimizer": torch.optim.SGD, "optim_args": {"lr": lr},
                                  "step_size": 1, "gamma": 0.5})

    sched = make(0.1)
    step(sched, ["w"])
    sched.step()
    sched.save(str(tmp_path / "s.pt"))
    same = make(0.1)
    same.load(str(tmp_path / "s.pt"))
    step(same, ["w"])
    assert group_of(same, "w")["lr"] == pytest.approx(0.05)  # the schedule goes on
    changed = make(0.4)
    changed.load(str(tmp_path / "s.pt"))
    step(changed, ["w"])
    assert group_of(changed, "w")["lr"] == pytest.approx(0.4)
    changed.step()
    assert group_of(changed, "w")["lr"] == pytest.approx(0.2)
    p = pyro.get_param_store().get_unconstrained("w")
    assert changed.optim_objs[p].base_lrs == [0.4]
