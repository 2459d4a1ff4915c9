import numpy as np
import pytest

from clinnlp.modeling.align import (
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


def _brute_force_best(log_probs: np.ndarray, tags: list[str]) -> tuple[float, list[int]]:
    """The highest-scoring BIO-legal path by enumerating every path (small cases only)."""
    import itertools

    best = (-np.inf, [])
    for path in itertools.product(range(len(tags)), repeat=len(log_probs)):
        names = ["O", *(tags[i] for i in path)]
        if all(allowed(a, b) for a, b in zip(names, names[1:], strict=False)):
            score = float(sum(log_probs[t, i] for t, i in enumerate(path)))
            if score > best[0]:
                best = (score, list(path))
    return best


def allowed(prev: str, tag: str) -> bool:
    return not tag.startswith("I-") or (prev != "O" and prev[2:] == tag[2:])


def test_align_viterbi_beats_greedy_on_a_hand_computed_case():
    """Word 1 prefers O (0.55) over B-Drug (0.45); word 2 is I-Drug at 0.9. Greedy left to
    right takes O, then cannot take I-Drug: O,O scores 0.55 * 0.04 = 0.022. The best legal
    path is B-Drug, I-Drug: 0.45 * 0.9 = 0.405."""
    probs = np.array(
        [
            [0.55, 0.0, 0.0, 0.45, 0.0],
            [0.04, 0.02, 0.02, 0.02, 0.90],
        ]
    )
    log_probs = np.log(probs + 1e-12)
    assert [TAGS[i] for i in viterbi(log_probs, TAGS)] == ["B-Drug", "I-Drug"]


def test_align_viterbi_is_optimal_on_random_cases():
    rng = np.random.default_rng(7)
    for _ in range(200):
        n = int(rng.integers(1, 6))
        log_probs = np.log(rng.dirichlet(np.ones(len(TAGS)) * 0.3, size=n) + 1e-9)
        best_score, _ = _brute_force_best(log_probs, TAGS)
        path = viterbi(log_probs, TAGS)
        names = ["O", *(TAGS[i] for i in path)]
        assert all(allowed(a, b) for a, b in zip(names, names[1:], strict=False))
        assert float(sum(log_probs[t, i] for t, i in enumerate(path))) == pytest.approx(best_score)


def test_align_window_owner_is_the_most_central_window():
    spans = [(0, 10), (6, 16), (10, 20)]
    owner = window_owner(20, spans)
    # token 8: 1 from the end of window 0, 2 from the start of window 1 -> window 1
    assert owner[8] == 1
    # token 13: window 1 margin min(7, 2) = 2, window 2 margin min(3, 6) = 3 -> window 2
    assert owner[13] == 2
    assert owner[:6] == [0] * 6 and owner[16:] == [2] * 4
    for size, stride, n in ((10, 4, 37), (254, 64, 1000), (7, 3, 23)):
        plan = windows(n, size, stride)
        got = window_owner(n, plan)
        for t in range(n):
            margins = [min(t - s, e - 1 - t) for s, e in plan if s <= t < e]
            s, e = plan[got[t]]
            assert s <= t < e and min(t - s, e - 1 - t) == max(margins), (size, n, t)


def test_align_viterbi_extends_a_span_back_where_argmax_leaves_it_broken():
    """Second case of constrained decoding: "O, I-Drug" (argmax) is illegal; the best legal
    path opens the span on the first word (B-Drug, I-Drug) rather than dropping the second."""
    probs = np.array(
        [
            [0.5, 0.025, 0.025, 0.425, 0.025],  # O a little over B-Drug
            [0.025, 0.025, 0.025, 0.025, 0.9],  # I-Drug by far
        ]
    )
    assert probs.argmax(axis=1).tolist() == [0, 4]
    assert viterbi(np.log(probs), TAGS) == [3, 4]
