"""The node of example00. Standard library only."""

import json
import logging

log = logging.getLogger(__name__)


def report(event_id: str, data: str) -> dict:
    """Works on the event00 event it was started for: here, logs it and returns
    what it got. event_id: the event's id; data: the event's data as JSON text
    (both str, as every parameter a pipeline is created with)."""
    value = json.loads(data) if data else None
    log.info("example00 for event %r: %s", event_id, json.dumps(value, ensure_ascii=False))
    return {"event_id": event_id, "data": value}
