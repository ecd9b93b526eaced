"""lrcourse: the helper library of *Learning Rates and the Craft of Training Neural Networks*.

>>> import lrcourse
>>> lrcourse.profile() in lrcourse.PROFILES
True
"""

from __future__ import annotations

from . import check, data, models, plots, profiles, toys, train
from .data import Data, load
from .profiles import PROFILES, choose, device, profile, seed_everything
from .train import History, evaluate, fit

__version__ = "0.1.0"
__all__ = [
    "PROFILES",
    "Data",
    "History",
    "check",
    "choose",
    "data",
    "device",
    "evaluate",
    "fit",
    "load",
    "models",
    "plots",
    "profile",
    "profiles",
    "seed_everything",
    "toys",
    "train",
]

plots.style()
