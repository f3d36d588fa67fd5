"""A fixture-backed `Context`: people, representatives with consent scopes, cases, a clock.

Used by conversation tests and `caseline chat`, so flows run without a database. Disclosure is
decided here in one method, `allowed_fields`, as the real context must do.
"""

from __future__ import annotations

import copy
import hashlib
from datetime import datetime, time
from zoneinfo import ZoneInfo

from .context import EffectActions, Identity, Needs, PinResult, ServiceInfo, Verified
from .demo_data import DEMO
from .disclosure import BASIC_FIELDS, CASE_FIELDS, fields_for_scopes

PIN_ATTEMPTS = 5  # failed checks (PIN or reference) per number before the lock


def _token(pin: str) -> str:
    return "fake-pin:" + hashlib.sha256(pin.encode()).hexdigest()[:16]


class FakeContext(EffectActions):
    """One conversation's view of the fixture. Keeps PIN attempts across turns."""

    def __init__(self, fixture: dict | None = None, *, caller_number: str | None = None,
                 channel: str = "sms", now: datetime | str | None = None,
                 language: str | None = None, needs: Needs | None = None,
                 recipient: str | None = None):
        self.data = copy.deepcopy(fixture if fixture is not None else DEMO)
        self.channel = channel
        self.caller_number = caller_number
        self.recipient_id = recipient  # outbound: the person or representative we contacted
        raw_now = now or self.data.get("now", "2025-12-08T10:30:00+00:00")
        self.now = datetime.fromisoformat(raw_now) if isinstance(raw_now, str) else raw_now
        self.attempts: dict[str, int] = {}
        self.calls: list[tuple[str, tuple]] = []
        # As on the line: the number alone never chooses the language, whom we contacted may.
        self.language = language or (self._preference("language", "en") if recipient else "en")
        if needs is None:
            needs = Needs(extra_time=bool(self._preference("extra_time", False)),
                          relay=bool(self._preference("relay", False)),
                          speech_rate=int(self._preference("speech_rate", 100)))
        self.needs = needs

    # ---- who is calling ------------------------------------------------------------------
    def _records(self):
        for pid, p in self.data.get("people", {}).items():
            yield pid, "person", p, p.get("numbers", [])
        for rid, r in self.data.get("representatives", {}).items():
            yield rid, "representative", r, [r["number"]]

    def _candidates(self) -> tuple[str, ...]:
        if self.recipient_id:
            return (self.recipient_id,)
        if not self.caller_number:
            return ()
        return tuple(rid for rid, _k, _r, nums in self._records() if self.caller_number in nums)

    def _preference(self, key: str, default):
        """Needs and language of everyone at this number, when they all agree."""
        records = {rid: rec for rid, _k, rec, _n in self._records()}
        values = {records[c].get(key, default) for c in self._candidates() if c in records}
        return values.pop() if len(values) == 1 else default

    def identify_caller(self) -> Identity:
        self.calls.append(("identify_caller", ()))
        number = self.caller_number
        return Identity(number=number, candidates=self._candidates(),
                        number_is_mobile=bool(number and number.startswith("+447")),
                        opted_out=number in self.data.get("opted_out", []))

    def recipient(self) -> Verified | None:
        return self._verified(self.recipient_id) if self.recipient_id else None

    def _verified(self, rid: str) -> Verified:
        for xid, kind, rec, nums in self._records():
            if xid == rid:
                person = rec if kind == "person" else self.data["people"][rec["of"]]
                mobile = next((n for n in nums if n.startswith("+447")), None)
                if kind == "person" and person.get("discreet"):
                    mobile = None
                return Verified(id=rid, kind=kind, first_name=rec["first_name"],
                                case_id=person.get("case"), relationship=rec.get("relationship",
                                                                                 ""),
                                callback_number=nums[0] if nums else None, text_number=mobile,
                                about=person["first_name"],
                                language=rec.get("language", "en") if kind == "person" else "en")
        raise KeyError(rid)

    def _check(self, keys: list[str], candidates, token: str | None) -> PinResult:
        """Count failures per calling number and per reference; lock either at the limit.

        A PIN that fits records for several cases (a son who represents both parents, with one
        PIN) verifies nobody yet: the result carries one choice per case, in fixture order.
        """
        if any(self.attempts.get(k, 0) >= PIN_ATTEMPTS for k in keys):
            return PinResult(ok=False, locked=True, token=token)
        matches: dict[str | None, Verified] = {}  # the first record per case
        for rid, _kind, rec, _nums in self._records():
            if rid in candidates and token and _token(str(rec.get("pin", ""))) == token:
                who = self._verified(rid)
                matches.setdefault(who.case_id, who)
        if matches:
            for k in keys:
                self.attempts[k] = 0
            found = tuple(matches.values())
            if len(found) == 1:
                return PinResult(ok=True, who=found[0], token=token)
            return PinResult(ok=True, token=token, choices=found)
        for k in keys:
            self.attempts[k] = self.attempts.get(k, 0) + 1
        locked = any(self.attempts[k] >= PIN_ATTEMPTS for k in keys)
        return PinResult(ok=False, locked=locked, token=token)

    def check_pin(self, identity: Identity, pin: str) -> PinResult:
        self.calls.append(("check_pin", ()))
        return self._check([self.caller_number or "withheld"], identity.candidates, _token(pin))

    def check_reference(self, reference: str, token: str | None) -> PinResult:
        self.calls.append(("check_reference", (reference,)))
        case_id = next((cid for cid, c in self.data["cases"].items()
                        if c["reference"] == reference), None)
        candidates = ()
        if case_id:
            person = self.data["cases"][case_id]["person"]
            candidates = (person,) + tuple(rid for rid, r in self.data["representatives"].items()
                                           if r["of"] == person)
        return self._check([self.caller_number or "withheld", f"ref:{reference}"], candidates,
                           token)

    # ---- what may be told ------------------------------------------------------------------
    def allowed_fields(self, who: Verified, channel: str) -> frozenset[str]:
        """The one place that decides disclosure for the fake, as the real context must."""
        self.calls.append(("allowed_fields", (who.id, channel)))
        case = self.data["cases"].get(who.case_id or "", {})
        if not case or case.get("withheld"):
            return BASIC_FIELDS
        if who.kind == "person":
            person = self.data["people"][who.id]
            if channel == "sms" and person.get("discreet"):
                return BASIC_FIELDS
            return CASE_FIELDS
        return fields_for_scopes(self.data["representatives"][who.id].get("scopes", []))

    def load_case(self, who: Verified) -> dict | None:
        case = self.data["cases"].get(who.case_id or "")
        if not case:
            return None
        worker = self.data["workers"][case["worker"]]
        cover = self.data["workers"].get(worker.get("cover", ""), {})
        return {
            "person_first_name": self.data["people"][case["person"]]["first_name"],
            "withheld": bool(case.get("withheld")),
            "closed": bool(case.get("closed_on")),
            "stage": case.get("stage", "enquiry"),
            "latest_news": case.get("latest_news", ""),
            "news_date": case.get("news_date"),
            "worker_name": worker["name"], "worker_number": worker["number"],
            "worker_away": bool(worker.get("away")),
            "worker_back": worker.get("back") if worker.get("away") else None,
            "cover_name": cover.get("name"), "cover_number": cover.get("number"),
            "next_contact": case.get("next_contact"),
            "closed_on": case.get("closed_on"), "outcome_words": case.get("outcome_words", ""),
        }

    def last_contact(self, who: Verified) -> dict | None:
        """From the record's optional `last_contact` entry: {kind, on, passed_to}."""
        self.calls.append(("last_contact", (who.id,)))
        for rid, _kind, rec, _nums in self._records():
            if rid == who.id:
                entry = rec.get("last_contact")
                return dict(entry) if entry else None
        return None

    def service(self, who: Verified | None = None) -> ServiceInfo:
        s = self.data["service"]
        local = self.now.astimezone(ZoneInfo(self.data.get("timezone", "Europe/London")))
        open_now = (local.weekday() in s.get("open_days", [0, 1, 2, 3, 4])
                    and time.fromisoformat(s.get("opens", "09:00")) <= local.time()
                    < time.fromisoformat(s.get("closes", "17:00")))
        return ServiceInfo(name=s["name"], line_number=s["line_number"],
                           duty_number=s["duty_number"],
                           out_of_hours_number=s["out_of_hours_number"],
                           office_hours=s.get("office_hours", ""), office_open=open_now,
                           today=local.date().isoformat(),
                           in_language={k: v for k, v in s.items() if k in ("cy",)})

    # ---- for tests: a person's number by fixture key -------------------------------------
    @staticmethod
    def number_of(fixture: dict, key: str) -> str | None:
        if key in fixture.get("people", {}):
            return fixture["people"][key]["numbers"][0]
        if key in fixture.get("representatives", {}):
            return fixture["representatives"][key]["number"]
        return None
