"""Errors of the source layer."""

from sotelake.errors import PermanentError


class SourceSchemaError(PermanentError):
    """A delivered table or file lacks a required column the registry declares."""
