"""A leaner Bernoulli, mixed into the generated ``Bernoulli`` wrapper.

Bernoulli likelihoods (``Bernoulli(probs)`` in a plate over the data) run at every SVI
step, and torch's ``log_prob`` from ``probs`` costs eight tensor operations: the logits
(``clamp``, ``log``, ``neg``, ``log1p``, ``sub``), a ``broadcast_tensors`` and the negated
binary cross-entropy. This computes the same density with three:

* the logits of probabilities as ``torch.logit(probs, eps)``: the same clamping to
  ``[eps, 1 - eps]`` (``eps`` the dtype's machine epsilon, as torch's ``clamp_probs``) and
  the same gradient (zero outside the clamp), ``log(p / (1 - p))`` instead of
  ``log(p) - log1p(-p)`` (equal to float rounding: ``1 - p`` is exact for ``p >= 1/2`` and
  both forms carry about one ulp of error);
* no ``broadcast_tensors`` when the logits and the value already have one shape;
* construction from a tensor of probabilities or logits keeps the tensor (no broadcast of
  a single tensor) and checks it with
  :func:`~pyro.distributions.fast_validation.init_distribution` (torch's errors).

Draws, ``entropy``, ``enumerate_support``, the ``logits`` / ``probs`` properties and
``expand`` are torch's: the same values and the same random-number consumption. The class
stays a subclass of ``torch.distributions.Bernoulli`` (KL registrations, ``isinstance``).
"""
from __future__ import annotations

import torch
from torch.distributions import Bernoulli
from torch.distributions.utils import broadcast_all
from torch.nn.functional import binary_cross_entropy_with_logits

from .fast_validation import init_distribution

__all__ = ["FastBernoulli"]


class FastBernoulli(Bernoulli):
    def __init__(self, probs=None, logits=None, validate_args=None):
        if type(probs) is torch.Tensor and logits is None:
            self.probs = probs
            self._param = probs
        elif type(logits) is torch.Tensor and probs is None:
            self.logits = logits
            self._param = logits
        else:  # numbers, both or neither (torch's error), tensor subclasses
            Bernoulli.__init__(self, probs, logits, validate_args)
            return
        init_distribution(self, self._param.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        # torch's Bernoulli.expand without its generic re-initialization: views of the
        # given parameter (and of the logits if already computed), no check (the
        # parameters were checked when this distribution was made)
        batch_shape = torch.Size(batch_shape)
        if batch_shape == self.batch_shape and _instance is None:
            return self
        new = self._get_checked_instance(Bernoulli, _instance)
        state = self.__dict__
        if "probs" in state:
            new.probs = self.probs.expand(batch_shape)
            new._param = new.probs
        if "logits" in state:
            new.logits = self.logits.expand(batch_shape)
            new._param = new.logits
        new._batch_shape = batch_shape
        new._event_shape = self._event_shape
        new._validate_args = self._validate_args
        return new

    def _logits(self) -> torch.Tensor:
        logits = self.__dict__.get("logits")  # given, or already computed by torch
        if logits is not None:
            return logits
        probs = self.probs
        return torch.logit(probs, torch.finfo(probs.dtype).eps)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        logits = self._logits()
        if type(value) is not torch.Tensor or value.shape != logits.shape:
            logits, value = broadcast_all(logits, value)
        return -binary_cross_entropy_with_logits(logits, value, reduction="none")
