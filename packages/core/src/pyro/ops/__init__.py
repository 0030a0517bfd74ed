"""Tensor helpers with no dependency above torch and numpy: advanced indexing for
enumerated tensors (:mod:`pyro.ops.indexing`) and MCMC statistics (:mod:`pyro.ops.stats`)."""
