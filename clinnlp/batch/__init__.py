"""Batch annotation: many documents through the pipeline, written so that a run survives faults.

Modules:
    ``core``: the pure per-document step, (id, text, metadata) records in, Documents or
    failures out; the one place a Document is built from a spaCy Doc. Every engine calls it.
    ``inputs``: folders, text, CSV and JSONL files as records (every unreadable path a failure).
    ``sinks``: the output formats (JSONL, BRAT, DocBin, HTML) and their durable writes.
    ``local``: the resumable run behind ``clinnlp annotate``.
    ``report``: the self-contained HTML report.

Importing this package imports none of them (nor spaCy or torch).
"""
