"""The size arguments of the dense and autoregressive networks: accepted spellings and
errors that name the network and the argument."""
import numpy as np
import pytest

from pyro.nn import AutoRegressiveNN, ConditionalAutoRegressiveNN, ConditionalDenseNN, DenseNN


def test_sizes_accept_ints_integral_numbers_and_lists():
    net = DenseNN(np.int64(3), 4, param_dims=2)
    assert (net.input_dim, net.hidden_dims, net.param_dims) == (3, [4], [2])
    assert type(net.input_dim) is int and type(net.hidden_dims[0]) is int
    arn = ConditionalAutoRegressiveNN(3, np.int32(2), (5, 6), param_dims=[1, 2])
    assert (arn.context_dim, arn.hidden_dims, arn.param_dims) == (2, [5, 6], [1, 2])
    assert DenseNN(2, []).hidden_dims == []  # a single affine map


@pytest.mark.parametrize("make, words", [
    (lambda: DenseNN(0, [4]), "DenseNN input_dim must be a positive integer; got 0"),
    (lambda: DenseNN(True, [4]), "DenseNN input_dim"),
    (lambda: ConditionalDenseNN(2, -1, [4]), "ConditionalDenseNN context_dim must be an "
                                               "integer >= 0; got -1"),
    (lambda: DenseNN(2, [4, 0]), r"DenseNN hidden_dims entries must be positive integers; "
                                 r"got \[4, 0\]"),
    (lambda: DenseNN(2, [4], param_dims=[]), "DenseNN param_dims must list at least one"),
    (lambda: AutoRegressiveNN(3, []), "AutoRegressiveNN hidden_dims must list at least one"),
    (lambda: AutoRegressiveNN(3, [4.5]), "AutoRegressiveNN hidden_dims entries"),
    (lambda: ConditionalAutoRegressiveNN(3, 1, [4], param_dims=[1, False]),
     "ConditionalAutoRegressiveNN param_dims entries"),
])
def test_bad_sizes_name_the_network_and_argument(make, words):
    with pytest.raises(ValueError, match=words):
        make()
