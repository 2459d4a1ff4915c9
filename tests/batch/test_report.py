"""The HTML report: escaping, self-containment, summary counts, and a real browser."""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from clinnlp.batch.report import events_per_drug, render_report
from clinnlp.schema import Document, Entity, Relation

TEXT = "Rash after amoxicillin 500 mg. Denies nausea on metformin.\nAmoxicillin stopped."


def _ent(ident: str, label: str, start: int, end: int, **attributes: object) -> Entity:
    return Entity(ident, label, start, end, TEXT[start:end], dict(attributes))


def _doc(doc_id: str = "note-1") -> Document:
    return Document(
        doc_id,
        TEXT,
        [
            _ent("T1", "Adverse-Effect", 0, 4, confidence=0.91),
            _ent("T2", "Drug", 11, 22, confidence=0.88),
            _ent("T3", "Dose", 23, 29),
            _ent("T4", "Adverse-Effect", 38, 44, assertion="negated"),
            _ent("T5", "Drug", 48, 57),
            _ent("T6", "Drug", 59, 70),
        ],
    )


def test_report_summary_counts() -> None:
    page = render_report([_doc("a"), _doc("b")])
    assert "<td>Drug</td>" not in page  # labels sit in coloured swatches
    assert ">Drug</span></td><td>6</td>" in page and ">Adverse-Effect</span></td><td>4</td>" in page
    assert "only events the note asserts" in page
    assert "assertion is not detected" in render_report(
        [Document("c", TEXT, [_ent("T1", "Drug", 11, 22)])]
    )
    pairs, linked = events_per_drug([_doc()])
    assert not linked
    assert pairs == {"amoxicillin": {"rash": 1}}  # negated nausea and the next sentence ignored


def test_report_per_drug_table_uses_relations_and_lists_unasserted_apart() -> None:
    doc = _doc()
    doc.relations = [
        Relation("Causes", "T6", "T1", "R1", {"confidence": 0.8}),  # 2nd amoxicillin -> rash
        Relation("Causes", "T5", "T4", "R2", {"confidence": 0.9}),  # metformin -> nausea (negated)
    ]
    pairs, linked = events_per_drug([doc])
    assert linked and pairs == {"amoxicillin": {"rash": 1}}  # the link, not the co-mention
    page = render_report([doc])
    assert "relation model&#x27;s drug&rarr;event links" in page or "drug&rarr;event links" in page
    apart = page.split("Drug-linked events the notes do not assert")[1]
    assert "<td>nausea</td><td>negated</td><td>metformin</td><td>note-1</td>" in apart
    nausea = page[page.index('title="Adverse-Effect, negated') :].split("</mark>")[0]
    assert 'class="entity unasserted"' in page and "nausea" in nausea and "· negated" in nausea
    rash = page[page.index('title="Adverse-Effect; confidence 0.91') :].split("</mark>")[0]
    assert "unasserted" not in rash and "·" not in rash  # asserted: drawn plainly


def test_report_escapes_everything() -> None:
    text = 'Took <b>drug</b> & "x" <script>alert(1)</script>'
    doc = Document(
        "<img src=x onerror=alert(1)>",
        text,
        [Entity("T1", "<i>Drug</i>", 5, 16, text[5:16], {"confidence": 0.5})],
    )
    page = render_report([doc], title="<title>")
    assert "<script>" not in page and "<img" not in page and "<b>" not in page and "<i>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "&lt;i&gt;Drug&lt;/i&gt;" in page and "&lt;b&gt;drug&lt;/b&gt;" in page


def test_report_is_self_contained() -> None:
    page = render_report([_doc()]).lower()
    for needle in ("<script", "<link", "src=", "url(", "@import", "http://", "https://"):
        assert needle not in page
    assert "content-security-policy" in page and "default-src 'none'" in page


def test_report_handles_overlaps_and_empty() -> None:
    doc = _doc()
    doc.entities.append(_ent("T7", "Drug", 0, 10))  # overlaps T1: drawn once
    assert render_report([doc]).count("<mark") == 6
    assert "No documents." in render_report([])


def _png_pixels(data: bytes) -> set[tuple[int, ...]]:
    """The distinct RGB colours of an 8-bit RGB/RGBA PNG (stdlib only: no Pillow needed)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, color = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and color in (2, 6), "chromium writes 8-bit RGB(A)"
    bpp = 3 if color == 2 else 4
    raw, stride, prev, colours = zlib.decompress(idat), width * bpp, bytearray(width * bpp), set()
    for y in range(height):
        kind, row = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        for i in range(stride):
            left = row[i - bpp] if i >= bpp else 0
            up, corner = prev[i], prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                row[i] = (row[i] + left) & 255
            elif kind == 2:
                row[i] = (row[i] + up) & 255
            elif kind == 3:
                row[i] = (row[i] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                row[i] = (
                    row[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)
                ) & 255
        colours.update(tuple(row[x : x + 3]) for x in range(0, stride, bpp))
        prev = row
    return colours


def test_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    page = tmp_path / "report.html"
    page.write_text(render_report([_doc("a"), _doc("b")]), "utf-8")
    shot = tmp_path / "shot.png"
    subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--window-size=1000,1200",
            f"--screenshot={shot}",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    colours = _png_pixels(shot.read_bytes())
    assert len(colours) > 20, "the screenshot is blank"
    assert (0x9F, 0xD3, 0xF5) in colours, "displaCy drew the Drug entities in their colour"
