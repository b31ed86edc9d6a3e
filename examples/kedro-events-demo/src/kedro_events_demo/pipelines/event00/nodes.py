"""The node of event00. Standard library only, so it can be imported and tried
without Kedro installed."""

import json
import logging
import os
import urllib.error
import urllib.request

log = logging.getLogger(__name__)

# Where kedro-event-shim listens: kedro-eventd gives each run its --http-url.
HTTP_URL_ENV = "KEDRO_EVENTS_HTTP_URL"
# The bearer token for the shim, when kedro-eventd runs with --run-token-file.
TOKEN_ENV = "KEDRO_EVENTS_TOKEN"


def start_child(parent_id: str, name: str, parameters: dict, tags: dict) -> str:
    """Creates pipeline `name` with `parent` = parent_id through the shim's
    POST /pipelines/ and returns the new pipeline's id, sending
    `Authorization: Bearer $KEDRO_EVENTS_TOKEN` when that variable is set (a shim
    with --auth-tokens needs it). Raises RuntimeError naming the shim's answer
    when it refuses."""
    url = os.environ[HTTP_URL_ENV].rstrip("/") + "/pipelines/"
    body = json.dumps({"name": name, "parent": parent_id, "parameters": parameters,
                       "tags": tags}).encode()
    headers = {"Content-Type": "application/json"}
    token = os.environ.get(TOKEN_ENV, "").strip()
    if token:
        headers["Authorization"] = "Bearer " + token
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.load(answer)["id"]
    except urllib.error.HTTPError as e:
        raise RuntimeError(f"POST {url} answered {e.code}: {e.read().decode(errors='replace')}")


def handle_event(id: str, event: str) -> dict:
    """Parses the CloudEvent this run was started for, logs it, starts an
    example00 child pipeline for it (kedro-graphql's event -> pipeline
    pattern) and returns a summary.

    id: this run's pipeline id, the child's `parent`; "" when run by hand with
        the defaults in conf/base/parameters.yml (then no child is started).
    event: the CloudEvent in the CloudEvents JSON format, as a str ("{}" by
        default). kedro-eventd writes a `$` that precedes `{` as the JSON escape
        \\u0024, so Kedro's OmegaConf never sees an interpolation; json.loads
        gives the original text back.

    The child is created through kedro-event-shim at $KEDRO_EVENTS_HTTP_URL;
    without that variable (or without an id) none is started. Returns a plain
    dict; the pipeline does not list it in the catalog, so Kedro keeps it in a
    MemoryDataset.
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
        "child_id": None,
    }
    log.info("pipeline %r: event id=%r source=%r type=%r data=%s", id, summary["event_id"],
             summary["source"], summary["type"], json.dumps(data, ensure_ascii=False))
    if id and os.environ.get(HTTP_URL_ENV):
        summary["child_id"] = start_child(
            id, "example00",
            {"event_id": str(ce.get("id", "")), "data": json.dumps(data, ensure_ascii=False)},
            {"started_by": "event00", "event_source": str(ce.get("source", ""))})
        log.info("pipeline %r: started example00 %s", id, summary["child_id"])
    elif id:
        log.info("pipeline %r: %s is not set; no example00 child started", id, HTTP_URL_ENV)
    return summary
