"""Coercion of loose argument values (what Jinja renders, what people type) into validated Python values.

Task arguments often arrive as strings (``"true"``, ``"1,2"``, ``"['a', 'b']"``, ``"None"``). Each helper
accepts the forms people actually produce and rejects anything else with an
:class:`~airflow_provider_scorecards.client.errors.InvalidParameterError` that names the parameter, the
value and what is allowed, before any request is sent.
"""

from __future__ import annotations

import ast
import json
import math
from collections.abc import Callable
from typing import Any

from airflow_provider_scorecards.client.bounded_json import load_json
from airflow_provider_scorecards.client.errors import InvalidParameterError

MAX_LIST_ITEMS = 500
"""Longest list filter accepted: beyond this the URL outgrows what proxies and servers take."""
MAX_LIST_TEXT_CHARS = 64 * 1024
"""Longest text of a list argument (a rendered template, a manual run's ``conf``), checked before it is
parsed: 500 ids fit many times over, and parsing a Python literal costs hundreds of times its size."""

_TRUE = frozenset({"true", "1", "yes", "y", "on"})
_FALSE = frozenset({"false", "0", "no", "n", "off"})


def is_unset(value: Any) -> bool:
    """``None``, or what Jinja makes of it in a string template (``"None"``), or an empty string."""
    return value is None or (isinstance(value, str) and value.strip().lower() in ("", "none", "null"))


def coerce_bool(name: str, value: Any) -> bool | None:
    """``None``/``""`` → no filter; booleans, 0/1 and the usual words (``"true"``, ``"no"``) → bool."""
    if is_unset(value):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise InvalidParameterError(name, value, "expected true or false (or leave unset for no filter)")


