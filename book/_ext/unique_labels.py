"""Sphinx extension: bibliography labels that are unique across the whole ``references.bib``.

Each chapter ends with its own ``{bibliography}`` and the back matter lists every entry.
pybtex's alpha labels (``HS97``) are made unique only within one list, so two papers with the
same authors and year (Hochreiter and Schmidhuber wrote two in 1997) would get the same label
in different chapters, which Sphinx reports as a duplicate. This style labels every entry the
same way everywhere, adding ``a``, ``b``, ... (in key order) where the file itself has a clash.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from pybtex.database import parse_file
from pybtex.plugin import register_plugin
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels.alpha import LabelStyle as AlphaLabelStyle

_LABELS: dict[str, str] = {}


def unique_alpha_labels(bibfiles: list[Path]) -> dict[str, str]:
    """Alpha label of every entry in ``bibfiles``, with a letter suffix where two would clash."""
    alpha = AlphaLabelStyle()
    by_label: dict[str, list[str]] = defaultdict(list)
    for path in bibfiles:
        for key, entry in parse_file(str(path)).entries.items():
            by_label[alpha.format_label(entry)].append(key)
    labels = {}
    for label, keys in by_label.items():
        for i, key in enumerate(sorted(keys)):
            labels[key] = label if len(keys) == 1 else label + "abcdefghijklmnopqrstuvwxyz"[i]
    return labels


class UniqueAlphaLabelStyle(AlphaLabelStyle):
    def format_labels(self, sorted_entries: Any) -> Any:
        for entry in sorted_entries:
            yield _LABELS.get(entry.key) or self.format_label(entry)


class UniqueAlphaStyle(UnsrtStyle):
    default_label_style = UniqueAlphaLabelStyle


def _load(app: Any, config: Any) -> None:
    root = Path(app.confdir)
    _LABELS.update(unique_alpha_labels([root / f for f in config.bibtex_bibfiles]))


def setup(app: Any) -> dict:
    register_plugin("pybtex.style.formatting", "unique_alpha", UniqueAlphaStyle)
    app.connect("config-inited", _load)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
