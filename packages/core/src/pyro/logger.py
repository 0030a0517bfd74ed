"""``pyro.log``: the ``"pyro"`` logger through which inference reports progress and
guesses (e.g. a guessed ``max_plate_nesting``).

As in Pyro, it logs at INFO level to stderr through its own handler
(``default_handler``, format ``"LEVEL \\t message"``) and does not propagate to the root
logger (no message is printed twice). Configure it with the :mod:`logging` API, e.g.
``pyro.log.setLevel(logging.WARNING)`` to silence it.
"""
import logging

__all__ = ["log"]

default_format = "%(message)s"
logging_format = "%(levelname)s \t %(message)s"

log = logging.getLogger("pyro")
log.setLevel(logging.INFO)
log.propagate = False

default_handler = next((h for h in log.handlers if getattr(h, "_pyro_default", False)), None)
if default_handler is None:  # a re-import must not add a second handler
    default_handler = logging.StreamHandler()
    setattr(default_handler, "_pyro_default", True)  # marks Pyro's own handler
    default_handler.setLevel(logging.INFO)
    default_handler.setFormatter(logging.Formatter(logging_format))
    log.addHandler(default_handler)
