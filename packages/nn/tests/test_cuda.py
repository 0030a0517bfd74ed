"""The networks, flows and PyroModules run where their tensors are (skipped without CUDA)."""
import pytest
import torch
import torch.distributions as tdist

import pyro
import pyro.poutine as poutine
from pyro.nn import AutoRegressiveNN, PyroModule, PyroParam, PyroSample, iaf

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


@cuda
def test_arn_and_iaf_on_cuda():
    flow = iaf(3, [10]).cuda()
    x = torch.randn(5, 3, device="cuda")
    y = flow(x)
    assert y.device.type == "cuda"
    assert flow.log_abs_det_jacobian(x, y).device.type == "cuda"
    assert flow.inv(y) is x
    arn = AutoRegressiveNN(4, [8], param_dims=[2]).cuda()
    assert arn(torch.randn(4, device="cuda")).shape == (2, 4)
    base = tdist.Independent(tdist.Normal(torch.zeros(3, device="cuda"), 1.0), 1)
    d = tdist.TransformedDistribution(base, [flow])
    z = d.rsample((7,))
    assert d.log_prob(z).shape == (7,)


@cuda
def test_pyro_module_on_cuda_shares_params_with_the_store():
    class M(PyroModule):
        def __init__(self):
            super().__init__()
            self.linear = PyroModule[torch.nn.Linear](2, 1)
            self.scale = PyroParam(torch.ones(1), constraint=tdist.constraints.positive)
            self.w = PyroSample(lambda self: tdist.Normal(torch.zeros(1, device="cuda"), 1.0))

        def forward(self, x):
            return self.linear(x) * self.scale + self.w

    m = M().cuda()
    tr = poutine.trace(m).get_trace(torch.randn(3, 2, device="cuda"))
    assert tr.nodes["_RETURN"]["value"].device.type == "cuda"
    named = dict(pyro.get_param_store().named_parameters())
    assert named["scale"] is m.scale_unconstrained
    assert named["linear.weight"].device.type == "cuda"
