"""JSON read from outside: parsed as ``json.loads`` does, its nesting bounded before any parsing."""

from __future__ import annotations

import contextlib
import gc
import json
import sys
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_scorecards.client.bounded_json import MAX_JSON_DEPTH, load_json
from airflow_provider_scorecards.client.errors import ScorecardsResponseError, ServerText
from airflow_provider_scorecards.client.http_errors import status_error
from airflow_provider_scorecards.client.rules import decode_rule

_text = st.text(alphabet=st.sampled_from('[]{}"\\:,ab é\n\U0001f600'), max_size=8)
_leaves = st.none() | st.booleans() | st.integers() | _text
_values = st.recursive(
    _leaves, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3)
)


def depth(value: Any) -> int:
    """The small model: how deep JSON nests a value."""
    if isinstance(value, list):
        return 1 + max(map(depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    return 0


@settings(max_examples=300, deadline=None)
@given(
    value=_values,
    wrappers=st.integers(0, MAX_JSON_DEPTH + 8).flatmap(
        lambda n: st.lists(st.sampled_from(["list", "object"]), min_size=n, max_size=n)
    ),
    ascii_only=st.booleans(),
    as_bytes=st.booleans(),
)
def test_json_is_read_as_json_loads_reads_it_unless_it_nests_too_deep(
    value: Any, wrappers: list[str], ascii_only: bool, as_bytes: bool
) -> None:
    for wrapper in wrappers:
        value = [value] if wrapper == "list" else {"[{": value}
    text = json.dumps(value, ensure_ascii=ascii_only)
    if depth(value) > MAX_JSON_DEPTH:
        with pytest.raises(RecursionError, match=f"nested more than {MAX_JSON_DEPTH} levels deep"):
            load_json(text.encode() if as_bytes else text)
    else:
        assert load_json(text.encode() if as_bytes else text) == value


class _Garbage:
    """A cycle whose finalizer needs a little stack."""

    def __init__(self) -> None:
        self.itself = self

    def __del__(self) -> None:
        _calls(20)


def _calls(n: int) -> int:
    return 0 if n == 0 else _calls(n - 1)


@pytest.mark.parametrize(
    "read",
    [
        load_json,
        decode_rule,  # the refused body is read again to name its problem
        lambda body: status_error(403, "Forbidden", {}, body, "/rules", ServerText()),
    ],
    ids=["load_json", "a refused body", "an error body"],
)
def test_no_finalizer_runs_at_the_recursion_limit_while_a_deep_body_is_read(
    read: Callable[[bytes], object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``json.loads`` makes one list per level of ``[[[[``: a garbage collection during it would run
    finalizers as deep as the parser is, with no stack left. Collections are made due at every depth in turn.
    """
    failures: list[str] = []
    monkeypatch.setattr(sys, "unraisablehook", lambda unraisable: failures.append(repr(unraisable.exc_value)))
    thresholds = gc.get_threshold()
    try:
        for threshold in range(50, 1000, 10):
            gc.collect(0)  # the young generation: a collection falls due after `threshold` allocations
            _Garbage()
            gc.set_threshold(threshold, *thresholds[1:])
            with contextlib.suppress(RecursionError, ScorecardsResponseError):
                read(b"[" * 200_000)
    finally:
        gc.set_threshold(*thresholds)
    assert failures == []
