"""Small helpers shared across mmffnet's layers."""
from typing import Iterable


def abbreviate(items: Iterable, limit: int = 5) -> str:
    """``'a, b, c, ... (+N more)'``: at most ``limit`` items of a list,
    for error messages that must stay one readable line."""
    items = [str(i) for i in items]
    more = f', ... (+{len(items) - limit} more)' if len(items) > limit else ''
    return ', '.join(items[:limit]) + more
