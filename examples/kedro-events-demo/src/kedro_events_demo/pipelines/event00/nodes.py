"""The node of event00. Standard library only, so it can be tried without Kedro."""

import json
import logging

log = logging.getLogger(__name__)


def handle_event(id: str, event: str) -> dict:
    """Parses the CloudEvent this run was started for and summarises it.

    id: this run's pipeline id (a child pipeline would carry it as `parent`).
    event: the CloudEvent in the CloudEvents JSON format, as a str. A `$` before
    `{` arrives escaped as \\u0024 (so Kedro's OmegaConf never interpolates it);
    json.loads gives the original text back.
    """
    ce = json.loads(event)
    summary = {
        "pipeline_id": id,
        "event_id": ce.get("id"),
        "source": ce.get("source"),
        "type": ce.get("type"),
        "time": ce.get("time"),
        "data": ce.get("data", ce.get("data_base64")),
    }
    log.info("event %s from %s (%s) for pipeline %s", summary["event_id"], summary["source"],
             summary["type"], id)
    return summary
