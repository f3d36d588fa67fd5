"""How far a translation can be trusted: machine-checked, or read by a native speaker.

Every file that offers a language other than English says so in a `review:` field:

    review:
      cy: machine-checked

until a Welsh speaker has read every Welsh text in it; then

    review:
      cy: {by: "Name Surname", on: 2026-12-10, texts: 5f3a9c21}

`texts` is the fingerprint of the file's Welsh that `caseline flows check` prints. Change any
Welsh text afterwards and the fingerprint no longer fits, so the file is listed as unreviewed
again: a review stays attached to the words that were read.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from .model import Commands, Flow, Text

MACHINE_CHECKED = "machine-checked"
LANGUAGE_NAMES = {"en": "English", "cy": "Welsh"}


@dataclass(frozen=True)
class Review:
    """One language's review mark in one file; `by` is None while machine-checked only."""

    language: str
    by: str | None = None
    on: str | None = None
    texts: str | None = None
    line: int = 0


@dataclass(frozen=True)
class ReviewRow:
    file: str
    language: str
    texts: int
    fingerprint: str
    review: Review | None

    @property
    def reviewed(self) -> bool:
        return bool(self.review and self.review.by and self.review.texts == self.fingerprint)

    @property
    def state(self) -> str:
        if self.reviewed:
            return f"reviewed by {self.review.by} on {self.review.on}"
        if self.review and self.review.by:
            return f"changed since {self.review.by} reviewed it on {self.review.on}"
        return MACHINE_CHECKED


def texts_of(owner: Flow | Commands) -> list[Text]:
    """Every text a flow (or commands.yaml) says or sends, in file order."""
    if isinstance(owner, Commands):
        return sorted(owner.messages.values(), key=lambda t: t.line)
    out: list[Text] = []
    for step in owner.steps.values():
        out += [line.text for line in step.say]
        out += [t for t in (step.ask, step.after, step.send_text) if t is not None]
        out += [o.label for o in step.options if o.label is not None]
    return sorted(out, key=lambda t: t.line)


def in_language(texts: list[Text], language: str) -> list[Text]:
    return [t for t in texts if language in t.by_language]


def fingerprint(texts: list[Text], language: str) -> str:
    """Eight hex digits over the words in `language` (not their lines: moving a step keeps
    a review, changing a word does not)."""
    words = [sorted(t.by_language[language].items()) for t in in_language(texts, language)]
    digest = hashlib.sha256(json.dumps(words, ensure_ascii=False).encode()).hexdigest()
    return digest[:8]


def rows(fs) -> list[ReviewRow]:
    """Each file and language other than English: how many texts, and whether reviewed."""
    owners: list[Flow | Commands] = sorted(fs.flows.values(), key=lambda f: f.file)
    if fs.commands is not None:
        owners.append(fs.commands)
    out = []
    for owner in owners:
        texts = texts_of(owner)
        for language, mark in sorted(owner.review.items()):
            out.append(ReviewRow(owner.file, language, len(in_language(texts, language)),
                                 fingerprint(texts, language), mark))
    return out


def table(found: list[ReviewRow]) -> str:
    waiting = [r for r in found if not r.reviewed]
    if not found:
        return ""
    lines = []
    for language in sorted({r.language for r in found}):
        name = LANGUAGE_NAMES.get(language, language)
        mine = [r for r in waiting if r.language == language]
        total = sum(r.texts for r in found if r.language == language)
        lines.append(f"\n{name} ({language}): {sum(r.texts for r in mine)} of {total} texts in "
                     f"{len(mine)} files not yet reviewed by a {name} speaker")
        if mine:
            width = max(len(r.file) for r in mine)
            lines += [f"  {r.file.ljust(width)}  {r.texts:>3} texts  texts: {r.fingerprint}  "
                      f"{r.state}" for r in mine]
            lines.append(f"  Once a {name} speaker has read a file: review: {{{language}: "
                         "{by: NAME, on: DATE, texts: <the fingerprint above>}}. "
                         f"`caseline flows review {language}` lists every text beside its "
                         "English.")
    return "\n".join(lines)


def worksheet(fs, language: str, only_unreviewed: bool = True) -> str:
    """Every text in `language` beside its English, file by file, for a reviewer."""
    by_file = {r.file: r for r in rows(fs) if r.language == language}
    owners = sorted(fs.flows.values(), key=lambda f: f.file)
    if fs.commands is not None:
        owners.append(fs.commands)
    out = []
    for owner in owners:
        row = by_file.get(owner.file)
        if row is None or (only_unreviewed and row.reviewed):
            continue
        out.append(f"== {owner.file} ({row.state}; texts: {row.fingerprint})")
        for text in in_language(texts_of(owner), language):
            for channel, source in sorted(text.by_language[language].items()):
                english = text.source("en", channel) or ""
                where = "" if channel == "any" else f" [{channel}]"
                out.append(f"{owner.file}:{text.line}{where}\n  en: {english}\n"
                           f"  {language}: {source}")
    return "\n".join(out)
