"""ParamStoreDict: every method of Pyro's, unconstrained storage, state, save/load
(atomic, safe), scope."""
import math
import os
import pickle
import stat

import pytest
import torch
from torch.distributions import constraints, transform_to

import pyro
from pyro.params.param_store import (
    ParamStoreDict,
    ParamStoreError,
    atomic_torch_save,
    module_from_param_with_module_name,
    normalize_param_name,
    param_with_module_name,
    safe_torch_load,
    user_param_name,
)


@pytest.fixture
def store():
    return pyro.get_param_store()


def unconstrained(store, name):
    return dict(store.named_parameters())[name]


# ------------------------------------------------------------- dict-like API


def test_pyro_param_lazy_init_and_first_init_wins(store):
    calls = []

    def init():
        calls.append(1)
        return torch.tensor([1.0, 2.0])

    assert pyro.param("a", init).tolist() == [1.0, 2.0]
    assert pyro.param("a", init).tolist() == [1.0, 2.0]
    assert pyro.param("a", torch.zeros(2)).tolist() == [1.0, 2.0]  # init ignored
    assert pyro.param("a").tolist() == [1.0, 2.0]
    assert len(calls) == 1
    with pytest.raises(KeyError, match="'missing' is not in the ParamStore"):
        pyro.param("missing")


def test_values_are_constrained_and_storage_is_unconstrained(store):
    s = pyro.param("s", torch.tensor([0.5, 4.0]), constraint=constraints.positive)
    pyro.param("p", torch.tensor(0.8), constraint=constraints.unit_interval)
    x = pyro.param("x", torch.tensor(-3.0))
    assert torch.allclose(s, torch.tensor([0.5, 4.0]))
    # positive <-> exp, unit_interval <-> sigmoid: the leaves are log s and logit p
    assert torch.allclose(unconstrained(store, "s"), torch.tensor([math.log(0.5), math.log(4.0)]))
    assert unconstrained(store, "p").item() == pytest.approx(math.log(0.8 / 0.2), abs=1e-5)
    for name in ("s", "p", "x"):
        leaf = unconstrained(store, name)
        assert leaf.is_leaf and leaf.requires_grad and store.param_name(leaf) == name
    # the constrained value links to its leaf (what SVI hands to the optimizer)
    assert s.unconstrained() is unconstrained(store, "s")
    assert x.unconstrained() is unconstrained(store, "x") is x  # real: the leaf itself
    # gradients reach the leaf through the transform: d/du exp(u) = exp(u) = s
    s.sum().backward()
    assert torch.allclose(unconstrained(store, "s").grad, torch.tensor([0.5, 4.0]))


def test_keys_values_items_len_contains_del(store):
    pyro.param("x", torch.tensor(1.0))
    pyro.param("s", torch.tensor(2.0), constraint=constraints.positive)
    assert list(store.keys()) == ["x", "s"] == list(store.get_all_param_names()) == list(store)
    assert [v.item() for v in store.values()] == pytest.approx([1.0, 2.0])
    assert {k: v.item() for k, v in store.items()} == pytest.approx({"x": 1.0, "s": 2.0})
    assert len(store) == 2 and "s" in store and "nope" not in store and bool(store)
    assert store["s"].item() == pytest.approx(2.0)
    assert store.get_constraint("s") is constraints.positive
    leaf = unconstrained(store, "s")
    del store["s"]
    assert list(store.keys()) == ["x"] and store.param_name(leaf) is None
    store.clear()
    assert len(store) == 0 and not store


def test_setdefault_and_get_param(store):
    calls = []

    def init():
        calls.append(1)
        return torch.full((2,), 4.0)

    v = store.setdefault("foo", init, constraint=constraints.positive)
    assert v.tolist() == [4.0, 4.0]
    assert store.setdefault("foo", init, constraint=constraints.positive).tolist() == [4.0, 4.0]
    assert len(calls) == 1  # the lambda is evaluated only for a new name
    assert store.setdefault("num", 3.0).item() == 3.0  # numbers become tensors
    assert store.get_param("foo").tolist() == [4.0, 4.0]
    assert store.get_param("bar", torch.tensor(7.0)).item() == 7.0
    with pytest.raises(KeyError):
        store.get_param("baz")


