"""Text from spec files made safe to print (MODEL.md section 6: messages stay one line).

Names, descriptions, keys and paths come from files anyone may have written. Printed
raw, a terminal control sequence in one of them (``ESC [ 2 J`` clears the screen) or
a bidirectional override (U+202E turns the rest of the line around) would act on the
terminal instead of showing. :func:`printable` replaces every such character by the
escape Python's ``repr`` writes for it; :func:`quote` quotes a name as ``repr`` does,
with the same escapes. Error messages and the text summaries use these two, so that
what a file says is what the reader sees.

Escaped: the categories ``Cc`` (C0 and C1 controls, DEL, ESC), ``Cf`` (format
characters: bidi embeddings, overrides, isolates and marks, zero-width characters,
the byte-order mark, tag characters), ``Zl`` and ``Zp`` (line and paragraph
separators), ``Cs`` (lone surrogates), ``Co`` (private use) and ``Cn`` (unassigned).
Kept: everything else, that is letters, marks, digits, punctuation, symbols and
spaces of any script (accents, CJK, emoji), and the zero-width joiner and non-joiner
(U+200D, U+200C) between two kept non-ASCII characters, where emoji sequences and
Indic or Persian words need them.
"""

from __future__ import annotations

import unicodedata

__all__ = ["printable", "quote"]

_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_JOINERS = frozenset({"\u200c", "\u200d"})
_SHORT = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _unsafe(ch: str) -> bool:
    if " " <= ch <= "~":  # printable ASCII: the common case, decided without a table look-up
        return False
    return unicodedata.category(ch) in _UNSAFE_CATEGORIES


def _escape(ch: str) -> str:
    code = ord(ch)
    if ch in _SHORT:
        return _SHORT[ch]
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _kept_non_ascii(ch: str) -> bool:
    return ch > "\x7f" and not _unsafe(ch)


def printable(text: str) -> str:
    r"""``text`` with every character that could act on a terminal written as an escape.

    Control characters (C0, C1, ESC, DEL), bidirectional embeddings, overrides,
    isolates and marks (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F, U+061C), other
    format and invisible characters, line and paragraph separators, lone surrogates,
    private-use and unassigned code points become ``\t``, ``\n``, ``\r``, ``\xNN``,
    ``\uNNNN`` or ``\UNNNNNNNN`` as in Python's ``repr``. Ordinary text of any
    script (accents, CJK, emoji, spaces) is returned as it is; so are the zero-width
    joiner and non-joiner between two such non-ASCII characters (emoji sequences,
    Indic and Persian words). Backslashes are not doubled: the result is for reading;
    :func:`quote` gives an unambiguous form.

    Parameters
    ----------
    text : str
        A name, description, key or path from a spec file.

    Returns
    -------
    str
        The same text, safe to print: one line, no character that moves the
        cursor, changes colours or reorders what follows.

    Examples
    --------
    >>> printable("heat\x1b[2J")
    'heat\\x1b[2J'
    >>> print(printable("evil\u202etxt.exe"))
    evil\u202etxt.exe
    >>> print(printable("two\nlines\ttab\x7f"))
    two\nlines\ttab\x7f
    >>> print(printable("Größe, 熱, café ☕, ½ €"))
    Größe, 熱, café ☕, ½ €
    >>> printable("👩\u200d🔬 r\u00e9sum\u00e9") == "👩\u200d🔬 résumé"  # an emoji sequence keeps its joiner
    True
    >>> printable("a\u200db")  # a joiner between ASCII letters only hides a difference
    'a\\u200db'
    """
    if text.isascii() and text.isprintable():  # the common case, at C speed
        return text
    out: list[str] = []
    last = len(text) - 1
    for i, ch in enumerate(text):
        if not _unsafe(ch):
            out.append(ch)
        elif ch in _JOINERS and 0 < i < last and _kept_non_ascii(text[i - 1]) and _kept_non_ascii(text[i + 1]):
            out.append(ch)
        else:
            out.append(_escape(ch))
    return "".join(out)


def quote(value: object) -> str:
    r"""``value`` as an error message names it: a string quoted and escaped as ``repr``
    quotes it (but by the rules of :func:`printable`), anything else as its ``repr``
    made printable.

    Parameters
    ----------
    value : object
        A node id, key or value.

    Returns
    -------
    str
        One printable line. For strings free of the characters :func:`printable`
        keeps and ``repr`` escapes (spaces other than U+0020, joiners between
        non-ASCII characters), this is exactly ``repr(value)``.

    Examples
    --------
    >>> print(quote("heat"), quote("it's"), quote("a\\b"), quote(3))
    'heat' "it's" 'a\\b' 3
    >>> print(quote("\x1b]0;pwned\x07"))
    '\x1b]0;pwned\x07'
    >>> print(quote(("a", "\u202e")))
    ('a', '\u202e')
    """
    if isinstance(value, str):
        mark = '"' if "'" in value and '"' not in value else "'"
        body = value.replace("\\", "\\\\")
        if mark == "'":
            body = body.replace("'", "\\'")
        return mark + printable(body) + mark
    try:
        text = repr(value)
    except ValueError:  # holds an integer with more digits than Python converts
        kind = type(value).__name__
        return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind} too long to show"
    return printable(text)
