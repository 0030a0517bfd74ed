"""``import pyro`` alone reaches every installed subpackage (Pyro's namespace), lazily, and a
missing distribution is named in the error."""
import subprocess
import sys
import textwrap

import pytest

import pyro


def _run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


# A finder that makes the named modules look uninstalled, as after `pip uninstall`.
_HIDE = """
import importlib.abc, sys
class _Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name in HIDDEN or name.startswith(tuple(h + "." for h in HIDDEN)):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, _Hide())
"""


def _needs(*modules: str) -> None:
    # the upper packages are absent in pyro-core's own tox environment
    for module in modules:
        pytest.importorskip(module, reason=f"needs {module}")


def test_bare_import_is_lazy_and_resolves_subpackages():
    _needs("pyro.distributions", "pyro.optim", "pyro.nn", "pyro.infer.autoguide")
    out = _run("""
        import sys
        import pyro
        upper = ["pyro.distributions", "pyro.infer", "pyro.optim", "pyro.nn"]
        print("eager", [m for m in upper if m in sys.modules])
        print(pyro.distributions.Normal.__name__, pyro.infer.SVI.__name__,
              pyro.optim.Adam.__name__, pyro.nn.PyroModule.__name__,
              pyro.ops.__name__, pyro.poutine.trace.__name__, pyro.params.__name__,
              pyro.util.__name__)
        import pyro.infer
        print(pyro.infer.autoguide.AutoNormal.__name__, pyro.infer.mcmc.NUTS.__name__)
    """)
    assert "eager []" in out
    assert "Normal SVI Adam PyroModule pyro.ops trace pyro.params pyro.util" in out
    assert "AutoNormal NUTS" in out


def test_from_pyro_import_subpackage():
    _needs("pyro.distributions", "pyro.infer")
    from pyro import distributions, infer

    assert distributions.Normal is pyro.distributions.Normal
    assert infer.SVI is pyro.infer.SVI


def test_unknown_attribute_is_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'not_a_module'"):
        pyro.not_a_module
    assert not hasattr(pyro, "not_a_module")
    _needs("pyro.infer")
    with pytest.raises(AttributeError, match="no attribute 'NotAnAlgorithm'"):
        pyro.infer.NotAnAlgorithm


@pytest.mark.parametrize("hidden,access,dist_name", [
    ("pyro.nn", "pyro.nn", "pyro-nn"),
    ("pyro.infer", "pyro.infer", "pyro-infer"),
    ("pyro.infer.autoguide", "pyro.infer.autoguide", "pyro-autoguide"),
])
def test_missing_distribution_is_named(hidden, access, dist_name):
    parent = access.rpartition(".")[0]
    if parent != "pyro":
        _needs(parent)
    out = _run(f"""
        HIDDEN = ({hidden!r},)
        {textwrap.indent(_HIDE, " " * 8).strip()}
        import pyro
        parent, _, name = {access!r}.rpartition(".")
        mod = pyro if parent == "pyro" else getattr(pyro, parent.split(".")[1])
        try:
            getattr(mod, name)
        except AttributeError as e:
            print("AttributeError:", e)
        print("hasattr", hasattr(mod, name))
    """)
    assert f"pip install {dist_name}" in out
    assert "hasattr False" in out


def test_broken_subpackage_reports_its_own_import_error():
    # A subpackage that is installed but fails on its own imports is not "not installed".
    out = _run("""
        import importlib.abc, sys
        import pyro
        assert "pyro.ops" not in sys.modules
        class _Broken(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name == "pyro.ops":
                    raise ModuleNotFoundError("No module named 'scipy_missing'",
                                              name="scipy_missing")
        sys.meta_path.insert(0, _Broken())
        try:
            pyro.ops
        except ModuleNotFoundError as e:
            print("ModuleNotFoundError", e.name)
    """)
    assert "ModuleNotFoundError scipy_missing" in out