def test_setitem_keeps_the_constraint(store):
    pyro.param("s", torch.tensor(2.0), constraint=constraints.positive)
    store["s"] = torch.tensor(5.0)
    assert store["s"].item() == pytest.approx(5.0)
    assert unconstrained(store, "s").item() == pytest.approx(math.log(5.0))
    store["new"] = torch.tensor(-1.0)
    assert store.get_constraint("new") is constraints.real and store["new"].item() == -1.0


def test_replace_param(store):
    old = pyro.param("w", torch.tensor(1.0))
    store.replace_param("w", torch.tensor(5.0), old)
    assert pyro.param("w").item() == 5.0
    with pytest.raises(ValueError, match="not the current value"):
        store.replace_param("w", torch.tensor(6.0), torch.tensor(1.0))


def test_match_and_param_name(store):
    w1 = pyro.param("layer1_weight", torch.ones(2))
    pyro.param("layer1_bias", torch.zeros(2))
    pyro.param("layer2_weight", torch.ones(3))
    assert store.param_name(w1) == "layer1_weight"
    assert store.param_name(torch.ones(2)) is None
    assert sorted(store.match("layer1_.*")) == ["layer1_bias", "layer1_weight"]
    assert sorted(store.match(".*_weight")) == ["layer1_weight", "layer2_weight"]
    assert store.match("nothing") == {}


def test_unsupported_constraint_names_the_param(store):
    with pytest.raises(ValueError, match="'k'.*IntegerInterval"):
        pyro.param("k", torch.tensor(1.0), constraint=constraints.integer_interval(0, 3))


def test_module_name_helpers_and_pyro_module(store):
    full = param_with_module_name("net", "layer.weight")
    assert full == "net$$$layer.weight"
    assert module_from_param_with_module_name(full) == "net"
    assert user_param_name(full) == "layer.weight" and user_param_name("plain") == "plain"
    assert normalize_param_name(full) == "net.layer.weight"
    net = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Linear(3, 1))
    assert pyro.module("net", net) is net
    assert sorted(store.keys()) == sorted(
        param_with_module_name("net", n) for n, _ in net.named_parameters())
    # the module's own Parameters are the stored leaves: training updates the module
    assert unconstrained(store, "net$$$0.weight") is net[0].weight
    with pytest.raises(TypeError, match="torch.nn.Module"):
        pyro.module("bad", lambda x: x)


# ------------------------------------------------------------- state


def test_get_state_set_state_roundtrip_keeps_tensors_and_constraints(store):
    pyro.param("x", torch.tensor([1.0, -2.0]))
    pyro.param("s", torch.tensor(3.0), constraint=constraints.positive)
    leaf_s = unconstrained(store, "s")
    state = store.get_state()
    assert set(state) == {"params", "constraints"}
    assert state["params"]["s"] is leaf_s
    assert state["constraints"]["s"] is constraints.positive
    store.clear()
    store.set_state(state)
    # the very same leaves come back: an optimizer holding them stays attached
    assert unconstrained(store, "s") is leaf_s and store.param_name(leaf_s) == "s"
    assert pyro.param("x").tolist() == [1.0, -2.0]
    assert pyro.param("s").item() == pytest.approx(3.0)
    with torch.no_grad():
        leaf_s.fill_(-50.0)  # any real number maps into the constraint
    assert 0 < pyro.param("s").item() < 1e-20
    with pytest.raises(ParamStoreError, match="get_state"):
        store.set_state({"constraints": {}})


def test_set_state_copies_non_leaf_tensors(store):
    base = torch.tensor(2.0, requires_grad=True)
    store.set_state({"params": {"y": base * 2}, "constraints": {}})
    y = unconstrained(store, "y")
    assert y.is_leaf and y.requires_grad and y.item() == 4.0


CONSTRAINED = {
    "positive": (constraints.positive, torch.tensor([0.5, 2.0])),
    "interval": (constraints.interval(-1.0, 3.0), torch.tensor([0.0, 2.5])),
    "unit_interval": (constraints.unit_interval, torch.tensor([0.2, 0.9])),
    "greater_than": (constraints.greater_than(1.5), torch.tensor([2.0, 3.0])),
    "simplex": (constraints.simplex, torch.tensor([0.2, 0.3, 0.5])),
    "lower_cholesky": (constraints.lower_cholesky, torch.tensor([[1.0, 0.0], [0.5, 2.0]])),
    "corr_cholesky": (constraints.corr_cholesky, torch.tensor([[1.0, 0.0], [0.6, 0.8]])),
    "positive_definite": (constraints.positive_definite, torch.tensor([[2.0, 0.5], [0.5, 1.0]])),
    "independent": (constraints.independent(constraints.positive, 1), torch.tensor([1.0, 2.0])),
    "real": (constraints.real, torch.tensor([-1.0, 1.0])),
    "cat": (constraints.cat([constraints.positive, constraints.unit_interval], 0, [2, 1]),
            torch.tensor([1.0, 2.0, 0.5])),
}


