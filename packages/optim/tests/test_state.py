"""PyroOptim state: name-keyed get/set, lazy application, atomic save, safe load."""
import copy
import os
import pickle

import pytest
import torch

import pyro
from pyro.optim import SGD, Adam, OptimStateError


def uparam(name, init):
    return pyro.param(name, init).unconstrained()


def train(optim, names, steps, start=0):
    """Deterministic gradients g = p - t (depends on the value, so state matters)."""
    for t in range(start, start + steps):
        ps = [uparam(n, torch.full((2,), float(i))) for i, n in enumerate(names)]
        for p in ps:
            p.grad = p.detach() - t
        optim(ps)
        for p in ps:
            p.grad = None


def values(names):
    return {n: pyro.param(n).detach().clone() for n in names}


@pytest.mark.parametrize("grouped", [True, False])
def test_get_state_is_keyed_by_name_in_torch_format(grouped):
    optim = Adam({"lr": 0.1}, grouped=grouped)
    train(optim, ["a", "b"], 2)
    state = optim.get_state()
    assert set(state) == {"a", "b"}
    for entry in state.values():
        assert entry["optimizer"] == "Adam"
        assert entry["param_groups"][0]["params"] == [0]
        assert entry["param_groups"][0]["lr"] == 0.1
        assert set(entry["state"][0]) == {"step", "exp_avg", "exp_avg_sq"}
        assert entry["state"][0]["step"].item() == 2


@pytest.mark.parametrize("grouped", [True, False])
def test_set_state_applies_lazily_and_continues_exactly(grouped):
    names = ["a", "b"]
    optim = Adam({"lr": 0.1}, grouped=grouped)
    train(optim, names, 3)
    saved_state = copy.deepcopy(optim.get_state())
    saved_store = copy.deepcopy(pyro.get_param_store().get_state())
    train(optim, names, 3, start=3)
    expected = values(names)

    pyro.clear_param_store()
    pyro.get_param_store().set_state(saved_store)
    fresh = Adam({"lr": 0.1}, grouped=grouped)
    fresh.set_state(saved_state)
    assert set(fresh.get_state()) == {"a", "b"}  # pending state is part of the state
    train(fresh, names, 3, start=3)
    for n in names:
        assert torch.equal(pyro.param(n).detach(), expected[n])


def test_set_state_on_a_parameter_already_seen_restarts_from_that_state():
    optim = Adam({"lr": 0.1})
    train(optim, ["a"], 2)
    snapshot = copy.deepcopy(optim.get_state())
    store_snapshot = copy.deepcopy(pyro.get_param_store().get_state())
    train(optim, ["a"], 2, start=2)
    expected = values(["a"])
    # rewind both the parameter and the optimizer, on the same optimizer object
    pyro.get_param_store().set_state(copy.deepcopy(store_snapshot))
    train(optim, ["a"], 1, start=100)  # a detour that must be forgotten
    pyro.get_param_store().set_state(copy.deepcopy(store_snapshot))
    optim.set_state(snapshot)
    train(optim, ["a"], 2, start=2)
    assert torch.equal(pyro.param("a").detach(), expected["a"])


def test_set_state_copies_its_input():
    optim = Adam({"lr": 0.1})
    train(optim, ["a"], 1)
    other = Adam({"lr": 0.1})
    other.set_state(optim.get_state())
    train(other, ["a"], 1, start=1)
    # the first optimizer's live moments were not advanced by the second
    assert optim.get_state()["a"]["state"][0]["step"].item() == 1


def test_state_of_another_optimizer_is_refused_clearly():
    optim = SGD({"lr": 0.1, "momentum": 0.9})
    train(optim, ["a"], 1)
    adam = Adam({"lr": 0.1})
    adam.set_state(optim.get_state())
    with pytest.raises(OptimStateError, match="written by SGD.*Adam"):
        train(adam, ["a"], 1)
    with pytest.raises(OptimStateError, match="written by SGD"):  # still there, not dropped
        train(adam, ["a"], 1)


