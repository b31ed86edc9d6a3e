"""kedro-events-demo: a Kedro project started by CloudEvents through kedro-eventd."""

__version__ = "0.1.0"
