"""pyro.util.import_subpackage: the lazy subpackages of the ``pyro`` and ``pyro.infer``
namespaces, with an AttributeError that names the distribution to install."""
import pytest

import pyro
from pyro.util import import_subpackage


def test_an_installed_module_is_imported():
    assert import_subpackage("pyro.ops.special", "pyro-core") is pyro.ops.special


@pytest.mark.parametrize("module", ["pyro_missing_portion", "pyro_missing_portion.sub"])
def test_a_missing_module_is_an_attribute_error_naming_the_distribution(module):
    with pytest.raises(AttributeError, match=rf"^{module} is not installed: it ships with the "
                                             r"pyro-extra distribution \(pip install pyro-extra\)"):
        import_subpackage(module, "pyro-extra")
    with pytest.raises(AttributeError, match="^pyro.thing is not installed"):
        import_subpackage(module, "pyro-extra", what="pyro.thing")


def test_an_import_error_inside_an_installed_module_propagates(tmp_path, monkeypatch):
    (tmp_path / "pyro_broken_portion.py").write_text("import pyro_dependency_not_here\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError, match="pyro_dependency_not_here"):
        import_subpackage("pyro_broken_portion", "pyro-extra")


def test_namespace_getattr_uses_it():
    assert not hasattr(pyro, "no_such_subpackage")
    assert pyro.settings is import_subpackage("pyro.settings", "pyro-core")
