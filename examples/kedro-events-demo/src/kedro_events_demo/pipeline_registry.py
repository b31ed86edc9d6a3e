"""The project's pipelines."""

from kedro.pipeline import Pipeline

from kedro_events_demo.pipelines import event00


def register_pipelines() -> dict[str, Pipeline]:
    pipeline = event00.create_pipeline()
    return {"event00": pipeline, "__default__": pipeline}
