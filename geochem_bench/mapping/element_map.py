"""What one element's map is: its file, the method, and the cross-validation it rests on."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from geochem_bench.board.aggregation import TaskScore
from geochem_bench.mapping.selection import MethodChoice


@dataclass(frozen=True)
class ElementMap:
    """One element's map and what it rests on.

    Attributes:
        element: the element symbol (survey column).
        unit: its unit.
        analysis_space: ``log10`` or ``linear``: the space of the std band and of the scores.
        task_id: the task the map is made on (``choice.task_id`` is the one it was
            cross-validated on: the same for samples, the Wald task for a lowres grid).
        method: the submission name mapped with.
        version: its version.
        path: the COG.
        has_std: whether band 2 (predictive std) is present.
        choice: the cross-validated scores of every method run on the task, best first, and
            why the method was chosen.
        n_samples: samples the final fit used (all of the survey's for the element).
        accuracy_note: what the cross-validated accuracy measures.
        from_grid: whether the map downscales the survey's lowres grid (else its samples).
        streamed: whether it was predicted tile by tile.
    """

    element: str
    unit: str
    analysis_space: str
    task_id: str
    method: str
    version: str
    path: Path
    has_std: bool
    choice: MethodChoice
    n_samples: int
    accuracy_note: str = ""
    from_grid: bool = False
    streamed: bool = False

    @property
    def score(self) -> TaskScore | None:
        """The mapped method's cross-validated score (its version's)."""
        return next(
            (
                s
                for s in self.choice.scores
                if (s.submission, s.version) == (self.method, self.version)
            ),
            None,
        )
