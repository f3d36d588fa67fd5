"""What an import did, and the problems that stop one."""

from __future__ import annotations

from dataclasses import dataclass, field

from .kinds import KINDS


class ImportFailed(Exception):
    """The file has problems and nothing was imported; `errors` lists every one."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__(f"{len(errors)} problem(s), nothing imported:\n" + "\n".join(errors))


@dataclass
class KindCounts:
    """How many records of one kind were created, updated or left unchanged."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


@dataclass
class ImportReport:
    """What an import did, per kind."""

    file: str
    counts: dict[str, KindCounts] = field(
        default_factory=lambda: {kind: KindCounts() for kind in KINDS})
    # Fields both the file and staff here changed, differently: kept as they are here.
    conflicts: list[tuple[int, str]] = field(default_factory=list)  # (line, FILE:LINE: ...)
    kept: int = 0  # fields changed here that the file has not changed: kept, as they should be
    reopened: int = 0  # closed cases the file reopened, with a date
    # Records erased here (or naming an erased person), left out: (line, FILE:LINE: why).
    skipped: list[tuple[int, str]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(c.created or c.updated for c in self.counts.values()) or bool(self.reopened)

    @property
    def conflict_lines(self) -> list[str]:
        return [text for _, text in sorted(self.conflicts, key=lambda item: item[0])]

    def summary(self) -> str:
        """What was created, updated and unchanged, per kind in the file; what was kept."""
        parts = [f"{kind}: {c.created} created, {c.updated} updated, {c.unchanged} unchanged"
                 for kind, c in self.counts.items() if c.total]
        text = "; ".join(parts) or "nothing to import"
        if self.reopened:
            text += f"; {self.reopened} closed case(s) reopened"
        if self.kept:
            text += f"; {self.kept} change(s) made here kept (the file had not changed them)"
        if self.conflicts:
            text += (f"; {len(self.conflicts)} conflict(s) left as they are here"
                     " (listed above)")
        if self.skipped:
            text += f"; {len(self.skipped)} record(s) erased here not imported again (listed above)"
        return text


class Problems:
    """Every problem found, each as `FILE:LINE: message`."""

    def __init__(self, file: str):
        self.file = file
        self.items: list[tuple[int, str]] = []

    def add(self, line: int, message: str) -> None:
        self.items.append((line, f"{self.file}:{line}: {message}"))

    def sorted(self) -> list[str]:
        return [text for _, text in sorted(self.items, key=lambda item: item[0])]

    def __bool__(self) -> bool:
        return bool(self.items)
