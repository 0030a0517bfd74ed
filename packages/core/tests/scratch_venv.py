"""A throw-away virtual environment for installation tests.

Creating a venv with torch in it would take minutes, so the scratch venv sees the
current environment's third-party packages (torch, pluggy, numpy, ...) through a
directory of symlinks, minus every ``pyro`` distribution: the Pyro packages under test
are installed into it from this repository, as wheels or editable.
"""
from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
PACKAGES = ["core", "distributions", "optim", "nn", "infer", "autoguide"]


def _is_pyro_entry(name: str) -> bool:
    low = name.lower()
    return low.startswith(("pyro", "_pyro", "__editable__.pyro", "__editable___pyro"))


class ScratchVenv:
    def __init__(self, root: Path) -> None:
        self.root = root
        venv.EnvBuilder(with_pip=False).create(root)
        self.python = str(root / "bin" / "python")
        site = Path(subprocess.check_output(
            [self.python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            text=True).strip())
        shared = root / "shared-site"
        shared.mkdir()
        parent_site = Path(sysconfig.get_paths()["purelib"])
        for entry in parent_site.iterdir():
            if _is_pyro_entry(entry.name) or entry.suffix == ".pth":
                continue
            (shared / entry.name).symlink_to(entry)
        (site / "zz_shared_site.pth").write_text(str(shared) + "\n")
        self.site = site

    def pip(self, *args: str) -> str:
        cmd = [sys.executable, "-m", "pip", "--python", self.python, "--disable-pip-version-check",
               "-q", *args]
        return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout

    def install_wheels(self, wheels: Sequence[Path]) -> None:
        self.pip("install", "--no-deps", "--no-index", *map(str, wheels))

    def install_editable(self, packages: Sequence[str]) -> None:
        args: list[str] = []
        for p in packages:
            args += ["-e", str(REPO / "packages" / p)]
        self.pip("install", "--no-deps", "--no-build-isolation", "--no-index", *args)

    def uninstall(self, *dists: str) -> None:
        self.pip("uninstall", "-y", *dists)

    def run(self, code: str, env=None, check: bool = True) -> subprocess.CompletedProcess:
        full_env = {**os.environ, **(env or {})}
        full_env.pop("PYTHONPATH", None)
        return subprocess.run([self.python, "-c", code], capture_output=True, text=True,
                              check=check, env=full_env, cwd=str(self.root))

    def command(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        return subprocess.run([str(self.root / "bin" / args[0]), *args[1:]], capture_output=True,
                              text=True, check=check, env=env, cwd=str(self.root))


def build_wheels(out: Path, packages: Sequence[str] = PACKAGES) -> list[Path]:
    for p in packages:
        subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                        "--no-build-isolation", "--no-index", "-w", str(out),
                        str(REPO / "packages" / p)], check=True, capture_output=True, text=True)
    return sorted(out.glob("*.whl"))
