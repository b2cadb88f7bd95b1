import json

from training.events import EventWriter


def test_event_file_in_a_new_folder_is_created_and_appended(tmp_path):
    path = tmp_path / "new" / "folder" / "events.jsonl"
    for epoch in (1, 2):
        writer = EventWriter(str(path))
        writer.emit("epoch", epoch=epoch)
        writer.close()
    events = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(e["event"], e["epoch"]) for e in events] == [("epoch", 1), ("epoch", 2)]
    assert all(isinstance(e["time"], float) for e in events)
