"""The node of event00. Standard library only, so it can be imported and tried
without Kedro installed."""

import json
import logging

log = logging.getLogger(__name__)


def handle_event(id: str, event: str) -> dict:
    """Parses the CloudEvent this run was started for, logs it and summarises it.

    id: this run's pipeline id (a child pipeline would carry it as `parent`);
        "" when run by hand with the defaults in conf/base/parameters.yml.
    event: the CloudEvent in the CloudEvents JSON format, as a str ("{}" by
        default). kedro-eventd writes a `$` that precedes `{` as the JSON escape
        \\u0024, so Kedro's OmegaConf never sees an interpolation; json.loads
        gives the original text back.

    Returns a plain dict; the pipeline does not list it in the catalog, so Kedro
    keeps it in a MemoryDataset.
    """
    ce = json.loads(event)
    if not isinstance(ce, dict):
        raise ValueError(f"event is not a JSON object: {event[:80]!r}")
    data = ce["data"] if "data" in ce else ce.get("data_base64")
    summary = {
        "pipeline_id": id,
        "event_id": ce.get("id"),
        "source": ce.get("source"),
        "type": ce.get("type"),
        "time": ce.get("time"),
        "datacontenttype": ce.get("datacontenttype"),
        "data": data,
    }
    log.info("pipeline %r: event id=%r source=%r type=%r data=%s", id, summary["event_id"],
             summary["source"], summary["type"], json.dumps(data, ensure_ascii=False))
    return summary
