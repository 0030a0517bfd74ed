"""PyroModuleList: a ModuleList whose PyroModule elements are named by index and share the
root module's sample sites and parameters."""
import pickle

import torch
from torch import nn

import pyro
import pyro.distributions as dist
import pyro.poutine as poutine
from pyro.nn import PyroModule, PyroModuleList, PyroSample


class Stack(PyroModule):
    def __init__(self):
        super().__init__()
        self.layers = PyroModuleList([PyroModule[nn.Linear](2, 2) for _ in range(3)])
        self.layers[1].weight = PyroSample(dist.Normal(0.0, 1.0).expand([2, 2]).to_event(2))

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


def test_is_module_list_and_pyro_module():
    m = PyroModuleList([nn.Linear(2, 2), nn.ReLU()])
    assert isinstance(m, nn.ModuleList) and isinstance(m, PyroModule)
    assert PyroModule[nn.ModuleList] is PyroModuleList
    assert len(m) == 2 and isinstance(m[1], nn.ReLU)
    assert len(PyroModuleList()) == 0


def test_elements_are_named_by_index():
    stack = Stack()
    assert stack.layers[0]._pyro_name == "layers.0"
    assert stack.layers[2]._pyro_name == "layers.2"
    tr = poutine.trace(stack).get_trace(torch.randn(4, 2))
    sites = {name for name, site in tr.nodes.items() if site["type"] in ("sample", "param")}
    assert "layers.1.weight" in sites
    assert {"layers.0.weight", "layers.0.bias", "layers.2.bias"} <= sites
    assert tr.nodes["layers.1.weight"]["type"] == "sample"
    assert "layers.0.weight" in pyro.get_param_store()


def test_slice_does_not_rename():
    stack = Stack()
    part = stack.layers[1:]
    assert type(part) is nn.ModuleList and len(part) == 2
    assert stack.layers[1]._pyro_name == "layers.1"
    assert part[0] is stack.layers[1]


def test_append_names_new_elements_and_pickles():
    stack = Stack()
    stack.layers.append(PyroModule[nn.Linear](2, 2))
    assert stack.layers[3]._pyro_name == "layers.3"
    copy = pickle.loads(pickle.dumps(stack))
    assert type(copy.layers) is PyroModuleList
    x = torch.randn(3, 2)
    with pyro.poutine.trace() as tr:
        copy(x)
    assert "layers.3.weight" in tr.trace.nodes
