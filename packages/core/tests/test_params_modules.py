"""Ownership in pyro.params: the process-wide store is made by pyro.poutine.runtime, where
it is declared; constraint serialisation and safe torch file IO have their own modules."""
import ast
import inspect

import pytest
import torch
from torch.distributions import constraints

import pyro
from pyro.params.constraint_spec import constraint_from_spec, constraint_to_spec
from pyro.params.errors import ParamStoreError
from pyro.params.param_store import ParamStoreDict
from pyro.params.safe_io import atomic_torch_save, safe_torch_load
from pyro.poutine import runtime


def test_the_param_store_is_created_by_the_runtime_module():
    assert isinstance(runtime._PYRO_PARAM_STORE, ParamStoreDict)
    assert pyro.get_param_store() is runtime._PYRO_PARAM_STORE
    pyro.clear_param_store()
    pyro.param("ownership_probe", torch.ones(2))
    assert "ownership_probe" in runtime.get_param_store()
    pyro.clear_param_store()
    # pyro/__init__.py injects nothing into the runtime module
    tree = ast.parse(inspect.getsource(pyro))
    targets = [t for node in ast.walk(tree) if isinstance(node, ast.Assign) for t in node.targets]
    assert not any(isinstance(t, ast.Attribute) for t in targets)


@pytest.mark.parametrize("constraint", [
    constraints.interval(-1.0, 2.5),
    constraints.greater_than(torch.tensor([0.0, 1.0])),
    constraints.independent(constraints.positive, 1),
])
def test_constraint_specs_round_trip(constraint):
    spec = constraint_to_spec("w", constraint)
    rebuilt = constraint_from_spec("w", spec, "test")
    assert type(rebuilt) is type(constraint)
    x = torch.tensor([0.5, 3.0])
    assert torch.equal(rebuilt.check(x), constraint.check(x))


def test_module_level_constraints_come_back_as_themselves():
    spec = constraint_to_spec("w", constraints.positive)
    assert constraint_from_spec("w", spec, "test") is constraints.positive


def test_unknown_constraint_classes_are_refused():
    spec = {"module": "os", "class": "system", "args": {}}
    with pytest.raises(ParamStoreError, match="parameter 'w' has constraint os.system"):
        constraint_from_spec("w", spec, "file.pt")


def test_safe_io_round_trip_and_refusals(tmp_path):
    path = tmp_path / "state.pt"
    atomic_torch_save({"a": torch.arange(3.0)}, path)
    assert torch.equal(safe_torch_load(path)["a"], torch.arange(3.0))
    torch.save({"f": ParamStoreDict}, tmp_path / "code.pt")  # a class: not plain data
    with pytest.raises(ParamStoreError, match="code.pt.*not plain data"):
        safe_torch_load(tmp_path / "code.pt")
    with pytest.raises(FileNotFoundError, match="no such file"):
        safe_torch_load(tmp_path / "missing.pt", missing_error=FileNotFoundError)
