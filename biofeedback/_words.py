"""Counts and lists in messages, worded once.

A message that lists names a file or stream supplied caps the list, so a
hand-edited file claiming 100,000 classes gives a sentence, not a megabyte.
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

