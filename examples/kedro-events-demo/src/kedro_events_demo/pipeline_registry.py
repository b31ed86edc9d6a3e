"""The project's pipelines: event00 (started by events) and example00 (its child)."""

from kedro.pipeline import Pipeline

from kedro_events_demo.pipelines import event00, example00


def register_pipelines() -> dict[str, Pipeline]:
    pipeline = event00.create_pipeline()
    return {"event00": pipeline, "example00": example00.create_pipeline(),
            "__default__": pipeline}
