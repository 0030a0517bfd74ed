"""`pyro fit` with pyro-infer's runners: every bad argument is one line before any fitting,
--json / --out / --plot outputs, --loss / --guide, the user's parameter store is kept, and
pyro.infer.fit's result object."""
import json
import textwrap

import numpy as np
import pytest
import torch

pytest.importorskip("pyro.infer.autoguide", reason="pyro fit's runners need pyro-infer")
pytest.importorskip("pyro.optim", reason="SVI needs pyro-optim")

import pyro  # noqa: E402
from pyro import cli  # noqa: E402
from pyro.infer import fit  # noqa: E402

MODEL = """
import torch, pyro
import pyro.distributions as dist

def model(y):
    loc = pyro.sample("loc", dist.Normal(0.0, 1.0))
    with pyro.plate("data", len(y)):
        pyro.sample("obs", dist.Normal(loc, 1.0), obs=y)

def my_guide(y):
    m = pyro.param("m", torch.tensor(0.0))
    pyro.sample("loc", dist.Normal(m, 0.5))

data = {"y": torch.tensor([1.0, 2.0, 3.0])}
"""


@pytest.fixture
def model_file(tmp_path):
    path = tmp_path / "model.py"
    path.write_text(textwrap.dedent(MODEL))
    return str(path)


@pytest.fixture
def no_fitting(monkeypatch):
    """Fail the test if the model file is even loaded (a fit needs it)."""
    def boom(*args, **kwargs):
        raise AssertionError("the model was loaded before the arguments were checked")

    monkeypatch.setattr(cli, "load_model_namespace", boom)


@pytest.mark.parametrize("argv, message", [
    (["--num-steps", "-3"], "--num-steps must be at least 1"),
    (["--num-steps", "abc"], "invalid int value"),
    (["--num-samples", "0"], "--num-samples must be at least 1"),
    (["--warmup-steps", "-1"], "--warmup-steps must be at least 0"),
    (["--num-chains", "0"], "--num-chains must be at least 1"),
    (["--lr", "-0.1"], "--lr must be a positive number"),
    (["--lr", "nan"], "--lr must be a positive number"),
    (["--prob", "1.5"], "--prob must be between 0 and 1"),
    (["--algo", "nope"], "no fitting recipe named 'nope'"),
    (["--loss", "Adam"], "--loss Adam: not an ELBO; use one of"),
    (["--algo", "nuts", "--loss", "Trace_ELBO"], "--loss applies to --algo svi"),
    (["--algo", "nuts", "--guide", "AutoNormal"], "--guide applies to --algo svi"),
    (["--out", "samples.json"], ".pt, .npz or .csv"),
    (["--out", "/no/such/dir/samples.pt"], "does not exist"),
    (["--plot", "trace.gif"], "use a .png, .pdf, .svg or .jpg"),
    (["--bogus"], "unrecognized arguments"),
])
def test_bad_arguments_are_one_line_before_fitting(model_file, no_fitting, capsys, argv,
                                                   message):
    assert cli.main(["fit", model_file, *argv]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pyro: error: "), captured.err
    assert message in lines[0]
    assert captured.out == ""


def test_unknown_guide_is_reported_before_fitting(model_file, capsys):
    assert cli.main(["fit", model_file, "--guide", "AutoNope"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "AutoNope" in err and "AutoNormal" in err


def test_json_out_nc_and_plot(model_file, tmp_path, capsys):
    pytest.importorskip("arviz", reason="netCDF output needs arviz")
    pytest.importorskip("matplotlib", reason="--plot needs matplotlib")
    out, png = tmp_path / "s.nc", tmp_path / "trace.png"
    assert cli.main(["fit", model_file, "--num-steps", "300", "--lr", "0.05",
                     "--num-samples", "400", "--json", "--out", str(out),
                     "--plot", str(png)]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["algo"] == "svi" and report["info"]["loss"] == "Trace_ELBO"
    (row,) = report["summary"]
    # exact posterior: Normal(6 / 4, 1 / 2)
    assert abs(row["mean"] - 1.5) < 0.15 and abs(row["std"] - 0.5) < 0.1
    assert "samples written" in captured.err
    import arviz

    idata = arviz.from_netcdf(str(out))
    assert idata.posterior["loc"].shape == (1, 400)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_loss_and_guide_by_name_and_the_files_guide(model_file, capsys):
    assert cli.main(["fit", model_file, "--num-steps", "5", "--json", "--loss",
                     "TraceMeanField_ELBO", "--guide", "AutoDelta"]) == 0
    info = json.loads(capsys.readouterr().out)["info"]
    assert info["loss"] == "TraceMeanField_ELBO" and info["guide"] == "AutoDelta"
    assert cli.main(["fit", model_file, "--num-steps", "5", "--json", "--guide",
                     "my_guide"]) == 0
    assert json.loads(capsys.readouterr().out)["info"]["guide"] == "my_guide"


def test_fit_keeps_the_users_parameter_store(model_file):
    pyro.clear_param_store()
    mine = pyro.param("mine", torch.tensor(7.0))
    ns = cli.load_model_namespace(model_file)
    result = fit(ns["model"], ns["data"], algo="svi", guide=ns["my_guide"], num_steps=20,
                 num_samples=10, progress_bar=False)
    assert list(pyro.get_param_store().keys()) == ["mine"]
    assert torch.equal(pyro.param("mine"), mine)
    assert "m" in result.param_store.keys()


def test_fit_result_summary_samples_plot_arviz(model_file, tmp_path):
    ns = cli.load_model_namespace(model_file)
    result = fit(ns["model"], ns["data"], algo="importance", num_samples=2000,
                 progress_bar=False)
    assert result["samples"] is result.samples and result.samples["loc"].shape == (2000,)
    table = result.summary()
    assert table.splitlines()[0].split() == ["mean", "std", "5%", "50%", "95%"]
    assert table.splitlines()[1].split()[0] == "loc"
    mean = float(table.splitlines()[1].split()[1])
    assert mean == pytest.approx(float(result.samples["loc"].mean()), abs=0.006)
    pytest.importorskip("matplotlib", reason="plots need matplotlib")
    fig = result.plot(str(tmp_path / "p.pdf"))
    assert len(fig.axes) == 2 and (tmp_path / "p.pdf").read_bytes()[:4] == b"%PDF"
    pytest.importorskip("arviz", reason="to_arviz needs arviz")
    idata = result.to_arviz()
    assert np.allclose(idata.posterior["loc"].values[0], result.samples["loc"].numpy())


def test_search_runner_is_exact_for_discrete_models():
    def model():
        c = pyro.sample("c", pyro.distributions.Bernoulli(0.3))
        pyro.sample("x", pyro.distributions.Normal(2.0 * c, 1.0), obs=torch.tensor(1.5))

    result = fit(model, algo="search", num_samples=20000, seed=0)
    p1 = 0.3 * np.exp(-0.5 * 0.25)
    p0 = 0.7 * np.exp(-0.5 * 2.25)
    exact = p1 / (p0 + p1)
    assert result.info["exact_means"]["c"] == pytest.approx(exact, rel=1e-5)
    se = (exact * (1 - exact) / 20000) ** 0.5
    assert abs(float(result.samples["c"].float().mean()) - exact) < 4 * se
    assert result.info["log_evidence"] == pytest.approx(
        np.log((p0 + p1) / np.sqrt(2 * np.pi)), rel=1e-5)
