"""Reading an input file the way every command does: regular files only, a size cap, one-line errors.

A FIFO would block the ``open``, a device never ends and a directory is not a file, so the
path is looked at before it is opened (without blocking), looked at again through the open
descriptor (the path may have changed in between), and read up to one byte past the cap.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ._text import printable, quote
from .errors import SpecError

__all__ = ["file_label", "read_regular_file"]

_FILE_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
)


def file_label(path: Path) -> str:
    """The path as messages name it: as given, or quoted when it holds characters that
    cannot be printed (messages stay one line and act on no terminal)."""
    text = str(path)
    return text if printable(text) == text else quote(text)


def _cannot_read(label: str, exc: OSError) -> SpecError:
    return SpecError(f"{label}: cannot read: {printable(exc.strerror or str(exc))}")


def _check_file(info: os.stat_result, path: Path, label: str, limit: int, noun: str, hint: str) -> None:
    if not stat.S_ISREG(info.st_mode):
        kind = next((name for test, name in _FILE_KINDS if test(info.st_mode)), "not a file")
        target = os.path.realpath(path)
        if target != os.path.abspath(path):  # a symbolic link somewhere on the way
            kind += f": {printable(target)}"
        raise SpecError(f"{label}: not a regular file ({kind}); {hint}")
    if info.st_size > limit:
        raise SpecError(f"{label}: too large: {info.st_size:,} bytes, more than the {limit:,} bytes {noun} may have")


def read_regular_file(path: Path, label: str, *, limit: int, noun: str, hint: str) -> bytes:
    """The bytes of the regular file ``path``, of at most ``limit`` bytes.

    ``noun`` names the kind of file in the size message ("a spec file"), ``hint`` says
    what it should be ("a spec is a .toml or .json file"). Every failure is a
    :class:`~rrm_theory.errors.SpecError` of one line that starts with ``label``.
    """
    if "\0" in str(path):  # no file system allows one; os.stat raises ValueError
        raise SpecError(f"{label}: cannot read: the path contains a NUL character")
    try:
        info = os.stat(path)
    except OSError as exc:
        raise _cannot_read(label, exc) from None
    _check_file(info, path, label, limit, noun, hint)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise _cannot_read(label, exc) from None
    try:
        info = os.fstat(fd)
        _check_file(info, path, label, limit, noun, hint)
        chunks: list[bytes] = []
        total, want = 0, info.st_size + 1  # usually one read for the file and one to see its end
        while True:
            chunk = os.read(fd, min(max(want, 1 << 16), limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise SpecError(f"{label}: too large: more than the {limit:,} bytes {noun} may have "
                                "(it grew while being read)")  # fmt: skip
    except OSError as exc:
        raise _cannot_read(label, exc) from None
    finally:
        os.close(fd)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)
