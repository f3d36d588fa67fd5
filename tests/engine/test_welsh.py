"""Welsh, whole: every flow in every language the line offers, accents kept, and a review
mark that stays attached to the words a Welsh speaker read."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner

from bot.cli.main import cli
from bot.engine import load_flows, review
from bot.engine.lint import lint

from .conftest import FLOWS_DIR

HELP_CY = "Mae'n rhoi newyddion i bobl am eu hachos."


def copy_flows(tmp_path):
    for path in FLOWS_DIR.glob("*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    return tmp_path


def edit(path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def messages(fs) -> list[str]:
    """Each problem as shown, without the temporary folder's name."""
    return [str(e).split("/", 1)[-1] if str(e).startswith("test_") else str(e)
            for e in fs.errors]


def by_file(fs) -> dict:
    return {Path(r.file).name: r for r in review.rows(fs)}


def test_the_shipped_flows_are_all_in_welsh(flows):
    offered = set(flows.commands.languages)
    assert offered == {"en", "cy"}
    for flow in flows.flows.values():
        assert set(flow.languages) == offered, flow.file
        assert "cy" in flow.review, flow.file
        offers = {line.text.line for s in flow.steps.values() for line in s.say if line.language}
        for text in review.texts_of(flow):  # an offer of a language is in that language
            if text.line not in offers:
                assert set(text.by_language) >= offered, f"{flow.file}:{text.line}"


def test_a_flow_in_english_only_fails_because_the_line_offers_welsh(tmp_path):
    edit(copy_flows(tmp_path) / "help.yaml", "languages: [en, cy]", "languages: [en]")
    fs = load_flows(tmp_path)
    assert "help.yaml:1: flow 'help': the flow is not in Welsh, which the line offers. " \
        "Declare languages: [en, cy] and write each text's cy: (or take the language out " \
        "of commands.yaml)." in messages(fs)


def test_a_text_without_its_welsh_fails_with_its_line(tmp_path):
    edit(copy_flows(tmp_path) / "help.yaml", f"      cy: \"{{{{ service.name }}}} sydd yma. "
         f"{HELP_CY}", "      xx: \"")
    fs = load_flows(tmp_path)
    assert any(m.startswith("help.yaml:") and "'xx' is not a language code" in m
               for m in messages(fs)), messages(fs)
    assert any("the text has no 'cy' version" in m for m in messages(fs)), messages(fs)


def test_welsh_without_a_review_mark_fails_at_its_languages_line(tmp_path):
    edit(copy_flows(tmp_path) / "help.yaml", "review: {cy: machine-checked}\n", "")
    fs = load_flows(tmp_path)
    assert "help.yaml:4: flow 'help': the Welsh texts have no review mark. Add review: " \
        "{cy: machine-checked} until a Welsh speaker has read them." in messages(fs)


def test_a_review_holds_for_the_words_read_and_lapses_when_one_changes(tmp_path):
    flows_dir = copy_flows(tmp_path)
    before = by_file(load_flows(flows_dir))["help.yaml"]
    assert before.state == "machine-checked" and before.texts == 1
    edit(flows_dir / "help.yaml", "review: {cy: machine-checked}",
         f"review: {{cy: {{by: Eleri Jones, on: 2026-12-02, texts: {before.fingerprint}}}}}")
    fs = load_flows(flows_dir)
    assert fs.ok, messages(fs)
    row = by_file(fs)["help.yaml"]
    assert row.reviewed and row.state == "reviewed by Eleri Jones on 2026-12-02"
    assert "help.yaml" not in review.table(review.rows(fs))
    assert "help.yaml" not in review.worksheet(fs, "cy")

    # Moving the text (a comment above it) keeps the review; changing a word ends it.
    edit(flows_dir / "help.yaml", "steps:\n", "# a note\nsteps:\n")
    assert by_file(load_flows(flows_dir))["help.yaml"].reviewed
    edit(flows_dir / "help.yaml", HELP_CY, "Mae'n rhoi newyddion i bobl am eu hachosion.")
    row = by_file(load_flows(flows_dir))["help.yaml"]
    assert not row.reviewed
    assert row.state == "changed since Eleri Jones reviewed it on 2026-12-02"
    assert "help.yaml" in review.table(review.rows(load_flows(flows_dir)))


def test_a_review_mark_that_is_not_understood_says_how_to_write_it(tmp_path):
    edit(copy_flows(tmp_path) / "help.yaml", "review: {cy: machine-checked}",
         "review: {cy: yes}")
    assert "help.yaml:6: flow 'help': the Welsh review mark is not understood. Write cy: " \
        "machine-checked, or cy: {by: NAME, on: YYYY-MM-DD, texts: FINGERPRINT} (flows " \
        "check prints it)." in messages(load_flows(tmp_path))


def test_flows_check_lists_the_unreviewed_welsh_and_the_worksheet_shows_each_text():
    result = CliRunner().invoke(cli, ["flows", "check", str(FLOWS_DIR)])
    assert result.exit_code == 0, result.output
    assert "Welsh (cy): " in result.output and "not yet reviewed by a Welsh speaker" in \
        result.output
    assert "flows/help.yaml" in result.output and "machine-checked" in result.output
    sheet = CliRunner().invoke(cli, ["flows", "review", "cy", str(FLOWS_DIR)])
    assert sheet.exit_code == 0
    assert "flows/help.yaml:11\n  en: This is the {{ service.name }}." in sheet.output
    assert f"  cy: {{{{ service.name }}}} sydd yma. {HELP_CY}" in sheet.output


def test_welsh_that_lost_its_accents_or_runs_on_is_refused(tmp_path):
    edit(copy_flows(tmp_path) / "help.yaml", HELP_CY,
         "Ffoniwch ein tim yn ol ar y ffon. " + " ".join(["gair"] * 26) + ".")
    fs = load_flows(tmp_path)
    assert fs.ok, messages(fs)
    found = [str(p).split("/", 1)[-1] for p in lint(fs).problems if p.flow == "help"]
    for word, fixed in (("tim", "tîm"), ("ol", "ôl"), ("ffon", "ffôn")):
        assert f"help.yaml:11: flow 'help' step 'explain': '{word}' has lost its accent. " \
            f"Write '{fixed}': Welsh keeps its accents (the text's cost is counted as " \
            "UCS-2)." in found, found
    assert any("a sentence has 26 words (cy)" in p for p in found), found


def test_welsh_texts_cost_ucs2_honestly(flows):
    report = lint(flows)
    welsh = [r for r in report.sms if r.language == "cy"]
    accented = [r for r in welsh if r.encoding == "UCS-2"]
    assert accented, "some Welsh texts carry accents, so they are UCS-2"
    assert all(r.ok for r in welsh), [r for r in welsh if not r.ok]
