"""Problems found in flow files, each phrased for the person who has to fix it."""

from __future__ import annotations

from dataclasses import dataclass

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class FlowError:
    """One problem: where it is, what is wrong, and how to fix it."""

    file: str
    line: int
    message: str
    fix: str
    flow: str | None = None
    step: str | None = None
    severity: str = ERROR
    code: str = ""

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def __str__(self) -> str:
        where = ""
        if self.flow:
            where = f"flow '{self.flow}' "
            if self.step:
                where += f"step '{self.step}' "
            where = where.rstrip() + ": "
        text = f"{self.file}:{self.line}: {where}{self.message.rstrip('.')}. {self.fix}"
        return text if self.severity == ERROR else f"{text} (warning)"


class FlowLoadError(Exception):
    """Raised by `FlowSet.raise_for_errors` when flows cannot be used."""

    def __init__(self, errors: list[FlowError]):
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


class NotDisclosed(Exception):
    """A template tried to show a case field the caller may not be told."""

    def __init__(self, field: str):
        self.field = field
        super().__init__(f"field '{field}' may not be disclosed to this caller")
