"""One shared version ``<Pyro API level>.post<N>`` across the six packages."""
import re
from pathlib import Path

import pytest

import pyro

tomllib = pytest.importorskip("tomllib", reason="Python >= 3.11 reads pyproject.toml")
PACKAGES = Path(__file__).resolve().parents[2]
NAMES = ["core", "distributions", "optim", "nn", "infer", "autoguide"]


def _project(name: str) -> dict:
    return tomllib.loads((PACKAGES / name / "pyproject.toml").read_text())["project"]


def test_version_names_the_pyro_api_level():
    match = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)\.post(\d+)", pyro.__version__)
    assert match, pyro.__version__
    assert tuple(map(int, match.groups()[:3])) == (1, 9, 2)


def test_version_passes_gates_on_pyro_1_x():
    version = pytest.importorskip("packaging.version", reason="needs packaging")
    v = version.Version(pyro.__version__)
    assert v >= version.Version("1.0.0")  # ArviZ's from_pyro gate
    assert v >= version.Version("1.9.2") and v < version.Version("1.9.3")


@pytest.mark.skipif(not (PACKAGES / "core" / "pyproject.toml").exists(),
                    reason="needs the source tree")
@pytest.mark.parametrize("name", NAMES)
def test_every_package_has_the_same_version_and_pins_it(name):
    project = _project(name)
    assert project["version"] == pyro.__version__
    for dep in project["dependencies"]:
        if dep.startswith("pyro-"):
            assert dep.split("==")[1] == pyro.__version__, dep
