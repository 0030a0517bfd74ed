"""Bayesian linear regression on the diabetes data (Efron et al. 2004).

Data: 442 patients, ten baseline variables (age, sex, body mass index, blood pressure, six
blood serum measurements) and a measure of disease progression one year later
(``data/diabetes.csv``, as shipped by scikit-learn). The model works on standardized
variables (each feature and the response centered and scaled to unit variance), where a
``Normal(0, 10)`` prior is nearly flat and every coefficient is of order one, and reports
the coefficients on scikit-learn's scale (``load_diabetes`` centers each feature and scales
it to unit Euclidean norm) as deterministic sites::

    bias_std ~ Normal(0, 10),  weight_std_j ~ Normal(0, 10),  sigma_std ~ HalfNormal(1)
    y_std_i ~ Normal(bias_std + x_std_i . weight_std, sigma_std)
    weight = sqrt(n) * sd(y) * weight_std,  bias = mean(y) + sd(y) * bias_std,
    sigma = sd(y) * sigma_std

Reference: with a nearly flat prior the posterior means are the least-squares estimates,
published for this scaling (Efron et al. 2004, table 1; scikit-learn's linear regression
example): bias 152.13, weights (age, sex, bmi, bp, s1, ..., s6) = (-10.0, -239.8, 519.8,
324.4, -792.2, 476.7, 101.0, 177.1, 751.3, 67.6), residual standard deviation about 54.
(s1 and s2 are strongly correlated, so their posterior standard deviations are large.)

Run with ``pyro fit examples/linear_regression.py --algo nuts`` (or ``--algo svi
--guide AutoMultivariateNormal``).

**References:** Efron, B., Hastie, T., Johnstone, I. and Tibshirani, R. (2004). "Least
angle regression." Annals of Statistics 32(2), 407-499.
"""
import csv
import os

import torch

import pyro
import pyro.distributions as dist

DATA_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "diabetes.csv")
FEATURES = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]

#: the least-squares estimates (Efron et al. 2004)
REFERENCE = {
    "bias": 152.13,
    "weight": [-10.0, -239.8, 519.8, 324.4, -792.2, 476.7, 101.0, 177.1, 751.3, 67.6],
}


def load_data(path: str = DATA_FILE) -> dict:
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    X = torch.tensor([[float(r[k]) for k in FEATURES] for r in rows], dtype=torch.float64)
    y = torch.tensor([float(r["y"]) for r in rows], dtype=torch.float64)
    X = (X - X.mean(0)) / X.std(0, unbiased=False)
    return {"X": X.float(), "y": ((y - y.mean()) / y.std(unbiased=False)).float(),
            "y_mean": y.mean().item(), "y_sd": y.std(unbiased=False).item()}


def model(X, y=None, y_mean=0.0, y_sd=1.0):
    n, p = X.shape
    bias_std = pyro.sample("bias_std", dist.Normal(0.0, 10.0))
    weight_std = pyro.sample("weight_std", dist.Normal(X.new_zeros(p), 10.0).to_event(1))
    sigma_std = pyro.sample("sigma_std", dist.HalfNormal(1.0))
    with pyro.plate("patient", n):
        pyro.sample("obs", dist.Normal(bias_std + X @ weight_std, sigma_std), obs=y)
    # the coefficients on scikit-learn's scale (features of unit norm, raw response)
    pyro.deterministic("bias", y_mean + y_sd * bias_std)
    pyro.deterministic("weight", n**0.5 * y_sd * weight_std)
    pyro.deterministic("sigma", y_sd * sigma_std)


data = load_data()
