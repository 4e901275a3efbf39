"""Query-parameter parsing shared by the simulator's endpoints.

Both endpoints answer a bad integer the same way (a 400 naming the parameter, the value and the range),
each with its own error type, so the check lives once here.
"""

from __future__ import annotations


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
