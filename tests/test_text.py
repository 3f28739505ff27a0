"""Text safe to print: rrm_theory._text.printable and quote."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from rrm_theory._text import printable, quote

UNSAFE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


@pytest.mark.parametrize(
    "text,shown",
    [
        ("\x1b[2J\x1b[H", "\\x1b[2J\\x1b[H"),  # clear the screen, cursor home
        ("\x1b]0;title\x07", "\\x1b]0;title\\x07"),  # set the window title (OSC ... BEL)
        ("a\rb", "a\\rb"),  # carriage return: would overwrite the line
        ("a\nb\tc", "a\\nb\\tc"),
        ("\x00\x08\x7f", "\\x00\\x08\\x7f"),  # NUL, backspace, DEL
        ("\x9b31m", "\\x9b31m"),  # C1 control sequence introducer
        ("\x85", "\\x85"),  # next line (C1)
        ("abc\u202edcba", "abc\\u202edcba"),  # right-to-left override
        ("\u202a\u202b\u202c\u202d", "\\u202a\\u202b\\u202c\\u202d"),  # embeddings, pop
        ("\u2066\u2067\u2068\u2069", "\\u2066\\u2067\\u2068\\u2069"),  # isolates
        ("\u200e\u200f\u061c", "\\u200e\\u200f\\u061c"),  # LRM, RLM, Arabic letter mark
        ("a\u200bb", "a\\u200bb"),  # zero-width space
        ("\ufeffname", "\\ufeffname"),  # byte-order mark
        ("a\u2028b\u2029c", "a\\u2028b\\u2029c"),  # line and paragraph separators
        ("\ud800", "\\ud800"),  # a lone surrogate
        ("\ue000", "\\ue000"),  # private use
        ("\U000e0041", "\\U000e0041"),  # a tag character (invisible)
        ("x\u200dy", "x\\u200dy"),  # a joiner between ASCII letters hides a difference
        ("\u200d\U0001f52c", "\\u200d\U0001f52c"),  # a joiner at the start joins nothing
    ],
)
def test_printable_escapes_what_could_act_on_a_terminal(text, shown):
    assert printable(text) == shown
    assert "\x1b" not in printable(text) and "\n" not in printable(text)


@pytest.mark.parametrize(
    "text",
    [
        "heat", "Größe", "café crème", "熱設計", "Ελληνικά", "עברית", "العربية", "देवनागरी",
        "emoji ☕🚀", "\U0001f469\u200d\U0001f52c",  # woman scientist: a ZWJ sequence
        "\U0001f3f3\ufe0f\u200d\U0001f308",  # rainbow flag: variation selector and ZWJ
        "می\u200cخواهم",  # Persian: a zero-width non-joiner inside a word
        "a b\u00a0c\u3000d",  # spaces of other scripts print as spaces
        "path\\with\\backslashes", "quotes ' and \"", "",
    ],
)  # fmt: skip
def test_printable_keeps_ordinary_text(text):
    assert printable(text) == text


@given(st.text())
@example("\x1b\u202e\u200d")
@example("é\u200dé\u200d")
def test_printable_leaves_nothing_that_acts_on_a_terminal(text):
    out = printable(text)
    for i, ch in enumerate(out):
        if unicodedata.category(ch) in UNSAFE:
            assert ch in "\u200c\u200d", (text, out)
            assert 0 < i < len(out) - 1 and out[i - 1] > "\x7f" and out[i + 1] > "\x7f"
    assert printable(out) == out  # escapes are printable ASCII


@given(st.text().filter(lambda s: not any(c in "\u200c\u200d" or unicodedata.category(c) == "Zs" for c in s)))
@example("it's \"quoted\"")
@example("back\\slash\x1b")
def test_quote_is_repr_for_strings_it_escapes_alike(text):
    assert quote(text) == repr(text)


def test_quote_of_other_values():
    assert quote(3) == "3"
    assert quote(("a", "\x1b")) == "('a', '\\x1b')"
    assert quote(None) == "None"

    class Sly:
        def __repr__(self) -> str:
            return "sly\x1b[2J"

    assert quote(Sly()) == "sly\\x1b[2J"
    assert quote([10**5000]) == "a list too long to show"
