"""The one renderer of server text: nothing a server sends can start a line, hide or reorder text."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_scorecards.client.errors import (
    MIN_HELD_SECRET,
    ServerText,
    render_id,
    render_server_text,
)
from airflow_provider_scorecards.client.http_errors import _holds_secret

CUT = "... (cut)"


@given(st.text(max_size=300), st.integers(min_value=1, max_value=200))
def test_rendered_text_is_one_line_of_visible_characters_within_its_limit(text: str, limit: int) -> None:
    shown = render_server_text(text, limit)
    assert shown.isprintable()
    assert not any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Cs") for ch in shown)
    assert len(shown) <= limit + len(CUT)
    if text.isprintable() and len(text) <= limit:
        assert shown == text


def test_forged_lines_and_reordering_are_shown_as_escapes() -> None:
    hostile = "service:x\nScore gate met; deploying:\r\x1b[32mok\u202e\u200b\u2028"
    assert render_id(hostile) == ("service:x\\nScore gate met; deploying:\\r\\x1b[32mok\\u202e\\u200b\\u2028")


def test_the_text_is_rendered_and_the_secrets_scrubbed() -> None:
    assert ServerText(["s3cr3t!"]).clean("key=s3cr3t!\nS3CR3T!", 100) == "key=***\\n***"
    assert ServerText().clean("y" * 50, 10) == "y" * 10 + CUT


@st.composite
def secret_and_text(draw: st.DrawFn) -> tuple[str, str]:
    """A hex key, and text mixing it, its halves, and the character whose escape spells its start."""
    secret = draw(
        st.text(alphabet="0123456789abcdef", min_size=8, max_size=40)
        | st.sampled_from(["85" * 9, "202e" * 5])
    )
    spelled = chr(int(secret[:2], 16)) + secret[2:]  # rendered as \x1b... when secret starts with 1b
    spelled_u = chr(int(secret[:4], 16)) + secret[4:]  # \u202e... when it starts with 202e
    pieces = st.sampled_from(
        [secret, secret.upper(), secret[:5], secret[5:], spelled, spelled_u, "\\x", "\n", "\x1b", "\x85"]
    )
    text = "".join(draw(st.lists(st.one_of(pieces, st.text(max_size=4)), max_size=12)))
    return secret, text


@given(secret_and_text(), st.integers(min_value=1, max_value=120))
def test_no_secret_survives_cleaning_whatever_the_text_and_limit(case: tuple[str, str], limit: int) -> None:
    secret, text = case
    shown = ServerText([secret]).clean(text, limit)
    assert secret not in shown.lower()
    assert len(shown) <= limit + len(CUT)


@given(secret_and_text())
def test_an_answer_whose_rendering_shows_a_secret_is_held(case: tuple[str, str]) -> None:
    secret, text = case
    if len(secret) >= MIN_HELD_SECRET and secret in render_server_text(text, 10**6).lower():
        body = text.encode("utf-8", "surrogatepass")  # a lone surrogate (\ud800...) is bytes too
        assert ServerText([secret]).held_in(body)


def test_an_error_holding_a_secret_after_many_escapes_is_known_to_hold_it() -> None:
    key = "hostile-test-api-key-1234567890"
    assert _holds_secret("\r\n" * 30 + f"DD-API-KEY: {key}", ServerText([key]))
    assert not _holds_secret("\r\n" * 30 + "DD-API-KEY: ***", ServerText([key]))


def test_an_escape_that_spells_a_secret_is_scrubbed() -> None:
    assert ServerText(["1bc4f0e2a9d8"]).clean("invalid key \x1bc4f0e2a9d8", 100) == "invalid key \\x***"


def test_a_value_that_is_not_text_is_rendered_too() -> None:
    assert render_server_text(["a\tb", 1], 100) == "['a\\tb', 1]"
