"""example00's one node: work on the event event00 passed on."""

from kedro.pipeline import Pipeline, node

from .nodes import report


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline([
        node(report, inputs=["params:event_id", "params:data"], outputs="example00_report",
             name="report"),
    ])
