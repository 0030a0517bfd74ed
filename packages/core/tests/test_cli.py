"""The ``pyro`` command line with a hand-registered runner (pyro-core alone)."""
import importlib.metadata
import math
import os
import textwrap

import numpy as np
import pytest
import torch

import pyro
import pyro.plugins as plugins
from pyro import cli, poutine
from pyro.plugins import hookimpl
from pyro.plugins.manager import _invalidate

MODEL = """
import torch, pyro
import torch.distributions as dist

def model(n):
    with pyro.plate("g", n):
        pyro.sample("z", dist.Normal(0.0, 1.0))

data = {"n": 2}
"""


def grid_runner(model, data, num_samples=101, **options):
    # Deterministic "posterior": z[0] takes the values 0..100, z[1] = -z[0].
    grid = torch.arange(float(num_samples))
    return {"samples": {"z": torch.stack([grid, -grid], -1)}, "info": {"options": options}}


def chains_runner(model, data, **options):
    g = torch.Generator().manual_seed(0)
    return {"samples": {"mu": torch.randn(2, 500, generator=g)}, "group_by_chain": True}


class RunnerPlugin:
    @hookimpl
    def pyro_register_runners(self, registry):
        registry.add("grid", grid_runner)
        registry.add("chains", chains_runner)


@pytest.fixture
def runners():
    plugins.register(RunnerPlugin(), name="test-runners")
    yield
    plugins.unregister(name="test-runners")
    _invalidate()


@pytest.fixture
def model_file(tmp_path):
    path = tmp_path / "model.py"
    path.write_text(MODEL)
    return str(path)


def test_fit_prints_exact_summary(runners, model_file, capsys):
    assert cli.main(["fit", model_file, "--algo", "grid", "--no-progress"]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()[2:] if line.strip()}
    # 0..100: mean 50, std sqrt(101*102/12) = 29.30 (n-1 denominator), quantiles 5, 50, 95
    assert rows["z[0]"] == ["50.00", "29.30", "5.00", "50.00", "95.00"]
    assert rows["z[1]"] == ["-50.00", "29.30", "-95.00", "-50.00", "-5.00"]
    assert "5%" in out and "95%" in out


def test_mcmc_summary_has_n_eff_and_r_hat(runners, model_file, capsys):
    pytest.importorskip("pyro.ops.stats")
    assert cli.main(["fit", model_file, "--algo", "chains"]) == 0
    out = capsys.readouterr().out
    header = out.splitlines()[2]
    assert header.split()[-2:] == ["n_eff", "r_hat"]
    mu = next(line for line in out.splitlines() if line.strip().startswith("mu")).split()
    # 1000 iid N(0,1) draws in 2 chains: n_eff near 1000, r_hat near 1
    assert 700 < float(mu[6]) < 1400 and abs(float(mu[7]) - 1.0) < 0.01


def test_options_reach_the_runner(runners, model_file, monkeypatch):
    seen = {}

    def spy(model, data, **options):
        seen.update(options)
        seen["data"] = data
        return grid_runner(model, data)

    monkeypatch.setitem(plugins.get_registry("runners")._entries, "grid", (spy, "test"))
    cli.main(["fit", model_file, "--algo", "grid", "--num-steps", "7", "--lr", "0.5",
              "--seed", "3", "--no-progress"])
    assert seen["num_steps"] == 7 and seen["lr"] == 0.5 and seen["seed"] == 3
    assert seen["progress_bar"] is False and seen["data"] == {"n": 2}


@pytest.mark.parametrize("ext", [".pt", ".npz", ".csv"])
def test_out_writes_samples(runners, model_file, tmp_path, ext):
    out = tmp_path / f"samples{ext}"
    assert cli.main(["fit", model_file, "--algo", "grid", "--out", str(out), "--no-progress"]) == 0
    expected = torch.arange(101.0)
    if ext == ".pt":
        z = torch.load(out, weights_only=True)["z"]
        assert torch.equal(z[:, 0], expected)
    elif ext == ".npz":
        assert np.array_equal(np.load(out)["z"][:, 0], expected.numpy())
    else:
        table = np.genfromtxt(out, delimiter=",", names=True)
        assert table.dtype.names == ("z0", "z1")  # numpy strips the brackets of z[0], z[1]
        assert np.array_equal(table["z0"], expected.numpy())
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp file left


def test_errors_are_one_line_and_say_what_to_do(runners, model_file, tmp_path, capsys):
    # --algo grid: the test's own runner (pyro-core alone registers none)
    assert cli.main(["fit", str(tmp_path / "missing.py"), "--algo", "grid"]) == 2
    assert "not found" in capsys.readouterr().err
    bad = tmp_path / "bad.py"
    bad.write_text("data = {}\n")
    assert cli.main(["fit", str(bad), "--algo", "grid"]) == 2
    assert "must define `model`" in capsys.readouterr().err
    assert cli.main(["fit", model_file, "--algo", "nope"]) == 2
    err = capsys.readouterr().err
    assert "no fitting recipe named 'nope'" in err and "grid" in err
    assert cli.main(["fit", model_file, "--algo", "grid", "--out", str(tmp_path / "x.txt")]) == 2
    assert ".pt, .npz or .csv" in capsys.readouterr().err


def test_load_model_file_accepts_a_data_function(tmp_path):
    path = tmp_path / "m.py"
    path.write_text(textwrap.dedent("""
        def model(x):
            return x
        def data():
            return {"x": 1}
    """))
    model, data = cli.load_model_file(str(path))
    assert data == {"x": 1} and model(**data) == 1


def test_bundled_example_is_found_and_well_formed():
    assert cli.bundled_example().endswith("eight_schools.py")
    pytest.importorskip("pyro.distributions")  # the model file uses it
    model, data = cli.load_model_file(cli.bundled_example())
    assert data["J"] == 8
    # Rubin (1981): the estimated effects and standard errors of the eight schools
    assert data["y"].tolist() == [28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0]
    assert data["sigma"].tolist() == [15.0, 10.0, 16.0, 11.0, 9.0, 11.0, 10.0, 18.0]
    tr = poutine.trace(model).get_trace(**data)
    assert tr.stochastic_nodes == ["mu", "tau", "theta_tilde"]
    assert tr.nodes["theta_tilde"]["value"].shape == (8,)
    assert math.isfinite(tr.log_prob_sum().item())


def test_summary_rows_handle_scalar_and_vector_sites():
    rows = cli.summary_rows({"a": torch.tensor([1.0, 2.0, 3.0]), "b": torch.zeros(3, 2, 2)})
    assert [r["site"] for r in rows] == ["a", "b[0,0]", "b[0,1]", "b[1,0]", "b[1,1]"]
    assert rows[0]["mean"] == 2.0 and rows[0]["std"] == 1.0


def test_plugins_command_lists_core(capsys):
    assert cli.main(["plugins"]) == 0
    assert f"core  [pyro-core {importlib.metadata.version('pyro-core')}]" in capsys.readouterr().out
    pyro.clear_param_store()


def test_plot_writes_an_image_with_ordinary_permissions(runners, model_file, tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "marginals.png"
    assert cli.main(["fit", model_file, "--algo", "grid", "--plot", str(out), "--no-progress"]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    umask = os.umask(0o022)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
