"""`caseline flows check|test` and `caseline chat`, run through click's test runner."""

from __future__ import annotations

import shutil

from click.testing import CliRunner

from bot.cli.flows import flows
from bot.config import default_flows_dir
from bot.tryout.chat import chat

from .conftest import FLOWS_DIR


def run(command, args, input=None):
    result = CliRunner().invoke(command, args, input=input)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def test_default_flows_dir_is_the_repositorys_and_can_be_overridden(monkeypatch, tmp_path):
    monkeypatch.delenv("FLOWS_DIR", raising=False)
    assert default_flows_dir() == FLOWS_DIR
    monkeypatch.setenv("FLOWS_DIR", str(tmp_path))
    assert default_flows_dir() == tmp_path


def test_check_passes_and_prints_the_tables():
    result = run(flows, ["check", str(FLOWS_DIR)])
    assert result.exit_code == 0, result.output
    assert "flow            step" in result.output
    assert "encoding" in result.output and "GSM-7" in result.output
    assert "Reading grade (Flesch-Kincaid, English)" in result.output
    assert "welcome         greet" in result.output
    assert result.output.rstrip().endswith("flows, 0 errors, 0 warnings.")


def test_check_fails_with_file_and_line(tmp_path):
    shutil.copy(FLOWS_DIR.parent / "tests" / "engine" / "broken" / "bad_goto.yaml", tmp_path)
    result = run(flows, ["check", str(tmp_path)])
    assert result.exit_code == 1
    assert f"{tmp_path.name}/bad_goto.yaml:6: flow 'bad_goto' step 'hello': next 'goodby'" \
        in result.output


def test_flows_test_passes_on_the_shipped_flows():
    result = run(flows, ["test", str(FLOWS_DIR)])
    assert result.exit_code == 0, result.output
    assert " 0 failed." in result.output


def test_flows_test_shows_the_transcript_and_the_difference(tmp_path):
    for path in FLOWS_DIR.glob("*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "broken.yaml").write_text("""\
- name: expects the wrong worker
  given: {caller: ann}
  turns:
    - in: "news"
    - in: "1357"
      out_contains: ["Sam Patell"]
      out_not_contains: ["Rose"]
- name: expects an exact reply
  given: {caller: unknown}
  turns:
    - in: "HELP"
      out: "Hello."
""")
    result = run(flows, ["test", str(tmp_path)])
    assert result.exit_code == 1
    out = result.output
    assert "FAIL expects the wrong worker" in out
    assert "2. caller texts '1357'" in out
    assert "| We are finding out what happened" in out
    assert "! turn 2: expected the reply to contain 'Sam Patell'." in out
    assert "! turn 2: the reply must not contain 'Rose', but it does" in out
    assert "--- expected" in out and "+++ got" in out and "-Hello." in out
    assert "0 passed, 2 failed." in out


def test_chat_by_text():
    result = run(chat, ["--offline", "--from", "07700 900123"], input="any news?\n1357\n1\nquit\n")
    assert result.exit_code == 0
    assert "line> Am Gymraeg, anfonwch 9. Hello. This is the Westshire update line." \
        in result.output
    assert "Sam Patel" in result.output
    assert "[request_callback:" in result.output


def test_chat_as_a_call_with_pauses_and_silence():
    result = run(chat, ["--offline", "--voice", "--from", "+441134960201"],
                 input="1\n4821\n\n*\n1\n")
    out = result.output
    assert result.exit_code == 0
    assert "line> [pause 0.5s]" in out and "line> [speaking at 85%]" in out
    assert "0 1 1 3, 4 9 6, 0 1 2 3" in out
    assert "Sorry, I did not hear anything." in out
    assert "[the call has ended]" in out


def test_chat_runs_an_outbound_flow():
    result = run(chat, ["--offline", "--flow", "checkin", "--from", "+447700900201"], input="1\n")
    assert "How are you?" in result.output
    assert "[record_checkin: answer=ok" in result.output
