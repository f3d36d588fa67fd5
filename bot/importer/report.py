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

    @property
    def changed(self) -> bool:
        return any(c.created or c.updated for c in self.counts.values())

    def summary(self) -> str:
        """One line: what was created, updated and unchanged, per kind in the file."""
        parts = [f"{kind}: {c.created} created, {c.updated} updated, {c.unchanged} unchanged"
                 for kind, c in self.counts.items() if c.total]
        return "; ".join(parts) or "nothing to import"


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
