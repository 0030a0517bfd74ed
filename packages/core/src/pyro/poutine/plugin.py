"""pyro-core's own plugin: registers the built-in effect handlers, as a third party would.

Only handlers are registered (the lowercase handler functions and the concrete Messenger
classes behind them), so ``pyro plugins`` lists what a plugin could override or add; base
classes (``Messenger``, ``ReentrantMessenger``, ``GuideMessenger``), the trace data
structure and the runtime functions are ordinary attributes of :mod:`pyro.poutine`.
"""
from __future__ import annotations

from pyro.plugins import Registry, hookimpl

#: The handler functions of :mod:`pyro.poutine.handlers`.
HANDLER_FUNCTIONS = (
    "block", "block_plate", "broadcast", "condition", "do", "enum", "equalize", "escape",
    "infer_config", "lift", "markov", "mask", "queue", "reparam", "replay", "scale", "seed",
    "substitute", "trace", "uncondition",
)

#: The Messenger classes that implement them (and the plate messengers).
MESSENGER_CLASSES = (
    "BlockMessenger", "BroadcastMessenger", "ConditionMessenger", "DoMessenger",
    "EnumMessenger", "EqualizeMessenger", "EscapeMessenger", "IndepMessenger",
    "InferConfigMessenger", "LiftMessenger", "MarkovMessenger", "MaskMessenger",
    "PlateMessenger", "ReparamMessenger", "ReplayMessenger", "ScaleMessenger",
    "SeedMessenger", "SubsampleMessenger", "SubstituteMessenger", "TraceMessenger",
    "UnconditionMessenger",
)


@hookimpl
def pyro_register_handlers(registry: Registry) -> None:
    from pyro import poutine

    for name in HANDLER_FUNCTIONS + MESSENGER_CLASSES:
        registry.add(name, getattr(poutine, name))
