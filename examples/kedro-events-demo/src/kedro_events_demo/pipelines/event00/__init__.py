"""event00: the pipeline kedro-eventd starts for a matching CloudEvent."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
