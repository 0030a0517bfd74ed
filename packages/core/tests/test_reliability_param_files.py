"""ParamStore files: every tensor checked before use, loads all or nothing with
ParamStoreError, pyro-ppl 1.9 files read without running code (or refused on one line
with a migration hint). The pyro-ppl files in data/ were written by pyro-ppl 1.9.2 with
data/make_pyro_ppl_fixtures.py."""
import fractions
import os
from pathlib import Path

import pytest
import torch
from torch.distributions import constraints

import pyro
from pyro.params import ParamStoreError

DATA = Path(__file__).with_name("data")


def save_raw(path, params, cons=None):
    torch.save({"format": "pyro-param-store", "version": 1, "params": params,
                "constraints": cons or {}}, str(path))


def snapshot():
    store = pyro.get_param_store()
    return {k: (v.detach().clone(), store.get_constraint(k)) for k, v in store.items()}


def assert_unchanged(before):
    after = snapshot()
    assert after.keys() == before.keys()
    for k, (v, c) in before.items():
        assert torch.equal(after[k][0], v) and after[k][1] is c


def test_pyro_ppl_file_loads_with_values_and_constraints():
    # the file holds pyro-distributions' softplus_positive (pyro-core alone refuses it
    # with a migration hint)
    pytest.importorskip("pyro.distributions", reason="the file's constraints need it")
    store = pyro.get_param_store()
    store.load(str(DATA / "pyro_ppl_1_9_param_store.pt"))
    # the constrained values pyro-ppl printed when it wrote the file
    expected = {
        "loc": [0.5, -1.0], "scale": [1.0, 2.0], "probs": [0.2, 0.3, 0.5], "p": 0.25,
        "ab": 1.5, "tril": [[2.0, 0.0], [0.5, 1.0]], "AutoNormal.locs.z": [0.0, 0.0],
        "AutoNormal.scales.z": [0.1, 0.1],
    }
    assert set(store.keys()) == set(expected)
    for name, value in expected.items():
        assert torch.allclose(store[name], torch.tensor(value), atol=1e-6), name
    assert store.get_constraint("scale") is constraints.positive
    assert store.get_constraint("probs") is constraints.simplex
    assert store.get_constraint("tril") is constraints.lower_cholesky
    c = store.get_constraint("ab")
    assert (c.lower_bound, c.upper_bound) == (1.0, 2.0)
    assert type(store.get_constraint("AutoNormal.scales.z")).__name__ == "_SoftplusPositive"
    assert store["loc"].requires_grad


def test_pyro_ppl_file_with_custom_constraint_is_refused_on_one_line():
    pyro.param("keep", torch.ones(2))
    before = snapshot()
    with pytest.raises(ParamStoreError) as info:
        pyro.get_param_store().load(str(DATA / "pyro_ppl_1_9_custom_constraint.pt"))
    msg = str(info.value)
    assert "\n" not in msg and "\x1b" not in msg
    assert "pyro_ppl_1_9_custom_constraint.pt" in msg and "ShiftedPositive" in msg
    assert "migrate" in msg.lower() and msg.endswith(".")
    assert_unchanged(before)


def test_unreadable_file_message_is_one_clean_line(tmp_path):
    path = tmp_path / "obj.pt"
    torch.save({"params": {"a": fractions.Fraction(1, 3)}}, str(path))
    with pytest.raises(ParamStoreError) as info:
        pyro.get_param_store().load(str(path))
    msg = str(info.value)
    assert "\n" not in msg and "\x1b" not in msg and "obj.pt" in msg and msg.endswith(".")


def test_load_failing_partway_changes_nothing_and_raises_param_store_error(tmp_path):
    pyro.param("a", torch.zeros(2))
    pyro.param("b", torch.ones(3), constraint=constraints.positive)
    before = snapshot()
    path = tmp_path / "partial.pt"
    # "a" is fine; "b" has a constraint no transform maps onto (checked after "a")
    save_raw(path, {"a": torch.full((2,), 5.0), "b": torch.zeros(3)},
             {"b": {"module": "torch.distributions.constraints", "class": "_IntegerInterval",
                    "args": {"lower_bound": 0, "upper_bound": 3}}})
    with pytest.raises(ParamStoreError) as info:
        pyro.get_param_store().load(str(path))
    assert type(info.value) is ParamStoreError and "partial.pt" in str(info.value)
    assert "'b'" in str(info.value)
    assert_unchanged(before)


@pytest.mark.parametrize("bad, match", [
    (torch.zeros(1).expand(1000), "repeats or overlaps"),
    (torch.as_strided(torch.arange(4.0), (2, 2), (1, 1)), "repeats or overlaps"),
    (torch.arange(3), "floating point"),
    (torch.zeros(5), r"shape \(5,\) does not match the parameter's shape \(3,\)"),
])
def test_malformed_tensor_is_refused_naming_file_and_entry(tmp_path, bad, match):
    pyro.param("w", torch.ones(3))
    before = snapshot()
    path = tmp_path / "bad.pt"
    save_raw(path, {"ok": torch.ones(2), "w": bad})
    with pytest.raises(ParamStoreError, match=match) as info:
        pyro.get_param_store().load(str(path))
    assert "bad.pt" in str(info.value) and "'w'" in str(info.value)
    assert_unchanged(before)


def test_value_its_constraint_cannot_take_is_refused(tmp_path):
    path = tmp_path / "tril.pt"
    save_raw(path, {"L": torch.zeros(3)},
             {"L": {"module": "torch.distributions.constraints", "class": "_LowerCholesky",
                    "args": {}}})
    with pytest.raises(ParamStoreError, match=r"tril\.pt.*'L'.*constraint"):
        pyro.get_param_store().load(str(path))
    assert len(pyro.get_param_store()) == 0


def test_constraint_spec_cannot_name_other_classes_or_methods(tmp_path):
    path = tmp_path / "spec.pt"
    save_raw(path, {"x": torch.ones(1)},
             {"x": {"module": "os", "class": "system", "args": {}}})
    with pytest.raises(ParamStoreError, match="not available"):
        pyro.get_param_store().load(str(path))
    save_raw(path, {"x": torch.ones(1)},
             {"x": {"module": "torch.distributions.constraints", "class": "_GreaterThan",
                    "args": {"check": 1.0, "lower_bound": 0.0}}})
    with pytest.raises(ParamStoreError, match="invalid attribute name 'check'"):
        pyro.get_param_store().load(str(path))


def test_loaded_tensors_are_fresh_contiguous_copies(tmp_path):
    base = torch.arange(6.0).reshape(2, 3)
    path = tmp_path / "views.pt"
    save_raw(path, {"t": base.t(), "row": base[1]})  # views sharing one storage
    pyro.get_param_store().load(str(path))
    t = pyro.get_param_store().get_unconstrained("t")
    row = pyro.get_param_store().get_unconstrained("row")
    assert t.is_contiguous() and torch.equal(t, base.t())
    assert t.untyped_storage().data_ptr() != row.untyped_storage().data_ptr()
    assert os.listdir(tmp_path) == ["views.pt"]
