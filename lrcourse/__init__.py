"""lrcourse: the helper library of *Learning Rates and the Craft of Training Neural Networks*.

>>> import lrcourse
>>> lrcourse.profile() in lrcourse.PROFILES
True
"""

from __future__ import annotations

from . import (
    check,
    data,
    ensembles,
    finetune,
    landscape,
    learned,
    lr_finder,
    models,
    optim,
    plots,
    profiles,
    scaling,
    schedules,
    sequences,
    sharpness,
    toys,
    train,
)
from .data import Data, load
from .lr_finder import RangeTestResult, Suggestion, range_test
from .profiles import PROFILES, choose, device, profile, seed_everything
from .train import History, evaluate, fit

__version__ = "0.1.0"
__all__ = [
    "Data",
    "History",
    "PROFILES",
    "RangeTestResult",
    "Suggestion",
    "check",
    "choose",
    "data",
    "device",
    "ensembles",
    "evaluate",
    "finetune",
    "fit",
    "landscape",
    "learned",
    "load",
    "lr_finder",
    "models",
    "optim",
    "plots",
    "profile",
    "profiles",
    "range_test",
    "scaling",
    "schedules",
    "sequences",
    "sharpness",
    "seed_everything",
    "toys",
    "train",
]

