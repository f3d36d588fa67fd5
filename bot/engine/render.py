"""Turn replies into a text message body, or into plain words showing what a call would say.

TwiML belongs to the webhooks; they read the same replies (Say, Pause, Expect).
"""

from __future__ import annotations

from .forms import display_number, spoken_number
from .io import Expect, Pause, Say
from .sms import cost, gsm_safe


def say_text(say: Say, channel: str = "sms") -> str:
    show = display_number if channel == "sms" else spoken_number
    return "".join(s.text if not s.number else show(s.number) for s in say.segments)


def render_text(replies, *, gsm: bool = True) -> str:
    """One text message body: sentences joined, menu choices on their own lines."""
    lines: list[str] = []
    for reply in replies:
        if not isinstance(reply, Say):
            continue
        text = say_text(reply, "sms").strip()
        if not text:
            continue
        if reply.new_line or not lines:
            lines.append(text)
        else:
            lines[-1] = f"{lines[-1]} {text}"
    body = "\n".join(lines)
    return gsm_safe(body) if gsm else body


def sms_messages(replies, max_parts: int = 2, ucs2: bool = False) -> list[str]:
    """Split a turn into as few texts as possible, each within `max_parts` parts.

    A step's words (a question and its choices) stay in one text when they fit; otherwise
    sentences stay whole and in order. The lint checks every sentence fits on its own, and
    costs Welsh as UCS-2 (`ucs2`) whether or not these words carry an accent.
    """
    blocks: list[list[Say]] = []
    for reply in replies:
        if isinstance(reply, Say) and say_text(reply).strip():
            if blocks and blocks[-1][-1].step == reply.step:
                blocks[-1].append(reply)
            else:
                blocks.append([reply])
    units: list[list[Say]] = []
    for block in blocks:
        fits = cost(render_text(block), ucs2).parts <= max_parts
        units += [block] if fits else [[say] for say in block]
    messages: list[list[Say]] = []
    for unit in units:
        if messages and cost(render_text(messages[-1] + unit), ucs2).parts <= max_parts:
            messages[-1] += unit
        else:
            messages.append(list(unit))
    return [render_text(m) for m in messages]


def render_voice(replies) -> str:
    """What a call would say, for the terminal: pauses and the wait for an answer shown.

    The sentences of one step share a line: each is said on its own with a short pause
    after it, which the transcript leaves implied."""
    out: list[str] = []
    rate_shown = False
    last_say, pending = None, None
    for reply in replies:
        if isinstance(reply, Say):
            if reply.rate < 100 and not rate_shown:
                out.append(f"[speaking at {reply.rate}%]")
                rate_shown = True
            text = say_text(reply, "voice")
            same_step = last_say is not None and last_say.step == reply.step and out \
                and pending is not None and pending.seconds < 1
            if same_step and out[-1] == f"[pause {pending.seconds:g}s]":
                out.pop()
                out[-1] = f"{out[-1]} {text}"
            else:
                out.append(text)
            last_say, pending = reply, None
        elif isinstance(reply, Pause):
            out.append(f"[pause {reply.seconds:g}s]")
            pending = reply
        elif isinstance(reply, Expect):
            out.append(describe_expect(reply))
    return "\n".join(out)


def describe_expect(expect: Expect) -> str:
    if expect.record:
        return f"[recording a message, up to {expect.max_seconds}s]"
    how = " or ".join(x for x, on in (("keypad", expect.keypad), ("speech", expect.speech)) if on)
    keys = f"; keys {' '.join(expect.keys)}" if expect.keys else ""
    digits = f"; {expect.num_digits} digits" if expect.num_digits else ""
    return (f"[waiting {expect.timeout}s for {how}{digits}{keys}; speech ends after "
            f"{expect.speech_end}s quiet; {expect.locale}]")
