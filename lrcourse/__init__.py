"""lrcourse: the helper library of *Learning Rates and the Craft of Training Neural Networks*.

>>> import lrcourse
>>> lrcourse.profile() in lrcourse.PROFILES
True
"""

from __future__ import annotations

from . import check, data, lr_finder, models, plots, profiles, toys, train
from .data import Data, load
from .lr_finder import RangeTestResult, Suggestion, range_test
from .profiles import PROFILES, choose, device, profile, seed_everything
from .train import History, evaluate, fit

__version__ = "0.1.0"
__all__ = [
    "PROFILES",
    "RangeTestResult",
    "Suggestion",
    "Data",
    "History",
    "check",
    "choose",
    "data",
    "device",
    "evaluate",
    "fit",
    "load",
    "lr_finder",
    "models",
    "plots",
    "profile",
    "profiles",
    "range_test",
    "seed_everything",
    "toys",
    "train",
]

plots.style()
