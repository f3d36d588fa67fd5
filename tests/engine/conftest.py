"""Fixtures for the flow engine: the shipped flows and a small conversation driver."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.engine import Input, advance, load_flows, render_text, render_voice
from bot.engine.demo_data import DEMO
from bot.engine.fake import FakeContext

REPO = Path(__file__).resolve().parents[2]
FLOWS_DIR = REPO / "flows"
ANN = DEMO["representatives"]["ann"]["number"]  # 07700 900123, Rose's daughter, PIN 1357
ROSE = DEMO["people"]["rose"]["numbers"][0]  # 0113 496 0201, landline, PIN 4821


SHIPPED = {p.stem for p in FLOWS_DIR.glob("*.yaml")}


def load_beside_shipped(directory):
    """Load the shipped flows with a test's own English-only flow beside them: the test's
    flow checks an English rule, so the line's Welsh is not asked of it (every shipped flow
    is still held to every language)."""
    fs = load_flows(directory)
    fs.errors[:] = [e for e in fs.errors
                    if not (e.code == "line-language" and e.flow not in SHIPPED)]
    return fs


@pytest.fixture(scope="session")
def flows():
    fs = load_flows(FLOWS_DIR)
    assert fs.ok, "\n".join(map(str, fs.errors))
    return fs


class Conversation:
    """Drive one conversation turn by turn; keeps the state as JSON between turns."""

    def __init__(self, flows, channel="sms", number=ANN, flow="welcome", **kw):
        self.flow = flows[flow]
        self.channel = channel
        self.ctx = FakeContext(caller_number=number, channel=channel, **kw)
        self.state = None
        self.effects = []

    def send(self, inp: Input):
        state, replies, effects = advance(self.flow, self.state, inp, self.ctx)
        self.state = state.to_dict()  # what the webhooks store between turns
        self.effects = effects
        self.replies = replies
        return render_text(replies) if self.channel == "sms" else render_voice(replies)

    def text(self, body: str) -> str:
        return self.send(Input.sms(body))

    def kinds(self) -> list[str]:
        return [e.kind for e in self.effects]


@pytest.fixture
def converse(flows):
    def make(**kw):
        return Conversation(flows, **kw)

    return make


# The phrase corpus (tests/data/phrases.yaml): how many phrases the engine understood,
# printed at the end of the run.
PHRASES = pytest.StashKey[dict]()


@pytest.fixture
def phrase_tally(request) -> dict:
    return request.config.stash.setdefault(PHRASES, {"understood": 0, "total": 0})


def pytest_terminal_summary(terminalreporter, config):
    tally = config.stash.get(PHRASES, None)
    if tally:
        terminalreporter.write_line(f"phrases understood: {tally['understood']} of"
                                    f" {tally['total']} (tests/data/phrases.yaml)")
