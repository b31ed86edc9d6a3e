"""event00's one node: read the event it was started for."""

from kedro.pipeline import Node, Pipeline

from .nodes import handle_event


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline([
        Node(func=handle_event, inputs=["params:id", "params:event"], outputs="event_summary",
             name="handle_event"),
    ])
