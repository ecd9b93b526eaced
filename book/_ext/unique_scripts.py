"""Sphinx extension: emit each script of a page once.

With Jupyter Book 1.0.4 (Sphinx 7.4, sphinx-thebe 0.3, sphinx-togglebutton 0.4) the inline
configuration scripts of thebe and togglebutton are registered twice, so every page declares
``const THEBE_JS_URL`` twice and the browser reports a SyntaxError. This drops exact
duplicates (same file or same inline body, same attributes) before the page is rendered.
"""

from __future__ import annotations

from typing import Any


def _key(script: Any) -> tuple:
    attributes = getattr(script, "attributes", {}) or {}
    # one copy of an inline script has filename None, the other '' (the same script twice)
    return (getattr(script, "filename", str(script)) or "", tuple(sorted((k, str(v)) for k, v in attributes.items())))


def unique_scripts(app: Any, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[tuple] = set()
    kept = []
    for script in scripts:
        key = _key(script)
        if key not in seen:
            seen.add(key)
            kept.append(script)
    scripts[:] = kept


def setup(app: Any) -> dict:
    app.connect("html-page-context", unique_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
