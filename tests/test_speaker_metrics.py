"""DER with a collar, speaker mapping and word accuracy, on cases worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from podgrep.speakers.metrics import best_mapping, der, word_accuracy


def test_perfect_hypothesis_with_other_labels_scores_zero():
    ref = [("Ann", 0.0, 10.0), ("Bob", 10.0, 20.0), ("Ann", 20.0, 25.0)]
    hyp = [("S2", 0.0, 10.0), ("S1", 10.0, 20.0), ("S2", 20.0, 25.0)]
    result = der(ref, hyp)
    assert result.der == 0.0
    assert result.mapping == {"S2": "Ann", "S1": "Bob"}


def test_confusion_without_and_with_collar():
    ref = [("A", 0.0, 10.0), ("B", 10.0, 20.0)]
    hyp = [("X", 0.0, 15.0), ("Y", 15.0, 20.0)]
    plain = der(ref, hyp, collar=0.0)
    assert plain.confusion == pytest.approx(5.0)
    assert plain.der == pytest.approx(0.25)
    # ±0.25 s around 0, 10 and 20 is not scored: 19 s of speech, 4.75 s of it confused
    collared = der(ref, hyp, collar=0.25)
    assert collared.speech == pytest.approx(19.0)
    assert collared.confusion == pytest.approx(4.75)
    assert collared.der == pytest.approx(4.75 / 19.0)


def test_missed_speech_false_alarm_and_overlap():
    ref = [("A", 0.0, 10.0), ("B", 5.0, 10.0)]  # B talks over A for 5 s
    hyp = [("S1", 0.0, 10.0), ("S1", 12.0, 14.0)]  # one voice, plus 2 s of nobody
    result = der(ref, hyp, collar=0.0)
    assert result.missed == pytest.approx(5.0)
    assert result.false_alarm == pytest.approx(2.0)
    assert result.confusion == pytest.approx(0.0)
    assert result.der == pytest.approx(7.0 / 15.0)


def test_mapping_is_optimal_where_greedy_is_not():
    overlap = np.array([[10.0, 9.0, 0.0], [9.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    # greedy would pair row 0 with column 0 (10) and leave row 1 with nothing: 11 in all
    assert best_mapping(overlap) == {0: 1, 1: 0, 2: 2}  # 9 + 9 + 1 = 19


def test_more_hypothesis_speakers_than_reference():
    ref = [("A", 0.0, 10.0)]
    hyp = [("S1", 0.0, 6.0), ("S2", 6.0, 10.0)]
    result = der(ref, hyp, collar=0.0)
    assert result.mapping == {"S1": "A"}
    assert result.confusion == pytest.approx(4.0)


def test_word_accuracy_by_turn_holding_the_word():
    ref = [("A", 0.0, 5.0), ("B", 5.5, 9.0), ("A", 8.5, 12.0)]
    words = [
        (1.0, 1.4, "S1"),
        (5.6, 6.0, "S2"),
        (8.6, 8.9, "S1"),  # overlap of B and A: right for either
        (5.3, 5.45, "S2"),  # in the gap, nearer the start of B's turn
        (10.0, 10.5, "S2"),  # wrong
    ]
    share, n = word_accuracy(ref, words, {"S1": "A", "S2": "B"})
    assert n == 5
    assert share == pytest.approx(4 / 5)
