"""Counts, numbers, lists and sentences in messages, worded once.

A message names what it counts in the number's grammar ("1 gap", "3 gaps"),
prints a number that rounds to zero as "0.000", never "-0.000", and caps a
list of names a file or stream supplied, so a hand-edited file claiming
100,000 classes gives a sentence, not a megabyte.
"""

from __future__ import annotations

#: The most names a message lists before "and N more".
LISTED = 10


def listed(names, limit: int = LISTED, sep: str = ", ") -> str:
    """``names`` joined by ``sep``: the first ``limit`` and "and N more".

    Examples
    --------
    >>> listed(["a", "b", "c"], 2)
    'a, b and 1 more'
    """
    names = list(names)
    if len(names) <= limit:
        return sep.join(map(str, names))
    return f"{sep.join(map(str, names[:limit]))} and {len(names) - limit} more"


def agree(n: int, one: str, many: str) -> str:
    """``one`` if ``n`` is 1, else ``many``: the word that agrees with a count.

    Examples
    --------
    >>> agree(1, "it", "them"), agree(3, "it", "them"), agree(0, "is", "are")
    ('it', 'them', 'are')
    """
    return one if n == 1 else many


def counted(n: int, word: str, words: str | None = None) -> str:
    """``n`` and ``word``, plural (``words``, or ``word`` + "s") unless ``n`` is 1.

    Examples
    --------
    >>> counted(1, "gap"), counted(3, "gap"), counted(2, "index", "indices")
    ('1 gap', '3 gaps', '2 indices')
    """
    return f"{n} {agree(n, word, words or word + 's')}"


def fixed(value: float, digits: int = 3) -> str:
    """``value`` with ``digits`` decimals, without the sign of a value that rounds to 0.

    Examples
    --------
    >>> fixed(-0.0002), fixed(-0.0006), fixed(2.5, 1)
    ('0.000', '-0.001', '2.5')
    """
    out = f"{value:.{digits}f}"
    return out[1:] if out.startswith("-") and not out.strip("-0.") else out


def sentence(note: str) -> str:
    """A note (a clause as summaries list it) as a sentence: capital first, full stop.

    Examples
    --------
    >>> sentence("the sidecar could not be written")
    'The sidecar could not be written.'
    """
    return f"{note[:1].upper()}{note[1:]}."
