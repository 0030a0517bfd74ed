"""Flow networks keep Pyro 1.9's state-dict layout, so checkpoints move between the two."""
import torch

import pyro.distributions.transforms as T
from pyro.nn import AutoRegressiveNN, ConditionalAutoRegressiveNN


def test_autoregressive_nn_state_dict_keys():
    net = AutoRegressiveNN(3, [8, 8], param_dims=[1, 1])
    assert set(net.state_dict()) == {
        "permutation", "layers.0.weight", "layers.0.bias", "layers.0.mask",
        "layers.1.weight", "layers.1.bias", "layers.1.mask",
        "layers.2.weight", "layers.2.bias", "layers.2.mask"}
    cnet = ConditionalAutoRegressiveNN(3, 2, [8], param_dims=[1, 1])
    assert not any("mask_encoding" in k for k in cnet.state_dict())
    # the hidden degrees are still there
    assert cnet.get_mask_encoding().shape == (8,)


def test_flow_round_trip_through_state_dict():
    flow = T.neural_autoregressive(3)
    copy = T.neural_autoregressive(3)
    copy.load_state_dict(flow.state_dict())  # strict
    x = torch.randn(4, 3)
    assert torch.allclose(copy(x), flow(x))
    assert set(flow.state_dict()) == {"arn." + k for k in flow.arn.state_dict()}


def test_spline_autoregressive_loads_pyro_layout():
    flow = T.spline_autoregressive(2)
    state = flow.state_dict()
    # Pyro 1.9 saves the network a second time under "spline.nn."
    pyro_state = dict(state, **{"spline.nn." + k[len("arn."):]: v
                                for k, v in state.items() if k.startswith("arn.")})
    copy = T.spline_autoregressive(2)
    copy.load_state_dict(pyro_state)  # strict
    x = torch.randn(3, 2)
    assert torch.allclose(copy(x), flow(x))
