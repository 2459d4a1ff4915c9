"""The library's edges: long texts, texts that are not Unicode, saved pipelines that travel."""

from __future__ import annotations

from pathlib import Path

import pytest

from clinnlp.errors import TextError


@pytest.fixture(scope="module")
def nlp(tiny_model: Path):
    from clinnlp.pipeline import build_pipeline

    return build_pipeline(tiny_model, device="cpu")


def test_library_a_note_over_a_million_characters_is_annotated(nlp) -> None:
    from clinnlp.readers.textfile import MAX_DOCUMENT_BYTES

    assert nlp.max_length >= MAX_DOCUMENT_BYTES  # as the CLI's default limit
    text = "Rash after amoxicillin; lisinopril continued. " * 23_000  # 1,058,000 characters
    doc = nlp.make_doc(text)  # spaCy's E088 stopped texts over 1,000,000 characters here
    assert doc.text == text


def test_library_a_lone_surrogate_is_a_clear_error(nlp) -> None:
    with pytest.raises(TextError, match=r"U\+D83D\) at character 6"):
        nlp("Rash: \ud83d after amoxicillin.")


def test_library_a_saved_pipeline_names_no_knowledge_base_path(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default knowledge bases are not written into a saved pipeline by path: the
    loaded pipeline finds those of the machine it runs on."""
    import clinnlp.about
    from clinnlp.pipeline import build_pipeline

    kb = tmp_path / "kb"
    for sub in ("drugs", "hpo"):
        (kb / sub).mkdir(parents=True)
    monkeypatch.setattr(clinnlp.about, "DEFAULT_KB", kb)
    monkeypatch.setattr("clinnlp.linking.index.check", lambda folder: None)
    nlp = build_pipeline(tiny_model, device="cpu")
    assert "clinnlp_linker" in nlp.pipe_names
    nlp.to_disk(tmp_path / "saved")
    config = (tmp_path / "saved" / "config.cfg").read_text()
    assert str(kb) not in config and str(tmp_path) not in config
    moved = tmp_path / "elsewhere-kb"
    monkeypatch.setattr(clinnlp.about, "DEFAULT_KB", moved)
    assert nlp.get_pipe("clinnlp_linker").folder("Drug") == moved / "drugs"