def coerce_int(name: str, value: Any, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """Read an int from an int or a numeric string (as Jinja renders it), within ``[minimum, maximum]``."""
    number = _number(value, int)
    whole = number if not isinstance(number, float) else int(number) if number.is_integer() else None
    return int(_in_range(name, value, whole, minimum, maximum, "an integer"))


def coerce_float(
    name: str, value: Any, *, minimum: float | None = None, maximum: float | None = None
) -> float:
    """Read a finite float from a number or numeric string, within ``[minimum, maximum]``.

    NaN and the infinities are refused: no comparison with NaN is true, so a NaN bound has no meaning a
    gate could honour.
    """
    number = _number(value, float)
    try:
        finite = None if number is None or not math.isfinite(number) else float(number)
    except OverflowError:  # an int beyond any float
        finite = None
    return float(_in_range(name, value, finite, minimum, maximum, "a number"))


def _number(value: Any, parse: Callable[[str], float]) -> float | None:
    """Return a number as given (not a bool), or parsed from a string by ``parse``; None for anything else."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    try:
        return parse(value.strip()) if isinstance(value, str) else None
    except ValueError:
        return None


def _in_range(
    name: str, value: Any, number: float | None, minimum: float | None, maximum: float | None, kind: str
) -> float:
    """Return ``number`` when it is one within ``[minimum, maximum]``; else name ``value`` and the range."""
    if (
        number is None
        or (minimum is not None and number < minimum)
        or (maximum is not None and number > maximum)
    ):
        raise InvalidParameterError(name, value, f"expected {_range_text(minimum, maximum, kind)}")
    return number


def coerce_optional_float(
    name: str, value: Any, *, minimum: float | None = None, maximum: float | None = None
) -> float | None:
    """Read an optional float: ``None`` or ``"None"`` is None, else as :func:`coerce_float` (blank fails)."""
    return None if is_none(value) else coerce_float(name, value, minimum=minimum, maximum=maximum)


def coerce_optional_str(name: str, value: Any) -> str | None:
    """Read optional text: a string or an int (an id typed as a number), trimmed; unset or blank is None."""
    if is_unset(value):
        return None
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise InvalidParameterError(name, value, "expected a string")
    return str(value).strip()  # not blank: a blank string is unset


def coerce_choice(name: str, value: Any, choices: tuple[str, ...], *, hint: str | None = None) -> str:
    """One of ``choices`` from a string in any case and with any surrounding blanks, lower-cased.

    ``hint`` replaces the default "expected 'a' or 'b'" when the allowed values need an explanation.
    """
    text = value.strip().lower() if isinstance(value, str) else None
    if text in choices:
        return text
    allowed = " or ".join(", ".join(repr(c) for c in choices).rsplit(", ", 1))
    raise InvalidParameterError(name, value, hint or f"expected {allowed}")


def is_none(value: Any) -> bool:
    """``None``, or what Jinja renders of it in a string template (``"None"``, or ``"null"`` from JSON)."""
    return value is None or (isinstance(value, str) and value.strip().lower() in ("none", "null"))


def blank_filter_error(name: str, value: Any) -> InvalidParameterError:
    """Build the error for a filter that was given but holds nothing: it would silently mean every score."""
    return InvalidParameterError(
        name,
        value,
        f"a blank filter would select every score; give at least one value, or omit {name} "
        "(or pass None) to mean all",
    )


def coerce_str_list(name: str, value: Any) -> tuple[str, ...] | None:
    """Read a filter: a tuple of non-empty strings from a list, a comma-separated string or a rendered list.

    Omitted (``None``, or ``"None"`` as Jinja renders it) means "no filter". A value that is given but
    holds nothing (``""``, ``" "``, ``[]``, ``"[]"``, ``[""]``, a template that rendered to ``""``) is an
    :class:`InvalidParameterError`: a filter that widens to everything must be asked for by omitting it,
    never happen because a field was left blank. Blank items next to real ones (``"a,,b"``) are dropped.
    Jinja renders a Python list as ``"['a', 'b']"`` and a JSON dump as ``'["a", "b"]'``; both are read
    back as lists.
    """
    if is_none(value):
        return None
    items: list[Any]
    if isinstance(value, str):
        text = value.strip()
        if len(text) > MAX_LIST_TEXT_CHARS:
            raise InvalidParameterError(
                name,
                f"<text of {len(text)} characters>",
                f"expected at most {MAX_LIST_TEXT_CHARS} characters",
            )
        # A rendered literal (or garbage that looks like one), else a comma-separated string (a blank
        # one holds no item: the check below refuses it).
        items = _parse_list_literal(name, value, text) if text and text[0] in "[({" else text.split(",")
    elif isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else list(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        items = [value]
    else:
        raise InvalidParameterError(name, value, "expected a list or a comma-separated string")
    if len(items) > MAX_LIST_ITEMS:
        raise InvalidParameterError(
            name, f"<list of {len(items)} items>", f"expected at most {MAX_LIST_ITEMS} items"
        )
    result: list[str] = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, str | int):
            raise InvalidParameterError(name, value, "every item must be a string or an integer")
        text_item = str(item).strip()
        if not text_item:
            continue
        if "," in text_item:
            raise InvalidParameterError(name, value, "an item must not contain a comma")
        result.append(text_item)
    if not result:
        raise blank_filter_error(name, value)
    return tuple(result)


def coerce_filter_str(name: str, value: Any) -> str | None:
    """Read a one-string filter (``rule_name``): omitted or ``None``: no filter; given but blank: an error."""
    if is_none(value):
        return None
    if (text := coerce_optional_str(name, value)) is None:
        raise blank_filter_error(name, value)
    return text


def _parse_list_literal(name: str, original: Any, text: str) -> list[Any]:
    try:
        return parse_list_text(text)
    except TypeError:
        raise InvalidParameterError(name, original, "expected a list") from None
    except ValueError:
        raise InvalidParameterError(
            name, original, 'expected a list literal such as ["a", "b"] or a comma-separated string'
        ) from None


def parse_list_text(text: str) -> list[Any]:
    """Read a list from its JSON text or from the Python literal Jinja renders of one (``"['a', 'b']"``).

    Raises the ``json.JSONDecodeError`` of the JSON attempt when neither reading works (callers name the
    position; nesting too deep for either reading is one too), and ``TypeError`` when the text holds
    something other than a list.
    """
    return list(_parse_text(text, list | tuple))


class DuplicateKeyError(ValueError):
    """A key given twice in a mapping's text (JSON and Python literals would silently keep the last)."""


def _parse_text(text: str, kind: Any) -> Any:
    """Read JSON text, else the Python literal Jinja renders; refuse a key given twice when ``kind`` is dict.

    Only texts of at most :data:`MAX_LIST_TEXT_CHARS` are tried as a literal, whose parsing costs hundreds
    of times the text's size.
    """
    stripped = text.strip()
    try:
        parsed = load_json(stripped, object_pairs_hook=_no_duplicates if kind is dict else None)
    except RecursionError:
        raise json.JSONDecodeError("nested too deeply", text[:100], 0) from None
    except json.JSONDecodeError as json_error:
        if len(stripped) > MAX_LIST_TEXT_CHARS:
            raise
        try:
            tree = ast.parse(stripped, mode="eval")
            for node in ast.walk(tree) if kind is dict else ():  # literal_eval keeps the last of two keys
                if isinstance(node, ast.Dict):
                    _no_duplicates([(str(k.value), None) for k in node.keys if isinstance(k, ast.Constant)])
            parsed = ast.literal_eval(tree)
        except DuplicateKeyError:
            raise
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            raise json_error from None
    if not isinstance(parsed, kind):
        raise TypeError(type(parsed).__name__)
    return parsed


def mapping_from_text(
    name: str, value: Any, text: str, *, max_chars: int, forms: str, twice: str
) -> dict[Any, Any]:
    """Read the mapping an argument's text holds (JSON or a Python literal), at most ``max_chars`` long.

    Raises :class:`InvalidParameterError` naming ``name``: for a text too long (before it is parsed), a key
    given twice (``"'<key>' <twice>"``), or a text that is not a mapping (``forms`` says what is allowed).
    """
    if len(text) > max_chars:
        shown = f"<text of {len(text)} characters>"
        raise InvalidParameterError(name, shown, f"expected at most {max_chars} characters")
    try:
        parsed: dict[Any, Any] = _parse_text(text, dict)
    except DuplicateKeyError as duplicate:
        raise InvalidParameterError(name, value, f"{duplicate.args[0]!r} {twice}") from None
    except (ValueError, TypeError):
        raise InvalidParameterError(name, value, f"{forms}, as JSON or a dict") from None
    return parsed


def _no_duplicates(pairs: list[tuple[Any, Any]]) -> dict[Any, Any]:
    result: dict[Any, Any] = {}
    for key, value in pairs:
        if key in result:
            raise DuplicateKeyError(key)
        result[key] = value
    return result


def _range_text(minimum: float | None, maximum: float | None, kind: str) -> str:
    if minimum is not None and maximum is not None:
        return f"{kind} from {minimum} to {maximum}"
    if minimum is not None:
        return f"{kind} of at least {minimum}"
    if maximum is not None:
        return f"{kind} of at most {maximum}"
    return kind
