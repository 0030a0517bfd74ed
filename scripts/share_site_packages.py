"""Hard-link this environment's installed files to identical copies in a reference venv.

Each tox environment installs its own torch (about 1 GB with scipy and the rest), and the
disk CI runs on is shared and sometimes nearly full: nine such copies once filled it. After
an environment's install, every file in its site-packages that has a byte-identical twin at
the same relative path in the reference environment (the development ``.venv`` made by
``scripts/bootstrap.sh``) is replaced by a hard link to that twin, so the environment costs
only what differs. Nothing is imported or changed in content: the environment holds the same
bytes at the same paths, and each replacement is atomic (link to a temporary name, then
``os.replace``).

Usage: ``python scripts/share_site_packages.py REFERENCE_VENV`` (tox's ``commands_pre``).
Files on another filesystem, files the reference lacks, and every failure to link are left as
they are; the script never fails the run for them.
"""

from __future__ import annotations

import filecmp
import os
import stat
import sys
import sysconfig
from pathlib import Path


def reference_site_packages(venv: Path) -> Path | None:
    """The reference venv's site-packages, or None when it has none."""
    found = sorted(venv.glob("lib/python*/site-packages"))
    return found[0] if found else None


def share(own: Path, ref: Path) -> tuple[int, int]:
    """Link each file under ``own`` to its identical twin under ``ref``; (files, bytes) saved."""
    files = saved = 0
    for dirpath, _dirs, names in os.walk(own):
        for name in names:
            path = Path(dirpath, name)
            twin = ref / path.relative_to(own)
            try:
                st, st_twin = path.lstat(), twin.lstat()
            except OSError:
                continue
            if not _same_regular_file(path, twin, st, st_twin):
                continue
            tmp = path.with_name(path.name + ".share-tmp")
            try:
                os.link(twin, tmp)
                os.replace(tmp, path)
            except OSError:
                tmp.unlink(missing_ok=True)
                continue
            files += 1
            saved += st.st_size
    return files, saved


def _same_regular_file(path: Path, twin: Path, st: os.stat_result, st_twin: os.stat_result) -> bool:
    if not (stat.S_ISREG(st.st_mode) and stat.S_ISREG(st_twin.st_mode)):
        return False
    if st.st_ino == st_twin.st_ino and st.st_dev == st_twin.st_dev:
        return False  # already one file
    if st.st_dev != st_twin.st_dev or st.st_size != st_twin.st_size or st.st_size == 0:
        return False
    return filecmp.cmp(path, twin, shallow=False)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: share_site_packages.py REFERENCE_VENV", file=sys.stderr)
        return 2
    ref = reference_site_packages(Path(argv[1]))
    own = Path(sysconfig.get_paths()["purelib"])
    if ref is None or ref.resolve() == own.resolve():
        print(f"[share_site_packages] no reference site-packages under {argv[1]}; nothing shared")
        return 0
    files, saved = share(own, ref)
    print(f"[share_site_packages] {files} files ({saved / 2**20:.0f} MiB) linked to {ref}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
