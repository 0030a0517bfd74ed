"""Eight schools: a hierarchical model of coaching effects on SAT scores.

Data: estimated treatment effects ``y`` and their standard errors ``sigma`` of a
coaching program in eight high schools (Rubin 1981), in ``data/eight_schools.csv``.

Non-centered parameterization (better geometry for HMC/NUTS and for VI)::

    mu ~ Normal(0, 5)                      population mean effect
    tau ~ HalfCauchy(5)                    between-school spread
    theta_tilde_j ~ Normal(0, 1)           standardized school effects
    theta_j = mu + tau * theta_tilde_j     school effects (deterministic)
    y_j ~ Normal(theta_j, sigma_j)         observed effects

Reference: the posterior means under these priors, mu = 4.4 (sd 3.3) and tau = 3.6 (sd
3.2) (Gelman et al., BDA3 section 5.5, as fitted by Stan's and NumPyro's eight-schools
examples with this non-centered model).

Run with ``pyro fit examples/eight_schools.py --algo svi`` (or ``--algo nuts``).

**References:** Rubin, D. B. (1981). "Estimation in parallel randomized experiments."
Journal of Educational Statistics 6(4), 377-401. Gelman et al., Bayesian Data Analysis
(3rd ed.), section 5.5.
"""
import csv
import os

import torch

import pyro
import pyro.distributions as dist

#: posterior (mean, sd) of the population mean and spread
REFERENCE = {"mu": (4.4, 3.3), "tau": (3.6, 3.2)}

DATA_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "eight_schools.csv")


def load_data(path: str = DATA_FILE) -> dict:
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return {
        "J": len(rows),
        "sigma": torch.tensor([float(r["sigma"]) for r in rows]),
        "y": torch.tensor([float(r["y"]) for r in rows]),
    }


def model(J, sigma, y=None):
    mu = pyro.sample("mu", dist.Normal(0.0, 5.0))
    tau = pyro.sample("tau", dist.HalfCauchy(5.0))
    with pyro.plate("school", J):
        theta_tilde = pyro.sample("theta_tilde", dist.Normal(0.0, 1.0))
        theta = pyro.deterministic("theta", mu + tau * theta_tilde)
        pyro.sample("obs", dist.Normal(theta, sigma), obs=y)


data = load_data()
