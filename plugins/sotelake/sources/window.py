"""The window of one load: what a reader takes from its source. The lake records the windows
of the loads (lake.state), from which the next load's window is computed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class Window:
    """What one load takes: rows in [lower, upper) of the watermark column; None = unbounded."""

    lower: datetime | None = None
    upper: datetime | None = None
    files: dict[str, dict] = field(default_factory=dict)  # file name -> file_signature()
    # whether the load brought something new: a file taken, rows in the window, a full
    # table read (lake/freshness.py); None before the load has run
    delivered: bool | None = None

    def to_json(self) -> dict:
        return {
            "lower": self.lower.isoformat() if self.lower else None,
            "upper": self.upper.isoformat() if self.upper else None,
            "files": self.files,
            "delivered": self.delivered,
        }
