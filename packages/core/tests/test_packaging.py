"""The six distributions share the one ``pyro`` namespace, as wheels and as editable
installs, and keep working when one of them is uninstalled."""

import importlib.util
import zipfile
from pathlib import Path

import pytest

# --import-mode=importlib puts no test directory on sys.path: load the helper by path.
_spec = importlib.util.spec_from_file_location(
    "scratch_venv", Path(__file__).with_name("scratch_venv.py")
)
scratch_venv = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(scratch_venv)
PACKAGES, REPO, ScratchVenv, build_wheels = (
    scratch_venv.PACKAGES,
    scratch_venv.REPO,
    scratch_venv.ScratchVenv,
    scratch_venv.build_wheels,
)

pytestmark = pytest.mark.slow

pytest.importorskip("hatchling", reason="building the packages needs hatchling")

NAMESPACE_CHECK = """
import pyro, pyro.distributions, pyro.optim, pyro.nn, pyro.infer, pyro.infer.autoguide
import pyro.poutine, pyro.params, pyro.plugins, pyro.ops
print("path", len(pyro.__path__))
for mod in (pyro.distributions, pyro.optim, pyro.nn, pyro.infer, pyro.infer.autoguide):
    print(mod.__name__, mod.__file__)
print("AutoNormal", pyro.infer.autoguide.AutoNormal.__module__)
"""


@pytest.fixture(scope="module")
def wheels(tmp_path_factory):
    return build_wheels(tmp_path_factory.mktemp("wheels"))


def test_wheels_share_the_namespace_and_survive_an_uninstall(tmp_path, wheels):
    assert sorted(w.name.split("-")[0] for w in wheels) == sorted("pyro_" + p for p in PACKAGES)
    env = ScratchVenv(tmp_path / "venv")
    env.install_wheels(wheels)
    out = env.run(NAMESPACE_CHECK).stdout
    # wheels all unpack into one site-packages/pyro directory
    assert out.splitlines()[0] == "path 1"
    for line in out.splitlines()[1:-1]:
        assert str(env.site) in line, line
    assert "pyro.infer.autoguide" in out

    # pyro-autoguide ships pyro/infer/autoguide only: without it pyro.infer still works
    env.uninstall("pyro-autoguide")
    env.run("import pyro.infer; print(pyro.infer.SVI)")
    res = env.run("import pyro.infer.autoguide", check=False)
    assert res.returncode != 0 and "ModuleNotFoundError" in res.stderr

    # without pyro-infer, the language and the distributions still work
    env.uninstall("pyro-infer")
    env.run(
        "import pyro, pyro.distributions as dist; from pyro import poutine\n"
        "tr = poutine.trace(lambda: pyro.sample('x', dist.Normal(0., 1.))).get_trace()\n"
        "assert 'x' in tr"
    )
    res = env.run("import pyro.infer", check=False)
    assert res.returncode != 0 and "ModuleNotFoundError" in res.stderr


#: The PEP 561 marker of each distribution, in the top package it owns.
PY_TYPED = {
    "core": "pyro/py.typed",
    "distributions": "pyro/distributions/py.typed",
    "optim": "pyro/optim/py.typed",
    "nn": "pyro/nn/py.typed",
    "infer": "pyro/infer/py.typed",
    "autoguide": "pyro/infer/autoguide/py.typed",
}


def test_every_wheel_ships_its_py_typed_marker(wheels):
    for wheel in wheels:
        package = wheel.name.split("-")[0].removeprefix("pyro_")
        assert PY_TYPED[package] in zipfile.ZipFile(wheel).namelist(), wheel.name


def test_editable_installs_share_the_namespace(tmp_path):
    env = ScratchVenv(tmp_path / "venv")
    env.install_editable(PACKAGES)
    out = env.run(NAMESPACE_CHECK).stdout
    # one portion per source tree, found by pkgutil.extend_path
    assert out.splitlines()[0] == "path 6"
    for line, pkg in zip(
        out.splitlines()[1:], ["distributions", "optim", "nn", "infer", "autoguide"]
    ):
        assert str(REPO / "packages" / pkg / "src") in line, line
    # editable installs are plain .pth files (no import hooks)
    pths = sorted(p.name for p in env.site.glob("*.pth") if "pyro" in p.name)
    assert len(pths) == 6, pths
