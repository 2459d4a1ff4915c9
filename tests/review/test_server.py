"""The review server: every endpoint, decisions saved as made (BRAT, state, audit), bad input
refused with a clear 4xx and nothing written, and a restart that loses nothing."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from clinnlp.readers.brat import read_brat
from clinnlp.review.server import make_app
from clinnlp.review.store import ReviewError, ReviewStore

from .conftest import RASH, make_run


@pytest.fixture
def run(tmp_path: Path) -> Path:
    return make_run(tmp_path / "run")


@pytest.fixture
def client(run: Path) -> TestClient:
    return TestClient(make_app(ReviewStore(run)))


def _digest(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_server_page_and_assets_come_from_the_package_with_a_strict_policy(client):
    page = client.get("/")
    assert page.status_code == 200 and "/static/review.js" in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "http" not in page.text.replace("http-equiv", "")  # nothing from elsewhere
    for name in ("review.js", "review.css"):
        assert client.get(f"/static/{name}").status_code == 200
    assert client.get("/static/../store.py").status_code == 404
    assert client.get("/static/secret.txt").status_code == 404


def test_server_queue_puts_notes_that_report_an_event_first(client):
    data = client.get("/api/queue").json()
    assert [n["id"] for n in data["notes"]] == ["clinic/rash", "calm"]
    assert data["notes"][0]["reports_ade"] and data["notes"][0]["events"] == 1
    assert data["progress"] == {"done": 0, "total": 2}


def test_server_note_and_unknown_note(client):
    note = client.get("/api/notes/clinic/rash").json()
    assert note["text"] == RASH and note["version"] == 0
    assert [e["id"] for e in note["entities"]] == ["T1", "T2", "T3", "T4"]
    assert note["adverse_drug_events"]["asserted"][0]["event"] == "Rash"
    missing = client.get("/api/notes/nowhere")
    assert missing.status_code == 404 and "no such note" in missing.json()["error"]


def post(client, note: str, body) -> object:
    return client.post(f"/api/decisions/{note}", json=body)


def test_server_decisions_are_saved_as_made(client, run: Path):
    before = (run / "annotations.jsonl").read_bytes()
    r = post(client, "clinic/rash", {"version": 0, "action": "accept", "entity": "T1"})
    assert r.status_code == 200 and r.json()["version"] == 1
    r = post(
        client,
        "clinic/rash",
        {"version": 1, "action": "edit", "entity": "T4", "status": "negated", "drugs": ["T3"]},
    )
    assert r.status_code == 200
    start = RASH.index("lisinopril")
    r = post(
        client,
        "clinic/rash",
        {"version": 2, "action": "add", "label": "Drug", "start": start, "end": start + 10},
    )
    assert r.status_code == 422 and "overlaps T3" in r.json()["error"]  # spans never overlap
    r = post(
        client,
        "clinic/rash",
        {
            "version": 2,
            "action": "add",
            "label": "Adverse-Effect",
            "start": RASH.index("noted"),
            "end": RASH.index("noted") + 5,
            "drugs": ["T2"],
        },
    )
    assert r.status_code == 200, r.json()
    r = post(client, "clinic/rash", {"version": 3, "action": "reject", "entity": "T1"})
    span = {"start": 0, "end": len("Rash after")}  # a rejected entity's words may be taken
    r = post(client, "clinic/rash", {"version": 4, "action": "add", "label": "Drug", **span})
    assert r.status_code == 200, r.json()
    r = post(client, "clinic/rash", {"version": 5, "action": "reject", "entity": "T102"})
    r = post(client, "clinic/rash", {"version": 6, "action": "done"})
    assert r.json()["done"] and r.json()["progress"] == {"done": 1, "total": 2}
    assert (run / "annotations.jsonl").read_bytes() == before  # the run is never changed
    review = run / "review"
    (doc,) = read_brat(review)
    labels = {(e.text, e.label, e.attributes.get("assertion")) for e in doc.entities}
    assert ("Rash", "Adverse-Effect", "present") not in labels  # rejected
    assert ("Nausea", "Adverse-Effect", "negated") in labels
    assert ("noted", "Adverse-Effect", "present") in labels
    links = {(doc.entity(r.head).text, doc.entity(r.tail).text) for r in doc.relations}
    assert links == {("lisinopril", "Nausea"), ("amoxicillin", "noted")}
    audit = [json.loads(x) for x in (review / "audit.jsonl").read_text().splitlines()]
    actions = [a["action"] for a in audit]
    assert actions == ["accept", "edit", "add", "reject", "add", "reject", "done"]
    assert audit[1]["before"]["entity"]["attributes"]["assertion"] == "present"
    assert audit[1]["after"]["entity"]["attributes"]["assertion"] == "negated"
    assert all(a["when"] and a["note"] == "clinic/rash" for a in audit)


def test_server_bad_decisions_are_refused_and_write_nothing(client, run: Path):
    post(client, "clinic/rash", {"version": 0, "action": "accept", "entity": "T1"})
    saved = _digest(run)
    cases = [
        ({"version": 0, "action": "accept", "entity": "T2"}, 409),  # stale: version is 1 now
        ({"version": 1, "action": "fly"}, 422),
        ({"version": "1", "action": "accept", "entity": "T2"}, 422),
        ({"version": 1, "action": "accept", "entity": "T99"}, 422),
        ({"version": 1, "action": "add", "label": "Drug", "start": 5, "end": 5}, 422),
        ({"version": 1, "action": "add", "label": "Drug", "start": 0, "end": 10_000}, 422),
        ({"version": 1, "action": "add", "label": "Food", "start": 0, "end": 4}, 422),
        ({"version": 1, "action": "edit", "entity": "T4", "drugs": ["T1"]}, 422),
        ({"version": 1, "action": "edit", "entity": "T4", "status": "maybe"}, 422),
        ({"version": 1, "action": "done", "done": "yes"}, 422),
        ([1, 2], 422),
    ]
    for body, status in cases:
        r = post(client, "clinic/rash", body)
        assert r.status_code == status, (body, r.json())
        assert r.json()["error"]
    assert post(client, "nowhere", {"version": 0, "action": "done"}).status_code == 404
    raw = client.post(
        "/api/decisions/clinic/rash",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert raw.status_code == 400
    form = client.post("/api/decisions/clinic/rash", data={"version": "1"})
    assert form.status_code == 415
    assert _digest(run) == saved


def test_server_refuses_other_hosts(run: Path):
    client = TestClient(make_app(ReviewStore(run)), base_url="http://evil.example")
    assert client.get("/api/queue").status_code == 400


def test_server_a_restart_reads_every_decision_back(run: Path):
    first = TestClient(make_app(ReviewStore(run)))
    post(first, "calm", {"version": 0, "action": "reject", "entity": "T1"})
    post(first, "calm", {"version": 1, "action": "done"})
    again = TestClient(make_app(ReviewStore(run)))  # a new server over the same folder
    note = again.get("/api/notes/calm").json()
    assert note["version"] == 2 and note["done"]
    assert note["entities"][0]["decision"] == "rejected"
    assert again.get("/api/queue").json()["progress"] == {"done": 1, "total": 2}


def test_server_needs_an_annotate_run(tmp_path: Path):
    with pytest.raises(ReviewError, match="annotations.jsonl"):
        ReviewStore(tmp_path)
