"""`caseline import FILE`: teams, workers, people, representatives and cases from YAML or CSV."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

from ..db import session_scope
from .checks import check_records
from .erased import without_erased
from .kinds import KINDS
from .lookups import check_references
from .report import ImportFailed, ImportReport, KindCounts, Problems
from .sources import read
from .values import DAYS
from .writers import Applier, apply

__all__ = ["DAYS", "KINDS", "ImportFailed", "ImportReport", "KindCounts", "import_file"]


def import_file(path: Path | str, engine, *, pin_key: str, kind: str | None = None,
                progress: Callable[[int, int], None] | None = None, actor: str = "import",
                timezone: str = "Europe/London", strict: bool = False) -> ImportReport:
    """Check a YAML or CSV file completely, then import it in one transaction.

    A field changed here that the file also changed is a conflict: it is left as it is
    here and listed in the report while the rest applies; `strict` imports nothing then.
    """
    # Every problem is found before anything is written, so a file with any problem imports
    # nothing; records match on `ref`, so importing a file again writes only what changed.
    file = str(path)
    problems = Problems(file)
    records = read(Path(path), kind, problems)
    rows = check_records(records, problems, pin_key=pin_key, tz=ZoneInfo(timezone))
    with session_scope(engine) as session:
        rows, skipped = without_erased(session, rows, pin_key)
        check_references(session, records, rows, problems)
        if problems:
            raise ImportFailed(problems.sorted())
        applier = Applier(session, ImportReport(file), file_name=Path(file).name,
                          actor=actor, progress=progress, total=len(rows))
        applier.report.skipped = [(line, f"{file}:{line}: {why}") for line, why in skipped]
        report = apply(session, rows, applier)
        if strict and report.conflicts:
            raise ImportFailed(report.conflict_lines)  # rolls the whole import back
        return report
