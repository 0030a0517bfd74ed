"""The rational speech act (RSA): "some" implies "not all".

A listener hears how many of 3 apples are red (``state`` in 0..3, a priori uniform) only
through an utterance, "none", "some" or "all", each true of some states. The literal
listener believes any state where the utterance is true; the speaker picks an utterance
with probability proportional to ``L0(state | utterance) ** alpha``; the pragmatic
listener reasons about that speaker. Each level is an exact marginal distribution computed
by exhaustive :class:`~pyro.infer.Search` (``pyro.infer.Marginal``), nested as sample
sites of the next level. The model is the pragmatic listener hearing "some".

Reference (Goodman & Frank 2016, with ``alpha = 1``): the speaker says "some" of state 3
with probability (1/3) / (1 + 1/3) = 1/4 and of states 1 and 2 with probability 1, so the
pragmatic listener's posterior is ``P(state | "some") = (0, 4/9, 4/9, 1/9)``: "some" is
heard as "not all", posterior mean state 15/9 = 1.67.

Run with ``pyro fit examples/rsa.py --algo search``.

**References:** Goodman, N. D. and Frank, M. C. (2016). "Pragmatic language interpretation
as probabilistic inference." Trends in Cognitive Sciences 20(11), 818-829. Pyro's RSA
examples (pyro.ai/examples/RSA-implicature.html).
"""
import math

import torch

import pyro
import pyro.distributions as dist
from pyro.infer import Marginal

UTTERANCES = ["none", "some", "all"]
NUM_STATES = 4  # 0, 1, 2 or 3 red apples
#: the pragmatic listener's exact posterior over states after "some", and its mean
REFERENCE = {"state_probs": [0.0, 4 / 9, 4 / 9, 1 / 9], "state": 15 / 9}


def meaning(utterance: int, state: int) -> bool:
    word = UTTERANCES[utterance]
    return {"none": state == 0, "some": state > 0, "all": state == NUM_STATES - 1}[word]


def state_prior():
    return pyro.sample("state", dist.Categorical(torch.ones(NUM_STATES)))


def utterance_prior():
    return pyro.sample("utterance", dist.Categorical(torch.ones(len(UTTERANCES))))


@Marginal
def literal_listener(utterance: int):
    state = state_prior()
    log_weight = 0.0 if meaning(utterance, int(state)) else -math.inf
    pyro.factor("literal_meaning", torch.tensor(log_weight))
    return state


@Marginal
def speaker(state: int, alpha: float = 1.0):
    utterance = utterance_prior()
    with pyro.poutine.scale(scale=torch.tensor(alpha)):
        pyro.sample("listener", literal_listener(int(utterance)), obs=torch.tensor(state))
    return utterance


def model(utterance: str = "some", alpha: float = 1.0):
    state = state_prior()
    pyro.sample("speaker", speaker(int(state), alpha),
                obs=torch.tensor(UTTERANCES.index(utterance)))
    return state


data = {"utterance": "some", "alpha": 1.0}
