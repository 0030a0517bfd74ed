"""``poutine.uncondition``: sample observed sites as if they were latent."""
from __future__ import annotations

from .messenger import Messenger


class UnconditionMessenger(Messenger):
    """Make observed sample sites latent again: they are sampled from their
    distribution; the data are kept in ``infer["obs"]`` and ``infer["was_observed"]``
    is set. Useful for prior/posterior predictive checks.
    """

    def _pyro_sample(self, msg) -> None:
        if msg["is_observed"]:
            msg["is_observed"] = False
            msg["infer"] = {**msg["infer"], "was_observed": True, "obs": msg["value"]}
            msg["value"] = None
            msg["done"] = False
