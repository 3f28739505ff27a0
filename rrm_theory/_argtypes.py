"""argparse value types shared by the commands: one clear message per bad value."""

from __future__ import annotations

import argparse
import math
from typing import Callable

__all__ = ["whole", "number"]


def whole(low: int) -> Callable[[str], int]:
    """A whole number >= ``low``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"{text} is below {low}")
        return value

    return parse


def number(
    low: float | None = None, high: float | None = None, *, open_low: bool = False, open_high: bool = False
) -> Callable[[str], float]:
    """A finite number in the interval given (ends excluded where ``open_*``)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text} is not a finite number")
        if low is not None and (value < low or (open_low and value == low)):
            raise argparse.ArgumentTypeError(f"{text} is not {'above' if open_low else 'at least'} {low}")
        if high is not None and (value > high or (open_high and value == high)):
            raise argparse.ArgumentTypeError(f"{text} is not {'below' if open_high else 'at most'} {high}")
        return value

    return parse
