"""Query-parameter parsing shared by the simulator's endpoints.

Both endpoints answer a bad integer the same way (a 400 naming the parameter, the value and the range),
each with its own error type, so the check lives once here.
"""

from __future__ import annotations

from urllib.parse import quote


def int_param(
    params: dict[str, str], name: str, default: int, low: int, high: int | None, error: type[Exception]
) -> int:
    """Read integer parameter ``name`` (``default`` when absent or empty), refusing values out of range.

    :param error: the endpoint's own error type, raised with a message naming the parameter and the range.
    """
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise error(f"invalid {name} {raw!r}: expected an integer") from None
    if value < low or (high is not None and value > high):
        bound = f"from {low} to {high}" if high is not None else f"of at least {low}"
        raise error(f"invalid {name} {value}: expected an integer {bound}")
    return value


def comma_set(raw: str | None) -> frozenset[str] | None:
    """Read a comma-separated list parameter as a set (None when absent or empty; blank parts dropped)."""
    if not raw:
        return None
    return frozenset(part.strip() for part in raw.split(",") if part.strip())


def page_link(path: str, params: dict[str, str]) -> str:
    """Write a ``links`` URL as Datadog does: parameters in sorted order, percent-encoded but for commas."""
    query = "&".join(f"{quote(k, safe='')}={quote(v, safe=',')}" for k, v in sorted(params.items()))
    return f"{path}?{query}"
