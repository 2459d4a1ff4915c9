import numpy as np
import pytest

from clinnlp.align import (
    bio_tags,
    decode_bio,
    encode_bio,
    viterbi,
    window_owner,
    windows,
    word_offsets,
)

TAGS = bio_tags(["Drug", "AE"])  # O, B-AE, I-AE, B-Drug, I-Drug


def test_align_bio_tags_sorted_and_complete():
    assert TAGS == ["O", "B-AE", "I-AE", "B-Drug", "I-Drug"]


def test_align_word_offsets_merge_subwords_and_skip_specials():
    offsets = [(0, 0), (0, 4), (4, 7), (8, 10), (0, 0)]
    assert word_offsets(offsets, [None, 0, 0, 1, None]) == [(0, 7), (8, 10)]


def test_align_encode_bio_marks_words_and_widens_partial_words():
    words = [(0, 3), (4, 12), (13, 20), (20, 21)]  # "got azithrom ototoxic ."
    tags, lost = encode_bio(words, [("Drug", 4, 12), ("AE", 13, 18)])
    assert tags == ["O", "B-Drug", "B-AE", "O"]
    assert lost == 0


def test_align_encode_bio_keeps_longest_of_overlapping_entities():
    words = [(0, 7), (8, 20)]  # "codeine intoxication"
    tags, lost = encode_bio(words, [("Drug", 0, 7), ("AE", 0, 20)])
    assert tags == ["B-AE", "I-AE"]
    assert lost == 1


def test_align_viterbi_never_starts_or_jumps_into_inside_tag():
    probs = np.array(
        [
            [0.1, 0.05, 0.7, 0.1, 0.05],  # I-AE most likely, but cannot start a sequence
            [0.1, 0.1, 0.1, 0.1, 0.6],  # I-Drug
            [0.9, 0.025, 0.025, 0.025, 0.025],
        ]
    )
    path = [TAGS[i] for i in viterbi(np.log(probs), TAGS)]
    assert path[0] != "I-AE"
    for prev, cur in zip(path, path[1:], strict=False):
        assert not cur.startswith("I-") or prev[2:] == cur[2:]


def test_align_viterbi_follows_argmax_when_it_is_legal():
    probs = np.array(
        [[0.1, 0.1, 0.1, 0.6, 0.1], [0.1, 0.1, 0.1, 0.1, 0.6], [0.8, 0.05, 0.05, 0.05, 0.05]]
    )
    assert viterbi(np.log(probs), TAGS) == [3, 4, 0]
    assert viterbi(np.zeros((0, 5)), TAGS) == []


def test_align_decode_bio_spans_and_confidence():
    words = [(0, 5), (6, 10), (11, 15), (16, 20)]
    spans = decode_bio(words, [3, 4, 0, 1], TAGS, [0.9, 0.7, 1.0, 0.5])
    assert [(s.label, s.start, s.end) for s in spans] == [("Drug", 0, 10), ("AE", 16, 20)]
    assert spans[0].confidence == pytest.approx(0.8)


def test_align_decode_bio_stray_inside_tag_opens_a_span():
    spans = decode_bio([(0, 1), (2, 3)], [2, 4], TAGS)
    assert [(s.label, s.start, s.end) for s in spans] == [("AE", 0, 1), ("Drug", 2, 3)]


def test_align_windows_cover_everything_with_overlap():
    assert windows(10, 20, 5) == [(0, 10)]
    spans = windows(1000, 254, 64)
    assert spans[0][0] == 0 and spans[-1][1] == 1000
    assert all(e - s <= 254 for s, e in spans)
    assert all(b[0] < a[1] for a, b in zip(spans, spans[1:], strict=False))
    owner = window_owner(1000, spans)
    # each token is read from a window that contains it
    assert all(spans[w][0] <= t < spans[w][1] for t, w in enumerate(owner))
    with pytest.raises(ValueError):
        windows(10, 4, 4)
