#!/usr/bin/env python3
"""Send one CloudEvent to kedro-eventd with Python's grpcio and print the
pipelines it started.

Usage: grpc_client.py STUB_DIR [TARGET]
STUB_DIR holds modules generated from proto/ (see README.md); TARGET defaults
to 127.0.0.1:50051."""

import json
import sys

sys.path.insert(0, sys.argv[1])
target = sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1:50051"

import grpc  # noqa: E402
from cloudevents.v1 import cloudevents_pb2  # noqa: E402
from kedro.events.v1 import events_pb2, events_pb2_grpc  # noqa: E402

event = cloudevents_pb2.CloudEvent(
    id="1234", source="example.com", spec_version="1.0", type="com.example.event",
    text_data=json.dumps({"key": "value"}))
event.attributes["datacontenttype"].ce_string = "application/json"

with grpc.insecure_channel(target) as channel:
    stub = events_pb2_grpc.EventServiceStub(channel)
    answer = stub.Dispatch(event, timeout=10)

State = events_pb2.PipelineStatus.State
for p in answer.pipelines:
    print(p.id, p.name, State.Name(p.status[-1].state))
print("duplicate" if answer.duplicate else "new", len(answer.pipelines), "pipeline(s)")
