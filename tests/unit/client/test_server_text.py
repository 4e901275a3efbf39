"""The one renderer of server text: nothing a server sends can start a line, hide or reorder text."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_scorecards.client.errors import ServerText, render_id, render_server_text

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


def test_the_secrets_are_scrubbed_before_the_text_is_rendered() -> None:
    assert ServerText(["s3cr3t!"]).clean("key=s3cr3t!\nS3CR3T!", 100) == "key=***\\n***"
    assert ServerText().clean("y" * 50, 10) == "y" * 10 + CUT


def test_a_value_that_is_not_text_is_rendered_too() -> None:
    assert render_server_text(["a\tb", 1], 100) == "['a\\tb', 1]"
