"""Counts, numbers, lists and sentences in messages."""

from biofeedback._words import agree, counted, fixed, listed, sentence


def test_a_long_list_shows_its_first_names_and_how_many_more():
    assert listed([]) == ""
    assert listed(["a", "b"], 2) == "a, b"
    assert listed(["a", "b", "c"], 2) == "a, b and 1 more"
    assert listed(range(100_000)) == "0, 1, 2, 3, 4, 5, 6, 7, 8, 9 and 99990 more"
    assert listed("xyz", 1, sep=" + ") == "x and 2 more"


def test_a_count_of_one_is_singular():
    assert [counted(n, "gap") for n in (0, 1, 2)] == ["0 gaps", "1 gap", "2 gaps"]
    assert counted(1, "sample", "samples") == "1 sample"
    assert counted(3, "index", "indices") == "3 indices"


def test_a_word_agrees_with_its_count():
    assert [agree(n, "it", "them") for n in (0, 1, 2)] == ["them", "it", "them"]
    assert agree(1, "is", "are") == "is" and agree(5, "is", "are") == "are"


def test_a_number_that_rounds_to_zero_has_no_sign():
    assert [fixed(v) for v in (-0.0002, -0.0, 0.0, -0.0006)] == [
        "0.000", "0.000", "0.000", "-0.001"]
    assert fixed(-0.04, 1) == "0.0" and fixed(-0.05001, 1) == "-0.1"
    assert fixed(float("nan")) == "nan" and fixed(float("-inf")) == "-inf"


def test_a_note_becomes_a_sentence_with_its_words_kept():
    assert sentence("playback: x.csv played by BrainFlow") == (
        "Playback: x.csv played by BrainFlow.")
    assert sentence("the EEG stream's clock") == "The EEG stream's clock."