@pytest.mark.parametrize(
    "bad, match",
    [(["a"], "expected a dict"), ({"a": 1.0}, "'a' is not a torch optimizer state"),
     ({1: {"state": {}, "param_groups": []}}, "names"),
     ({"params": {}, "constraints": {}}, "ParamStore")],
)
def test_malformed_state_is_refused(bad, match):
    with pytest.raises(OptimStateError, match=match):
        Adam({"lr": 0.1}).set_state(bad)


def test_save_then_load_resumes_exactly(tmp_path):
    names = ["a", "b"]
    optim = Adam({"lr": 0.1})
    train(optim, names, 3)
    optim.save(str(tmp_path / "optim.pt"))
    pyro.get_param_store().save(str(tmp_path / "params.pt"))
    train(optim, names, 2, start=3)
    expected = values(names)

    pyro.clear_param_store()
    pyro.get_param_store().load(str(tmp_path / "params.pt"))
    fresh = Adam({"lr": 0.1})
    fresh.load(str(tmp_path / "optim.pt"))
    train(fresh, names, 2, start=3)
    for n in names:
        assert torch.equal(pyro.param(n).detach(), expected[n])
    assert sorted(os.listdir(tmp_path)) == ["optim.pt", "params.pt"]  # no temporary left


def test_load_casts_state_to_the_parameter_dtype(tmp_path):
    optim = Adam({"lr": 0.1})
    train(optim, ["a"], 2)
    optim.save(str(tmp_path / "optim.pt"))
    pyro.clear_param_store()
    a = uparam("a", torch.zeros(2, dtype=torch.float64))
    fresh = Adam({"lr": 0.1})
    fresh.load(str(tmp_path / "optim.pt"), map_location="cpu")
    a.grad = torch.ones(2, dtype=torch.float64)
    fresh([a])
    assert fresh.get_state()["a"]["state"][0]["exp_avg"].dtype == torch.float64


def test_save_is_atomic_when_interrupted(tmp_path, monkeypatch):
    path = str(tmp_path / "optim.pt")
    optim = Adam({"lr": 0.1})
    train(optim, ["a"], 1)
    optim.save(path)
    original = open(path, "rb").read()
    train(optim, ["a"], 1, start=1)

    def crash(src, dst):
        raise OSError("disk yanked")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk yanked"):
        optim.save(path)
    monkeypatch.undo()
    assert open(path, "rb").read() == original  # the old file is intact
    assert os.listdir(tmp_path) == ["optim.pt"]  # and the temporary file is gone


def test_load_of_a_missing_file():
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        Adam({"lr": 0.1}).load("nope.pt")


def test_load_of_a_corrupt_or_truncated_file_names_it(tmp_path):
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"\x00\x01 this is not a torch file")
    with pytest.raises(OptimStateError, match=r"garbage\.pt.*corrupt.*optim\.save"):
        Adam({"lr": 0.1}).load(str(garbage))
    optim = Adam({"lr": 0.1})
    train(optim, ["a"], 1)
    good = tmp_path / "good.pt"
    optim.save(str(good))
    data = good.read_bytes()
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(OptimStateError, match="truncated.pt"):
        Adam({"lr": 0.1}).load(str(truncated))


def test_load_of_a_foreign_file_says_what_it_is(tmp_path):
    uparam("a", torch.zeros(2))
    store_file = tmp_path / "params.pt"
    pyro.get_param_store().save(str(store_file))
    with pytest.raises(OptimStateError, match="ParamStore"):
        Adam({"lr": 0.1}).load(str(store_file))
    listing = tmp_path / "list.pt"
    torch.save([1, 2, 3], str(listing))
    with pytest.raises(OptimStateError, match=r"list\.pt.*expected a dict"):
        Adam({"lr": 0.1}).load(str(listing))


class _Exploit:
    """Unpickling this would run os.makedirs: safe loading must refuse it."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (os.makedirs, (self.path,))


def test_load_never_executes_code_from_the_file(tmp_path):
    marker = str(tmp_path / "pwned")
    evil = tmp_path / "evil.pt"
    with open(evil, "wb") as f:
        pickle.dump({"a": _Exploit(marker)}, f, protocol=2)
    with pytest.raises(OptimStateError, match="evil.pt"):
        Adam({"lr": 0.1}).load(str(evil))
    assert not os.path.exists(marker)
