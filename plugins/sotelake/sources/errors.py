"""Errors of the source layer."""


class SourceSchemaError(RuntimeError):
    """A delivered table or file lacks a required column the registry declares."""
