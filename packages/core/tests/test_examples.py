"""Every example model file runs under ``pyro fit`` with few steps and its posterior
means agree with the published reference value in its docstring."""
import json
import math
import os

import pytest
import torch

pytest.importorskip("pyro.infer.autoguide", reason="the examples are fitted with pyro-infer")
pytest.importorskip("pyro.optim", reason="SVI needs pyro-optim")

import pyro  # noqa: E402
from pyro import cli  # noqa: E402

EXAMPLES = os.path.join(os.path.dirname(pyro.__file__), "examples")


def fit_json(capsys, name, *options):
    path = os.path.join(EXAMPLES, name)
    assert cli.main(["fit", path, "--json", "--no-progress", *options]) == 0
    out = json.loads(capsys.readouterr().out)
    return {row["site"]: row for row in out["summary"]}, out["info"]


def reference(name):
    return cli.load_model_namespace(os.path.join(EXAMPLES, name))["REFERENCE"]


def test_every_example_is_a_model_file_with_a_reference():
    names = sorted(f for f in os.listdir(EXAMPLES) if f.endswith(".py") and f != "__init__.py")
    assert {"baseball.py", "coin.py", "eight_schools.py", "linear_regression.py", "rsa.py",
            "scale.py", "vae_digits.py"} <= set(names)
    for name in names:
        ns = cli.load_model_namespace(os.path.join(EXAMPLES, name))
        assert callable(ns["model"]) and isinstance(ns["data"], dict)
        assert "Reference" in ns["__doc__"], name


def test_eight_schools(capsys):
    rows, _ = fit_json(capsys, "eight_schools.py", "--algo", "nuts", "--num-samples", "300",
                       "--warmup-steps", "300")
    for site, (mean, sd) in reference("eight_schools.py").items():
        # 300 correlated draws: a generous 0.5 sd (about 4 Monte Carlo standard errors)
        assert abs(rows[site]["mean"] - mean) < 0.5 * sd, (site, rows[site]["mean"])


def test_coin_matches_the_exact_beta_posterior(capsys):
    rows, info = fit_json(capsys, "coin.py", "--num-steps", "1500", "--lr", "0.01",
                          "--num-particles", "4", "--num-samples", "4000")
    mean, sd = reference("coin.py")["latent_fairness"]
    assert abs(rows["latent_fairness"]["mean"] - mean) < 0.025
    assert abs(rows["latent_fairness"]["std"] - sd) < 0.02
    assert info["guide"] == "guide"  # the file's own Beta guide


def test_scale_matches_the_conjugate_posterior(capsys):
    rows, _ = fit_json(capsys, "scale.py", "--num-steps", "1500", "--lr", "0.01",
                       "--num-samples", "4000")
    mean, sd = reference("scale.py")["weight"]
    assert mean == pytest.approx(9.14, abs=0.005) and sd == pytest.approx(0.6)
    assert abs(rows["weight"]["mean"] - mean) < 0.06
    assert abs(rows["weight"]["std"] - sd) < 0.06


def test_baseball_partial_pooling(capsys):
    rows, _ = fit_json(capsys, "baseball.py", "--algo", "nuts", "--num-samples", "200",
                       "--warmup-steps", "200")
    ref = reference("baseball.py")
    assert abs(rows["phi"]["mean"] - ref["phi"]) < 0.03
    data = cli.load_model_namespace(os.path.join(EXAMPLES, "baseball.py"))["data"]
    raw = (data["hits"] / data["at_bats"]).tolist()
    theta = [rows[f"theta[{i}]"]["mean"] for i in range(len(raw))]
    # each average is pulled toward the pooled one, and the order is kept
    for r, t in zip(raw, theta):
        assert min(r, ref["phi"]) - 0.02 < t < max(r, ref["phi"]) + 0.02
    assert theta[0] > theta[8] > theta[-1]
    assert abs(theta[0] - ref["phi"]) < 0.6 * abs(raw[0] - ref["phi"])


def test_linear_regression_recovers_least_squares(capsys):
    rows, _ = fit_json(capsys, "linear_regression.py", "--num-steps", "1000", "--lr", "0.05",
                       "--num-samples", "1000")
    ns = cli.load_model_namespace(os.path.join(EXAMPLES, "linear_regression.py"))
    ref, data = ns["REFERENCE"], ns["data"]
    # the exact posterior sd under a flat prior, on scikit-learn's scale (independent check)
    n = data["X"].shape[0]
    X = torch.cat([torch.ones(n, 1), data["X"]], 1).double()
    y = data["y"].double()
    beta, *_ = torch.linalg.lstsq(X, y[:, None])
    resid = y - (X @ beta).squeeze(-1)
    cov = resid.pow(2).sum() / (n - X.shape[1]) * torch.linalg.inv(X.T @ X)
    sd = cov.diagonal().sqrt()[1:] * n**0.5 * data["y_sd"]
    assert abs(rows["bias"]["mean"] - ref["bias"]) < 4.0
    for j, (w, s) in enumerate(zip(ref["weight"], sd.tolist())):
        assert abs(rows[f"weight[{j}]"]["mean"] - w) < 1.5 * s, (j, rows[f"weight[{j}]"], w, s)
    assert abs(rows["sigma"]["mean"] - 54.0) < 3.0


def test_rsa_by_search(capsys):
    rows, info = fit_json(capsys, "rsa.py", "--algo", "search", "--num-samples", "4000")
    ref = reference("rsa.py")
    assert info["exact_means"]["state"] == pytest.approx(ref["state"], abs=1e-6)
    probs = torch.tensor(ref["state_probs"])
    values = torch.arange(4.0)
    sd = math.sqrt(float((probs * values**2).sum()) - ref["state"] ** 2)
    assert abs(rows["state"]["mean"] - ref["state"]) < 4 * sd / math.sqrt(4000)
    assert info["num_traces"] == 4


def test_vae_digits_beats_the_independent_pixel_baseline():
    from pyro.infer import fit

    ns = cli.load_model_namespace(os.path.join(EXAMPLES, "vae_digits.py"))
    x = ns["data"]["x"]
    assert x.shape == (1797, 64) and x.min() == 0 and x.max() == 16
    assert ns["baseline_nll"](x) == pytest.approx(ns["REFERENCE"]["baseline_nll"], abs=0.01)
    subset = x[:300]  # a few steps on part of the data keep CI fast
    result = fit(ns["model"], {"x": subset}, algo="svi", guide=ns["guide"], lr=0.03,
                 num_steps=80, num_samples=5, progress_bar=False)
    assert result.samples["z"].shape == (5, 300, 2)
    # -ELBO >= -log p(x): below the baseline's exact NLL, the VAE models x better
    assert result.info["mean_final_loss"] / 300 < ns["baseline_nll"](subset) - 20
