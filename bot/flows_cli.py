"""`caseline flows check|test` and `caseline chat`: try flows without a phone or Twilio.

Registered on the main CLI with `cli.add_command(flows)` and `cli.add_command(chat)`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from bot.engine import Input, advance, load_flows, render_voice, sms_messages
from bot.engine.convtest import format_result, load_tests, run_test
from bot.engine.demo_data import DEMO
from bot.engine.fake import FakeContext
from bot.engine.forms import e164
from bot.engine.lint import lint


def default_flows_dir() -> Path:
    """FLOWS_DIR if set, else the repository's flows/ directory."""
    return Path(os.environ.get("FLOWS_DIR") or Path(__file__).resolve().parent.parent / "flows")


def _dir(directory: str | None) -> Path:
    return Path(directory) if directory else default_flows_dir()


@click.group()
def flows() -> None:
    """Check and test the conversation flows."""


@flows.command("check")
@click.argument("directory", required=False, type=click.Path(file_okay=False))
def check(directory: str | None) -> None:
    """Validate and lint flows; show each text's cost and each flow's reading grade."""
    fs = load_flows(_dir(directory))
    report = lint(fs) if fs.commands is not None or fs.flows else None
    problems = fs.errors + (report.problems if report else [])
    for problem in problems:
        click.echo(str(problem), err=problem.is_error)
    if report:
        click.echo(sms_table(report))
        click.echo(grade_table(report))
    errors = sum(p.is_error for p in problems)
    warnings = len(problems) - errors
    click.echo(f"{len(fs.flows)} flows, {errors} errors, {warnings} warnings.")
    if errors:
        sys.exit(1)


def sms_table(report) -> str:
    rows = [("flow", "step", "lang", "chars", "encoding", "texts", "parts", "budget", "")]
    for r in report.sms:
        rows.append((r.flow, r.step, r.language, str(r.chars), r.encoding, str(r.texts),
                     str(r.parts), str(r.budget), "ok" if r.ok else "OVER"))
    return "\nTexts (longest realistic values; parts = most parts any one text takes)\n" + \
        _table(rows)


def grade_table(report) -> str:
    rows = [("flow", "grade", "words", "sentences", "longest sentence")]
    for g in report.grades:
        rows.append((g.flow, f"{g.grade:.1f}", str(g.words), str(g.sentences), str(g.longest)))
    return "\nReading grade (Flesch-Kincaid, English)\n" + _table(rows)


def _table(rows) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                     for r in rows)


@flows.command("test")
@click.argument("directory", required=False, type=click.Path(file_okay=False))
def test(directory: str | None) -> None:
    """Run the conversation tests in DIR/tests/*.yaml; show the transcript of any failure."""
    base = _dir(directory)
    fs = load_flows(base)
    if not fs.ok:
        for problem in fs.errors:
            click.echo(str(problem), err=True)
        sys.exit(1)
    failed = 0
    cases = load_tests(base / "tests")
    for file, fixture, case in cases:
        result = run_test(fs, case, fixture, os.path.relpath(file, base.parent))
        if result.passed:
            click.echo(f"ok   {result.name}")
        else:
            failed += 1
            click.echo(format_result(result))
    click.echo(f"{len(cases) - failed} passed, {failed} failed.")
    if failed:
        sys.exit(1)


class LocalLine:
    """The turn loop against flows in this process; a later version talks to the webhooks."""

    def __init__(self, flowset, flow: str, ctx):
        self.flow, self.ctx, self.state = flowset[flow], ctx, None

    def send(self, inp: Input):
        self.state, replies, effects = advance(self.flow, self.state, inp, self.ctx)
        return replies, effects, self.state.ended


@click.command()
@click.option("--voice", is_flag=True, help="Be a phone call: show what would be spoken.")
@click.option("--from", "number", default=DEMO["representatives"]["ann"]["number"],
              show_default=True, help="The number you call or text from.")
@click.option("--flow", "flow_name", default="welcome", show_default=True,
              help="The flow to run (checkin, closure_notice, feedback start as if we called).")
@click.option("--dir", "directory", default=None, help="The flows directory.")
def chat(voice: bool, number: str, flow_name: str, directory: str | None) -> None:
    """A terminal phone: text or call the line, using the demo people and cases.

    On a call, type digits to press keys, words to speak, '?words' for speech heard unclearly,
    'dial: no-answer' for the person's line not answering, and nothing (Enter) for silence.
    Type 'quit' to hang up. Demo PINs: Ann 1357 (07700 900123), Rose 4821 (0113 496 0201).
    """
    fs = load_flows(_dir(directory)).raise_for_errors()
    number = e164(number)
    channel = "voice" if voice else "sms"
    outbound = fs[flow_name].kind == "outbound"
    recipient = _person_at(number) if outbound else None
    ctx = FakeContext(DEMO, caller_number=number, channel=channel, recipient=recipient)
    line = LocalLine(fs, flow_name, ctx)
    click.echo(f"[{'calling' if voice else 'texting'} the line from {number}; 'quit' to stop]")
    if voice or outbound:
        _show(line.send(Input.start()), voice)
    while True:
        try:
            typed = input("you> ")
        except EOFError:
            break
        if not sys.stdin.isatty():
            click.echo(typed or "(silence)" if voice else typed)  # show scripted input
        if typed.strip().lower() == "quit":
            break
        reply = line.send(_input(typed, voice))
        _show(reply, voice)
        if reply[2] and voice:
            click.echo("[the call has ended]")
            break


def _person_at(number: str) -> str | None:
    ctx = FakeContext(DEMO, caller_number=number)
    candidates = ctx.identify_caller().candidates
    return candidates[0] if candidates else None


def _input(typed: str, voice: bool) -> Input:
    text = typed.strip()
    if not voice:
        return Input.sms(typed)
    if not text:
        return Input.silence()
    if all(c in "0123456789*#" for c in text):
        return Input.digits(text)
    if text.startswith("dial:"):
        return Input.dial(text[5:].strip())
    if text.startswith("?"):
        return Input.speech(text[1:].strip(), 0.3)  # heard, but not clearly
    return Input.speech(text, 0.9)


def _show(reply, voice: bool) -> None:
    replies, effects, _ended = reply
    if voice:
        for line in render_voice(replies).splitlines():
            click.echo(f"line> {line}")
    else:
        for body in sms_messages(replies):
            click.echo("line> " + body.replace("\n", "\n      "))
    for effect in effects:
        click.echo(f"      [{effect.kind}: {_brief(effect)}]")


def _brief(effect) -> str:
    data = effect.to_dict()
    data.pop("kind")
    return ", ".join(f"{k}={v}" for k, v in data.items() if v not in (None, "", (), 0))
