"""Public functions' scalar arguments checked up front, so a wrong one fails before any work
with a ``UsageError`` (a ``ValueError``) or ``UsageTypeError`` (a ``TypeError``) naming it."""

from __future__ import annotations

import math
import numbers

from .errors import UsageError, UsageTypeError

# The seeds a build tells apart: node seeds are ``seed * odd + c`` modulo 2**63, a bijection on
# 0..2**63-1, so larger seeds would repeat smaller ones. The CLI's --seed takes the same range.
MAX_SEED = 2**63 - 1


def integer(name: str, value: object, lo: int, hi: int) -> int:
    """``value`` as an int in ``lo..hi``; bools and floats (even 3.0) are type errors."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise UsageTypeError(f"{name} must be an integer in {lo:,}..{hi:,}, got {value!r}")
    v = int(value)
    if not lo <= v <= hi:
        raise UsageError(f"{name} must be in {lo:,}..{hi:,}, got {v:,}")
    return v


def real(name: str, value: object, lo: float, hi: float) -> float:
    """``value`` as a finite float in ``[lo, hi]``; bools and non-numbers are type errors."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise UsageTypeError(f"{name} must be a number in [{lo:g}, {hi:g}], got {value!r}")
    v = float(value)
    if not (math.isfinite(v) and lo <= v <= hi):
        raise UsageError(f"{name} must be in [{lo:g}, {hi:g}], got {v!r}")
    return v


def flag(name: str, value: object) -> bool:
    """``value`` as a bool: True, False (or numpy's bools)."""
    if not isinstance(value, (bool, numbers.Integral)) or value not in (0, 1):
        raise UsageTypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def instance(name: str, value: object, cls: type) -> None:
    """``value`` is None or a ``cls``."""
    if value is not None and not isinstance(value, cls):
        raise UsageTypeError(f"{name} must be a {cls.__name__} or None, got {type(value).__name__}")