def test_save_load_roundtrip_with_constraints(store, tmp_path):
    for name, (constraint, value) in CONSTRAINED.items():
        pyro.param(name, value, constraint=constraint)
    path = str(tmp_path / "params.pt")
    store.save(path)
    assert os.listdir(tmp_path) == ["params.pt"]
    store.clear()
    pyro.param("other", torch.tensor(9.0))
    store.load(path, map_location="cpu")
    assert store["other"].item() == 9.0  # load adds to the store
    for name, (constraint, value) in CONSTRAINED.items():
        assert torch.allclose(store[name], value, atol=1e-5), name
        loaded = store.get_constraint(name)
        assert type(loaded) is type(constraint), name
        assert vars(loaded).keys() == vars(constraint).keys()
        # the same unconstrained leaf maps to the same value under the rebuilt constraint
        leaf = unconstrained(store, name)
        assert torch.allclose(transform_to(loaded)(leaf), transform_to(constraint)(leaf))
        assert leaf.is_leaf and leaf.requires_grad
    # torch's module-level constraint objects come back as themselves
    for name in ("positive", "unit_interval", "simplex", "lower_cholesky", "real"):
        assert store.get_constraint(name) is CONSTRAINED[name][0], name
    assert store.get_constraint("interval").lower_bound == -1.0
    assert store.get_constraint("interval").upper_bound == 3.0


def test_save_is_atomic(store, tmp_path, monkeypatch):
    pyro.param("x", torch.tensor(1.0))
    path = tmp_path / "params.pt"
    store.save(str(path))
    good = path.read_bytes()
    pyro.param("y", torch.tensor(2.0))

    def crashing_save(obj, f, *args, **kwargs):
        f.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", crashing_save)
    with pytest.raises(OSError, match="disk full"):
        store.save(str(path))
    monkeypatch.undo()
    assert path.read_bytes() == good  # the old file is intact
    assert os.listdir(tmp_path) == ["params.pt"]  # and no temporary file is left
    store.clear()
    store.load(str(path))
    assert list(store.keys()) == ["x"]


