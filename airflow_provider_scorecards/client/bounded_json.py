"""JSON read from outside (a server's body, a file, a template's text), its nesting bounded before parsing."""

from __future__ import annotations

import json
import re
from typing import Any

MAX_JSON_DEPTH = 64
"""Deepest nesting read (a scores page is four levels deep): far from Python's recursion limit, where the
parser would run whatever finalizer a garbage collection calls with no stack left."""

_STRING = re.compile(rb'"[^"\\]*+(?:\\.[^"\\]*+)*+"', re.DOTALL)
_NOT_BRACKET = re.compile(rb"[^\[\]{}]++")


def load_json(text: str | bytes, **options: Any) -> Any:
    """``json.loads(text, **options)``, refusing JSON nested deeper than :data:`MAX_JSON_DEPTH` unparsed.

    Too deep raises ``RecursionError``, as ``json.loads`` does at Python's limit: one handler serves both.
    """
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    depth = 0
    for bracket in _NOT_BRACKET.sub(b"", _STRING.sub(b"", data)):
        depth += 1 if bracket in b"[{" else -1
        if depth > MAX_JSON_DEPTH:
            raise RecursionError(f"JSON nested more than {MAX_JSON_DEPTH} levels deep")
    return json.loads(text, **options)
