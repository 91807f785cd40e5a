"""Simplification: trees cut down to a leaf budget."""

from .truncate import truncated

__all__ = ["truncated"]
