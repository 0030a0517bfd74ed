"""Effect handlers (poutines): composable program transformations for inference.

``pyro.poutine.NAME`` also finds the handlers that plugins register
(``pyro_register_handlers``).
"""
from pyro.plugins import namespace_getattr

from . import util
from .block_messenger import BlockMessenger
from .broadcast_messenger import BroadcastMessenger
from .condition_messenger import ConditionMessenger
from .do_messenger import DoMessenger
from .enum_messenger import EnumMessenger
from .equalize_messenger import EqualizeMessenger
from .escape_messenger import EscapeMessenger
from .guide import GuideMessenger
from .handlers import (
    block,
    broadcast,
    condition,
    do,
    enum,
    equalize,
    escape,
    infer_config,
    lift,
    markov,
    mask,
    queue,
    reparam,
    replay,
    scale,
    seed,
    substitute,
    trace,
    uncondition,
)
from .indep_messenger import CondIndepStackFrame, IndepMessenger
from .infer_config_messenger import InferConfigMessenger
from .lift_messenger import LiftMessenger
from .markov_messenger import MarkovMessenger
from .mask_messenger import MaskMessenger
from .messenger import Messenger, unwrap
from .plate_messenger import PlateMessenger, block_plate
from .reentrant_messenger import ReentrantMessenger
from .reparam_messenger import ReparamMessenger
from .replay_messenger import ReplayMessenger
from .runtime import NonlocalExit, apply_stack, effectful, get_mask
from .scale_messenger import ScaleMessenger
from .seed_messenger import SeedMessenger
from .subsample_messenger import SubsampleMessenger
from .substitute_messenger import SubstituteMessenger
from .trace_messenger import TraceMessenger
from .trace_struct import Trace
from .uncondition_messenger import UnconditionMessenger
from .util import enable_validation, is_validation_enabled

__all__ = [
    "BlockMessenger",
    "BroadcastMessenger",
    "CondIndepStackFrame",
    "ConditionMessenger",
    "DoMessenger",
    "EnumMessenger",
    "EqualizeMessenger",
    "EscapeMessenger",
    "GuideMessenger",
    "IndepMessenger",
    "InferConfigMessenger",
    "LiftMessenger",
    "MarkovMessenger",
    "MaskMessenger",
    "Messenger",
    "NonlocalExit",
    "PlateMessenger",
    "ReentrantMessenger",
    "ReparamMessenger",
    "ReplayMessenger",
    "ScaleMessenger",
    "SeedMessenger",
    "SubsampleMessenger",
    "SubstituteMessenger",
    "Trace",
    "TraceMessenger",
    "UnconditionMessenger",
    "apply_stack",
    "block",
    "block_plate",
    "broadcast",
    "condition",
    "do",
    "effectful",
    "enable_validation",
    "enum",
    "equalize",
    "escape",
    "get_mask",
    "infer_config",
    "is_validation_enabled",
    "lift",
    "markov",
    "mask",
    "queue",
    "reparam",
    "replay",
    "scale",
    "seed",
    "substitute",
    "trace",
    "uncondition",
    "unwrap",
    "util",
]

__getattr__ = namespace_getattr(__name__, "handlers")
