"""Atomic writes (pyro.atomic_file): permissions kept, symlinks followed, errors naming the
user's path, and no temporary file left behind, even by a save killed midway."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import torch

import pyro
from pyro.atomic_file import atomic_write


def strays(directory):
    return sorted(n for n in os.listdir(directory) if n.endswith(".tmp"))


def test_existing_file_keeps_its_permissions(tmp_path):
    path = tmp_path / "params.pt"
    path.write_bytes(b"old")
    os.chmod(path, 0o600)
    with atomic_write(path) as f:
        f.write(b"new")
    assert path.read_bytes() == b"new"
    assert oct(os.stat(path).st_mode & 0o777) == oct(0o600)


def test_new_file_gets_umask_permissions(tmp_path):
    old = os.umask(0o027)
    try:
        with atomic_write(tmp_path / "new.pt") as f:
            f.write(b"x")
    finally:
        os.umask(old)
    assert oct(os.stat(tmp_path / "new.pt").st_mode & 0o777) == oct(0o640)


def test_symlink_is_followed_and_kept(tmp_path):
    real_dir = tmp_path / "store"
    real_dir.mkdir()
    real = real_dir / "params.pt"
    real.write_bytes(b"old")
    link = tmp_path / "latest.pt"
    link.symlink_to(real)
    pyro.param("a", torch.ones(2))
    pyro.get_param_store().save(str(link))
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_bytes() != b"old"
    pyro.clear_param_store()
    pyro.get_param_store().load(str(link))
    assert torch.equal(pyro.param("a"), torch.ones(2))
    assert strays(tmp_path) == [] and strays(real_dir) == []


def test_missing_directory_error_names_the_users_path(tmp_path):
    path = tmp_path / "no" / "such" / "params.pt"
    with pytest.raises(FileNotFoundError) as info:
        with atomic_write(path) as f:
            f.write(b"x")
    assert info.value.filename == str(path)
    assert str(path) in str(info.value) and ".tmp" not in str(info.value)


def test_failed_rename_names_the_users_path(tmp_path):
    target = tmp_path / "a_directory"
    target.mkdir()
    with pytest.raises(OSError) as info:
        with atomic_write(target) as f:
            f.write(b"x")
    assert info.value.filename == str(target) and ".tmp" not in str(info.value)
    assert strays(tmp_path) == []


def test_exception_while_writing_leaves_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt):
        with atomic_write(path) as f:
            f.write(b"partial")
            raise KeyboardInterrupt
    assert path.read_bytes() == b"old" and strays(tmp_path) == []


def test_stale_temporaries_of_dead_writers_are_removed_live_ones_kept(tmp_path):
    path = tmp_path / "params.pt"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    stale = tmp_path / f".params.pt.{dead}.abcd1234.tmp"
    stale.write_bytes(b"x" * 100)
    live = tmp_path / f".params.pt.{os.getppid()}.abcd1234.tmp"  # our parent is alive
    live.write_bytes(b"y")
    other = tmp_path / f".other.pt.{dead}.abcd1234.tmp"  # another target: not ours to judge
    other.write_bytes(b"z")
    with atomic_write(path) as f:
        f.write(b"new")
    assert not stale.exists()
    assert live.exists() and other.exists()


# --------------------------------------------------------------- killed during a 100 MB save

CHILD = textwrap.dedent("""
    import sys, torch, pyro
    torch.set_num_threads(1)
    pyro.param("big", torch.ones(25_000_000))  # 100 MB of float32
    print("ready", flush=True)
    sys.stdin.readline()
    pyro.get_param_store().save(sys.argv[1])
    print("done", flush=True)
""")


def _kill_during_save(tmp_path, path, sig, fraction):
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        child.stdin.write("go\n")
        child.stdin.flush()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            tmps = [tmp_path / n for n in strays(tmp_path) if f".{child.pid}." in n]
            sizes = [t.stat().st_size for t in tmps if t.exists()]
            if sizes and max(sizes) >= fraction * 100e6:
                break
            if child.poll() is not None:
                pytest.fail("the save finished before it could be interrupted")
            time.sleep(0.002)
        child.send_signal(sig)
        child.wait(60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    return child.returncode


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_save_killed_midway_keeps_old_file_and_leaves_no_stray(tmp_path, sig):
    path = tmp_path / "params.pt"
    pyro.param("small", torch.arange(3.0))
    pyro.get_param_store().save(str(path))
    original = path.read_bytes()
    for fraction in (0.0, 0.3, 0.8):
        rc = _kill_during_save(tmp_path, path, sig, fraction)
        assert rc == -sig
        assert path.read_bytes() == original  # the old file is intact
        if sig == signal.SIGTERM:
            assert strays(tmp_path) == []  # removed by the handler before dying
    # a later save to the same target removes what a SIGKILL left
    pyro.get_param_store().save(str(path))
    assert strays(tmp_path) == []
    pyro.clear_param_store()
    pyro.get_param_store().load(str(path))
    assert torch.equal(pyro.param("small"), torch.arange(3.0))
