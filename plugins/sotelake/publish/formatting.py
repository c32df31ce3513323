"""Numbers as Finnish and Swedish readers expect them: 1 234,5."""

from __future__ import annotations


def number(value, decimals: int = 1) -> str:
    """Narrow no-break space between thousands, decimal comma; None (withheld) as a dash."""
    if value is None:
        return "–"
    return f"{value:,.{decimals}f}".replace(",", "\u202f").replace(".", ",")
