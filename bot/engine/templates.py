"""Sandboxed templates: staff text can never run code, and every placeholder is known at load.

Templates are Jinja in a `SandboxedEnvironment` with `StrictUndefined`. Only the names in
`schema` (plus a flow's saved answers) and the helpers press(), date(), time() and phone() may
be used; attributes must be known fields; nothing else may be called.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import lru_cache

from jinja2 import StrictUndefined, TemplateSyntaxError, nodes
from jinja2.sandbox import SandboxedEnvironment

from . import forms, schema

NUMBER_START, NUMBER_END = "\ue000", "\ue001"
_NUMBER_RE = re.compile(f"{NUMBER_START}([^{NUMBER_END}]*){NUMBER_END}")
SAFE_FILTERS = {"upper", "lower", "capitalize", "title", "trim", "default", "length", "join"}

ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, trim_blocks=True,
                           lstrip_blocks=True)
# Jinja's capitalize lowers the rest ("Anne-marie's"); a sentence start must keep names.
ENV.filters["capitalize"] = lambda value: str(value)[:1].upper() + str(value)[1:]


@dataclass(frozen=True)
class TemplateProblem:
    line_offset: int  # 0 for the template's first line
    message: str
    fix: str


@lru_cache(maxsize=4096)
def compile_template(source: str):
    """Compile once; raises TemplateSyntaxError (checked by the loader first)."""
    return ENV.from_string(source)


@lru_cache(maxsize=4096)
def compile_condition(source: str):
    return ENV.compile_expression(source)


def helpers(language: str, channel: str, today: str | None = None,
            values: dict | None = None) -> dict:
    """The functions templates may call, bound to a language, a channel and today's date
    (so a date that is today, yesterday or tomorrow is said that way)."""
    values = values or {}
    return {
        "the_case": lambda: forms.the_case(values.get("case") or {}, language),
        "press": lambda key: forms.press(key, language, channel),
        "date": lambda value: forms.spoken_date(value, language, today, channel),
        "on": lambda value: forms.on_date(value, language, today, channel),
        "time": lambda value: forms.spoken_time(value, language),
        "phone": lambda number: f"{NUMBER_START}{number}{NUMBER_END}" if number else "",
    }


def render(source: str, values: dict, language: str, channel: str) -> str:
    """Render a template; phone numbers come back wrapped in markers (see `split_numbers`)."""
    today = (values.get("service") or {}).get("today")
    text = compile_template(source).render({**values, **helpers(language, channel, today, values)})
    return " ".join(text.split())


def evaluate(source: str, values: dict, language: str = "en", channel: str = "voice") -> bool:
    """Evaluate a condition such as `may.worker and not case.worker_away`."""
    return bool(compile_condition(source)(**values, **helpers(language, channel)))


def split_numbers(text: str) -> list[tuple[str, str]]:
    """Split rendered text into ('text', s) and ('number', e164) pieces."""
    pieces: list[tuple[str, str]] = []
    pos = 0
    for match in _NUMBER_RE.finditer(text):
        if match.start() > pos:
            pieces.append(("text", text[pos : match.start()]))
        pieces.append(("number", match.group(1)))
        pos = match.end()
    if pos < len(text):
        pieces.append(("text", text[pos:]))
    return pieces


def check(source: str, extra_names: set[str], *, expression: bool = False,
          messages: bool = False) -> list[TemplateProblem]:
    """Parse and check every placeholder; returns problems (empty when the template is sound)."""
    text = "{{ " + source + " }}" if expression else source
    try:
        tree = ENV.parse(text)
        if expression:
            ENV.compile_expression(source)
    except TemplateSyntaxError as exc:
        what = "condition" if expression else "text"
        return [TemplateProblem((exc.lineno or 1) - 1, f"the {what} cannot be read: {exc.message}",
                                "Check the {{ }} and {% %} brackets are closed and spelled right.")]
    values = set(schema.VALUES) | (set(schema.MESSAGE_VALUES) if messages else set())
    known = set(schema.OBJECTS) | values | set(schema.HELPERS) | set(extra_names)
    local = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
    problems: list[TemplateProblem] = []
    for node in tree.find_all((nodes.Name, nodes.Getattr, nodes.Getitem, nodes.Call,
                               nodes.Filter)):
        problem = _check_node(node, known | local, values | set(extra_names))
        if problem:
            problems.append(TemplateProblem((node.lineno or 1) - 1, *problem))
    return _unique(problems)


def _check_node(node, known: set[str], plain: set[str]) -> tuple[str, str] | None:
    if isinstance(node, nodes.Name) and node.ctx == "load" and node.name not in known:
        return (f"unknown placeholder '{node.name}'", _suggest(node.name, known))
    if isinstance(node, (nodes.Getattr, nodes.Getitem)):
        attr = node.attr if isinstance(node, nodes.Getattr) else _const(node.arg)
        if attr is None:
            return ("a placeholder uses a computed [index]",
                    "Write the field name, e.g. case.status_words.")
        if attr.startswith("_"):
            return (f"'{attr}' is not allowed in a template",
                    "Use only the fields listed in flows/README.md.")
        if not isinstance(node.node, nodes.Name):
            return (f"'.{attr}' is too deep", "Use one level, e.g. case.worker_name.")
        owner = node.node.name
        if owner in schema.OBJECTS and attr not in schema.OBJECTS[owner]:
            return (f"'{owner}' has no field '{attr}'",
                    _suggest(attr, set(schema.OBJECTS[owner]), prefix=f"{owner}."))
        if owner in plain:
            return (f"'{owner}' has no fields", f"Write {{{{ {owner} }}}} on its own.")
    if isinstance(node, nodes.Call):
        if not (isinstance(node.node, nodes.Name) and node.node.name in schema.HELPERS):
            return ("only press(), date(), on(), time(), phone() and the_case() may be called",
                    "Remove the call, or use one of those helpers.")
        if node.node.name == "the_case":
            if node.args or node.kwargs:
                return ("the_case() takes no value", "Write {{ the_case() }}.")
        elif len(node.args) != 1 or node.kwargs:
            return (f"{node.node.name}() takes exactly one value",
                    f"Write it like {node.node.name}(1) or {node.node.name}(case.next_contact).")
    if isinstance(node, nodes.Filter) and node.name not in SAFE_FILTERS:
        return (f"the filter '{node.name}' is not allowed",
                f"Use one of: {', '.join(sorted(SAFE_FILTERS))}.")
    return None


def _const(node) -> str | None:
    return node.value if isinstance(node, nodes.Const) and isinstance(node.value, str) else None


def _suggest(name: str, choices: set[str], prefix: str = "") -> str:
    close = difflib.get_close_matches(name, sorted(choices), n=1)
    if close:
        return f"Did you mean '{prefix}{close[0]}'?"
    listed = ", ".join(prefix + c for c in sorted(choices)[:12])
    return f"Use one of: {listed}."


def _unique(problems: list[TemplateProblem]) -> list[TemplateProblem]:
    seen: set[tuple] = set()
    out = []
    for p in problems:
        if (p.message, p.line_offset) not in seen:
            seen.add((p.message, p.line_offset))
            out.append(p)
    return out
