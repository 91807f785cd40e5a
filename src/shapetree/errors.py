"""One exception hierarchy; the CLI turns each into one line and a non-zero exit."""


class ShapetreeError(Exception):
    """Base class of every error shapetree raises on purpose."""


class MeshError(ShapetreeError):
    """A mesh file is missing, unreadable, empty or not finite."""


class FormatError(ShapetreeError):
    """A tree file is missing, truncated, corrupted or of the wrong kind."""


class UsageError(ShapetreeError, ValueError):
    """An argument is out of range or inconsistent (a ``ValueError``, as Python users expect)."""


class UsageTypeError(UsageError, TypeError):
    """An argument is of the wrong type (also a ``TypeError``): a float or bool where an integer
    is expected, strings where numbers are."""


class MeshWarning(UserWarning):
    """A mesh was usable only after a repair (e.g. its faces all pointed inwards)."""
