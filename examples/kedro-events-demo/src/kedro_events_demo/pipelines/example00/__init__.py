"""example00: the child pipeline event00 starts for each event."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
