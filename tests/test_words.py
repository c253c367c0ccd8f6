"""Counts and lists in messages."""

from biofeedback._words import listed


def test_a_long_list_shows_its_first_names_and_how_many_more():
    assert listed([]) == ""
    assert listed(["a", "b"], 2) == "a, b"
    assert listed(["a", "b", "c"], 2) == "a, b and 1 more"
    assert listed(range(100_000)) == "0, 1, 2, 3, 4, 5, 6, 7, 8, 9 and 99990 more"
    assert listed("xyz", 1, sep=" + ") == "x and 2 more"

