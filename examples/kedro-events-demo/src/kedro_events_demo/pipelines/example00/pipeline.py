"""example00's one node: work on the event event00 passed on."""

from kedro.pipeline import Node, Pipeline

from .nodes import report


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline([
        Node(func=report, inputs=["params:event_id", "params:data"], outputs="example00_report",
             name="report"),
    ])
