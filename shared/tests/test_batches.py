"""What a whole-batch handler is handed for each event: the event, its trace, and its JSON as it arrived."""

from __future__ import annotations

import json
from typing import ClassVar

from vprime_shared.batches import Received
from vprime_shared.contracts import Event


class Note(Event):
    TOPIC: ClassVar[str] = "notes"
    n: int

    def partition_key(self) -> str:
        return "k"


def test_an_event_received_from_kafka_keeps_its_json_as_it_arrived() -> None:
    note = Note(n=1)
    arrived = json.dumps(dict(reversed(json.loads(note.model_dump_json()).items())), indent=1)  # another encoder's layout
    assert Note.model_validate_json(arrived) == note and arrived != note.model_dump_json()
    assert Received(note, {}, arrived.encode()).json() == arrived


def test_an_event_handed_over_in_process_is_encoded_once_asked() -> None:
    note = Note(n=2)
    assert Received(note, {}).json() == note.model_dump_json()
