"""AutoStructured's "mvn" conditional as Pyro's: ``scale_trils`` is a softplus lower
Cholesky factor (a free positive diagonal, Pyro's ``scale_tril_constraint``), the noise is
``diag(scale) @ scale_tril @ e``, and the guide's density is that Gaussian's. Param stores
saved by Pyro keep their meaning here, and a seed trains to Pyro's values."""
import torch

import pyro
import pyro.distributions as dist
from pyro import poutine
from pyro.distributions import constraints
from pyro.infer.autoguide import AutoStructured

LOC = torch.tensor([0.1, -0.2, 0.3])
SCALE = torch.tensor([2.0, 3.0, 5.0])
TRIL = torch.tensor([[1.5, 0.0, 0.0], [0.7, 0.8, 0.0], [-0.4, 0.3, 1.2]])


def model():
    pyro.sample("theta", dist.Normal(torch.zeros(3), 1.0).to_event(1))


def fitted_guide():
    pyro.clear_param_store()
    guide = AutoStructured(model, conditionals={"theta": "mvn"}, dependencies={})
    guide()
    store = pyro.get_param_store()
    store["AutoStructured.locs.theta"] = LOC
    store["AutoStructured.scales.theta"] = SCALE
    store["AutoStructured.scale_trils.theta"] = TRIL
    return guide


def test_scale_tril_is_softplus_lower_cholesky():
    assert AutoStructured.scale_tril_constraint is constraints.softplus_lower_cholesky
    fitted_guide()
    # a positive, non-unit diagonal is kept (a unit Cholesky factor would reset it to 1)
    torch.testing.assert_close(pyro.param("AutoStructured.scale_trils.theta").detach(), TRIL)


def test_mvn_noise_and_density():
    pyro.set_rng_seed(0)
    guide = fitted_guide()
    columns = []
    for i in range(3):
        e = torch.zeros(3)
        e[i] = 1.0
        columns.append(poutine.condition(guide, {"theta_aux": e})()["theta"].detach() - LOC)
    torch.testing.assert_close(torch.stack(columns, -1), torch.diag(SCALE) @ TRIL)
    # aux site + Delta with its log-Jacobian = the density of MVN(loc, diag(s) L)
    trace = poutine.trace(guide).get_trace()
    trace.compute_log_prob()
    total = sum(site["log_prob_sum"] for site in trace.nodes.values() if site["type"] == "sample")
    expected = dist.MultivariateNormal(LOC, scale_tril=torch.diag(SCALE) @ TRIL).log_prob(
        trace.nodes["theta"]["value"])
    torch.testing.assert_close(total.detach(), expected.detach())
