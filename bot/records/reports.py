"""The Making Safeguarding Personal report: the worker's SG4a record and the person's view.

For cases closed in a period: how many were asked about the outcomes they wanted, how many
outcomes were achieved, the risk at closure (the national categories, exactly), and beside
them what people told the line themselves in the feedback questions.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, select

from bot.models import Case, FeedbackAnswer, MspAchieved, MspAsked, RiskResult, Stage


@dataclass
class MspReport:
    start: datetime
    end: datetime
    closed: int = 0
    asked: Counter = field(default_factory=Counter)
    achieved: Counter = field(default_factory=Counter)
    risk: Counter = field(default_factory=Counter)
    their_view: Counter = field(default_factory=Counter)  # (question, answer) -> count

    def lines(self) -> list[str]:
        out = [f"Cases closed from {self.start:%d %B %Y} to {self.end:%d %B %Y}: {self.closed}",
               "", "Were they asked what outcomes they wanted (SG4a)?"]
        out += [f"  {value:<52} {self.asked[value]:>5}" for value in _values(MspAsked)]
        out += ["", "Of those who said, were the outcomes achieved (SG4a)?"]
        out += [f"  {value:<52} {self.achieved[value]:>5}" for value in _values(MspAchieved)]
        out += ["", "Risk at closure:"]
        out += [f"  {value:<52} {self.risk[value]:>5}" for value in _values(RiskResult)]
        out += ["", "What people told us themselves (feedback by text or phone):"]
        if not self.their_view:
            out.append("  no answers yet")
        for (question, answer), count in sorted(self.their_view.items()):
            out.append(f"  {question + ': ' + answer:<52} {count:>5}")
        return out


def _values(enum_cls) -> list[str]:
    return [member.value for member in enum_cls]


def msp_report(session: Session, start: datetime, end: datetime) -> MspReport:
    report = MspReport(start=start, end=end)
    cases = session.exec(select(Case).where(Case.stage == Stage.CLOSED, Case.closed_at >= start,
                                            Case.closed_at < end)).all()
    report.closed = len(cases)
    for case in cases:
        report.asked[case.msp_asked.value if case.msp_asked else MspAsked.NOT_RECORDED.value] += 1
        if case.msp_achieved:
            report.achieved[case.msp_achieved.value] += 1
        if case.risk_result:
            report.risk[case.risk_result.value] += 1
    ids = [case.id for case in cases]
    if ids:
        for answer in session.exec(select(FeedbackAnswer).where(FeedbackAnswer.case_id.in_(ids))):
            report.their_view[(answer.question, answer.answer)] += 1
    return report