def test_atomic_save_syncs_the_file_then_renames_then_syncs_the_directory(tmp_path,
                                                                        monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append("fsync dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "fsync file")
        real_fsync(fd)

    def replace(src, dst):
        events.append("replace")
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    atomic_torch_save({"a": torch.ones(2)}, tmp_path / "x.pt")  # a PathLike is accepted
    monkeypatch.undo()
    assert events == ["fsync file", "replace", "fsync dir"]
    assert os.listdir(tmp_path) == ["x.pt"]
    assert torch.equal(safe_torch_load(tmp_path / "x.pt")["a"], torch.ones(2))


class _ThingError(ValueError):
    pass


def test_safe_load_raises_the_callers_errors_with_its_remedy(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"thing file .*nope\.pt.*no such file"):
        safe_torch_load(str(tmp_path / "nope.pt"), what="thing", error=_ThingError,
                        missing_error=FileNotFoundError, remedy="Write it again.")
    with pytest.raises(_ThingError, match=r"nope\.pt.*no such file"):
        safe_torch_load(str(tmp_path / "nope.pt"), error=_ThingError)
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a torch file")
    with pytest.raises(_ThingError, match=r"thing file .*bad\.pt.*corrupt.*Write it again\.$"):
        safe_torch_load(str(bad), what="thing", error=_ThingError, remedy="Write it again.")


def test_load_missing_corrupt_and_foreign_files(store, tmp_path):
    missing = str(tmp_path / "nope.pt")
    with pytest.raises(ParamStoreError, match="nope.pt.*no such file"):
        store.load(missing)
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"\x00\x01 not a torch file")
    with pytest.raises(ParamStoreError, match="corrupt.pt"):
        store.load(str(corrupt))
    pyro.param("x", torch.tensor(1.0))
    store.save(str(tmp_path / "good.pt"))
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes((tmp_path / "good.pt").read_bytes()[:40])
    with pytest.raises(ParamStoreError, match="truncated.pt"):
        store.load(str(truncated))
    foreign = str(tmp_path / "foreign.pt")
    torch.save({"weight": torch.ones(2)}, foreign)
    with pytest.raises(ParamStoreError, match="foreign.pt.*not a Pyro ParamStore file"):
        store.load(foreign)
    assert list(store.keys()) == ["x"]  # failed loads change nothing


class _Payload:
    """Unpickling this would create the marker file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
@pytest.mark.parametrize("writer", ["torch", "pickle"])
def test_load_never_executes_code(store, tmp_path, writer):
    marker = str(tmp_path / "pwned")
    path = str(tmp_path / "evil.pt")
    payload = {"format": "pyro-param-store", "params": {}, "constraints": {},
               "evil": _Payload(marker)}
    if writer == "torch":
        torch.save(payload, path)
    else:
        with open(path, "wb") as f:
            pickle.dump(payload, f)
    assert not os.path.exists(marker)
    with pytest.raises(ParamStoreError, match="evil.pt"):
        store.load(path)
    assert not os.path.exists(marker)


def test_load_of_a_damaged_param_file(store, tmp_path):
    path = str(tmp_path / "damaged.pt")
    torch.save({"format": "pyro-param-store", "params": {"x": [1.0]}, "constraints": {}}, path)
    with pytest.raises(ParamStoreError, match="damaged.pt.*damaged"):
        store.load(path)


def test_module_update_module_params_after_load(store, tmp_path):
    net = torch.nn.Linear(2, 1)
    with torch.no_grad():
        net.weight.fill_(3.0)
        net.bias.fill_(-1.0)
    pyro.module("net", net)
    path = str(tmp_path / "p.pt")
    store.save(path)
    store.clear()
    fresh = torch.nn.Linear(2, 1)
    store.load(path)
    pyro.module("net", fresh, update_module_params=True)  # Pyro's note on load()
    assert fresh.weight.tolist() == [[3.0, 3.0]] and fresh.bias.tolist() == [-1.0]
    assert fresh(torch.ones(1, 2)).item() == 5.0  # 3 + 3 - 1


# ------------------------------------------------------------- scope


def test_scope_example_from_seed_003(store):
    pyro.param("outside", torch.tensor(0.0))
    outside_leaf = unconstrained(store, "outside")
    with store.scope() as scope1:
        assert "outside" not in store
        pyro.param("a", torch.tensor(1.0))
    with store.scope() as scope2:
        pyro.param("a", torch.tensor(2.0))  # no clash with scope1's "a"
    assert list(store.keys()) == ["outside"]
    assert unconstrained(store, "outside") is outside_leaf  # the outer tensors come back
    with store.scope(scope1):
        assert pyro.param("a").item() == 1.0 and "outside" not in store
        pyro.param("b", torch.tensor(3.0))
        with torch.no_grad():
            unconstrained(store, "a").add_(10.0)
    with store.scope(scope2):
        assert pyro.param("a").item() == 2.0 and "b" not in store
    with store.scope(scope1):
        # what the block created or changed stays in its scope
        assert pyro.param("a").item() == 11.0 and pyro.param("b").item() == 3.0
    assert pyro.param("outside").item() == 0.0


def test_scope_restores_the_outer_store_after_an_error(store):
    pyro.param("keep", torch.tensor(1.0))
    with pytest.raises(RuntimeError):
        with store.scope():
            pyro.param("inner", torch.tensor(2.0))
            raise RuntimeError
    assert list(store.keys()) == ["keep"]


def test_separate_stores_are_independent():
    a, b = ParamStoreDict(), ParamStoreDict()
    a.setdefault("x", torch.tensor(1.0))
    assert "x" in a and "x" not in b


def test_modules_and_params_can_be_pickled(tmp_path):
    # the .unconstrained() reference on param values must not make them unpicklable
    net = torch.nn.Linear(2, 1)
    pyro.module("net", net)
    s = pyro.param("s", torch.tensor(2.0), constraint=constraints.positive)
    assert s.unconstrained() is dict(pyro.get_param_store().named_parameters())["s"]
    assert net.weight.unconstrained() is net.weight
    path = tmp_path / "net.pt"
    torch.save({"net": net, "s": s.detach()}, path)
    loaded = torch.load(path, weights_only=False)
    assert torch.equal(loaded["net"].weight, net.weight)
    assert loaded["net"].weight.unconstrained() is None  # a dead reference until re-registered
    pyro.module("net2", loaded["net"])
    assert loaded["net"].weight.unconstrained() is loaded["net"].weight
