"""What every run record shares (see ``core.models.Run``)."""

from __future__ import annotations


class RunProgress:
    """``progress_fraction`` for run models with status, progress_done and progress_total fields."""

    status: str
    progress_done: int
    progress_total: int

    @property
    def progress_fraction(self) -> float:
        if self.status == "succeeded":
            return 1.0
        if not self.progress_total:
            return 0.0
        return min(1.0, self.progress_done / self.progress_total)
