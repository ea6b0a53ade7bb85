"""No two words overlap on any page of the generated PDFs: the statement, its annex, the annual reports (issue 15)."""

from __future__ import annotations

import io
from pathlib import Path

import pdfplumber
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from banquasso.commands.main import main as banquasso_main
from comptasso.cli.main import main as comptasso_main
from tests.conftest import DEMO_AS_OF
from tests.test_statement import lending_group, statement

LONG_NAMES = {
    "alpha": "Association intercommunale d'aide à domicile en milieu rural des Hautes-Alpes et du Champsaur",
    "beta": "Caisse d'allocations familiales des Hautes-Alpes — antenne du Briançonnais et du Queyras",
}


def overlapping_words(pdf: bytes) -> list[tuple[int, str, str]]:
    """(page, text, text) for every two printed characters whose boxes intersect by more than 1 pt each way.

    Characters, not pdfplumber's words: two texts printed on top of each other merge into one « word ».
    Sorted by left edge, each character is compared with those starting inside it only.
    """
    found = []
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        for number, page in enumerate(document.pages, 1):
            chars = sorted((c for c in page.chars if c["text"].strip()), key=lambda c: c["x0"])
            for index, a in enumerate(chars):
                for b in chars[index + 1:]:
                    if b["x0"] >= a["x1"] - 1:
                        break
                    if min(a["bottom"], b["bottom"]) - max(a["top"], b["top"]) > 1:
                        found.append((number, a["text"], b["text"]))
    return found


def page_texts(pdf: bytes) -> list[str]:
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        return [" ".join((page.extract_text() or "").split()) for page in document.pages]


def test_the_check_sees_two_words_printed_on_top_of_each_other() -> None:
    buffer = io.BytesIO()
    sheet = canvas.Canvas(buffer, pagesize=A4)
    sheet.drawString(100, 700, "Caisse d'allocations familiales")
    sheet.drawString(160, 700, "30/11/2026")
    sheet.drawString(100, 600, "seul")
    sheet.showPage()
    sheet.save()
    found = overlapping_words(buffer.getvalue())
    assert found and all(page == 1 for page, _, _ in found)
    assert len(found) < 20


def _rename(ledgers: Path, names: dict[str, str]) -> None:
    group = ledgers / "group.toml"
    text = group.read_text(encoding="utf-8")
    for member_id, name in names.items():
        text = text.replace(f'name = "{member_id.title()}"', f'name = "{name}"')
    group.write_text(text, encoding="utf-8")


def test_statement_with_an_advance_and_long_names_has_no_overlap(tmp_path: Path) -> None:
    ledgers, rules = lending_group(tmp_path)
    _rename(ledgers, LONG_NAMES)
    out = tmp_path / "releve.pdf"
    result = statement(ledgers, rules, out)
    assert result.exit_code == 0, result.output
    pdf = out.read_bytes()
    assert overlapping_words(pdf) == []
    annex = next(p for p in page_texts(pdf) if p.startswith("Annexe — avances de trésorerie consenties"))
    assert all(word in annex for word in LONG_NAMES["beta"].split())  # the borrower's full name, wrapped, not cut
    assert all(text in annex for text in ("BQA-2026-0001", "CA-2026-03 du", "05/03/2026", "10/03/2026", "15/05/2026"))


@pytest.mark.slow
def test_demo_statement_and_annual_reports_have_no_overlap(demo_copy: tuple[Path, Path], tmp_path: Path) -> None:
    ledgers, rules = demo_copy
    common = ["--ledgers", str(ledgers), "--rules", str(rules), "--as-of", DEMO_AS_OF]
    releve = tmp_path / "releve.pdf"
    result = CliRunner().invoke(banquasso_main, ["statement", "--month", DEMO_AS_OF[:7], "-o", str(releve), *common])
    assert result.exit_code == 0, result.output
    assert overlapping_words(releve.read_bytes()) == []
    for member in ("velo-gap", "creche-marmottes"):
        report = tmp_path / f"{member}.pdf"
        result = CliRunner().invoke(comptasso_main, ["report", member, "--year", "2026", "--output", str(report),
                                                     *common])
        assert result.exit_code == 0, result.output
        for pdf in (report, tmp_path / f"{member}-annexe.pdf"):
            assert overlapping_words(pdf.read_bytes()) == [], pdf.name


def test_the_attestation_and_the_loan_contract_with_long_names_have_no_overlap(tmp_path: Path) -> None:
    from tests.test_law import granted
    from tests.test_registry import run

    ledgers, rules = granted(tmp_path)
    group = ledgers / "group.toml"
    group.write_text(group.read_text(encoding="utf-8").replace('name = "Preteur"', f'name = "{LONG_NAMES["alpha"]}"')
                     .replace('name = "Emprunteur"', f'name = "{LONG_NAMES["beta"]}"'), encoding="utf-8")
    pack = run(["attestation", "--member", "preteur", "--year", "2026", "--output", str(tmp_path / "pack")],
               ledgers, rules, "2027-01-05")
    assert pack.exit_code == 0, pack.output
    contract = tmp_path / "convention.pdf"
    made = run(["advance", "convention", "BQA-2026-0001", "--output", str(contract)], ledgers, rules, "2026-12-02")
    assert made.exit_code == 0, made.output
    for pdf in (tmp_path / "pack" / "attestation-preteur-2026-01-01.pdf", contract):
        content = pdf.read_bytes()
        assert overlapping_words(content) == [], pdf.name
        text = " ".join(page_texts(content))
        assert all(word in text for word in LONG_NAMES["beta"].split()), pdf.name  # wrapped, not cut


def _long(base: str, number: int) -> str:
    """A 60-character name: `base`, the number, padded with words (the longest names group.toml holds in practice)."""
    text = f"{base} n° {number} — antenne des vallées du Champsaur et du Valgaudemar"
    return text[:60].rstrip() + "x" * (60 - len(text[:60].rstrip()))


def _lengthen(path: Path, every: int, base: str, key: str = "name") -> list[str]:
    """Give every `every`-th `name = "…"` line of a TOML file a 60-character name; the names given, in order."""
    lines, given, seen = path.read_text(encoding="utf-8").splitlines(), [], 0
    for index, line in enumerate(lines):
        if line.startswith(f'{key} = "') and not lines[index - 1].startswith("[group]"):
            seen += 1
            if seen % every == 1:
                given.append(_long(base, seen))
                lines[index] = f'{key} = "{given[-1]}"'
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return given


@pytest.mark.slow
def test_fifty_members_with_long_names_no_overlap(tmp_path: Path) -> None:
    """A 50-member group, one member in four and one funder in two named with 60 characters, with advances
    proposed, approved and disbursed between long-named members: the statement, the annual accounts and the
    annexe of a long-named member print no two words on top of each other."""
    import datetime as dt
    import shutil

    from comptasso.synthetic import generate_group
    from tests.conftest import DEMO_RULES
    from tests.test_statement import _advance, _record

    ledgers, rules = tmp_path / "ledgers", tmp_path / "rules"
    generate_group(ledgers, members=50, start=dt.date(2026, 1, 1), end=dt.date(2026, 11, 30), seed=2026)
    shutil.copytree(DEMO_RULES, rules)
    names = _lengthen(ledgers / "group.toml", 4, "Association intercommunale d'aide à domicile")
    funders = _lengthen(rules / "funders.toml", 2, "Fonds départemental de soutien aux associations")
    assert len(names) == 13 and len(funders) >= 4 and {len(n) for n in names + funders} == {60}
    long_ids = ["velo-gap-001", "velo-gap-013"]  # members 1 and 13: long names
    day = dt.date(2026, 11, 2)
    _record(ledgers, _advance(1, "proposed", "12000.00", day, dt.date(2027, 2, 15), long_ids[0], long_ids[1],
                              convention="CONVENTION-DEPARTEMENTALE-2026-0042", tranche_date=dt.date(2027, 1, 31)))
    _record(ledgers, _advance(2, "approved", "3500.00", day, dt.date(2027, 1, 15), long_ids[1], long_ids[0],
                              decision="CA-2026-11-02-DELIBERATION-17", approved_on=day, approved_by="Mme X"))
    common = ["--ledgers", str(ledgers), "--rules", str(rules), "--as-of", "2026-11-30"]
    releve = tmp_path / "releve.pdf"
    result = CliRunner().invoke(banquasso_main, ["statement", "--month", "2026-11", "-o", str(releve), *common])
    assert result.exit_code == 0, result.output
    pdf = releve.read_bytes()
    assert overlapping_words(pdf) == []
    text = " ".join(page_texts(pdf))
    assert "BQA-2026-0001" in text and "Décisions à prendre au prochain conseil" in text
    assert all(word in text for word in names[0].split())  # the long names wrap, they are not cut
    report = tmp_path / "rapport.pdf"
    result = CliRunner().invoke(comptasso_main, ["report", long_ids[0], "--year", "2026", "--output", str(report),
                                                 *common])
    assert result.exit_code == 0, result.output
    for path in (report, tmp_path / "rapport-annexe.pdf"):
        assert overlapping_words(path.read_bytes()) == [], path.name


@given(st.text(st.characters(min_codepoint=32, max_codepoint=0x17F), max_size=200),
       st.floats(min_value=20, max_value=500))
def test_a_footer_is_cut_to_its_room_with_an_ellipsis(text: str, width: float) -> None:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    from comptasso.reports.pdfstyle import FONT, fit_text

    fitted = fit_text(text, width, FONT, 7.5)
    if stringWidth(text, FONT, 7.5) <= width:
        assert fitted == text
    else:
        assert fitted.endswith("…") and text.startswith(fitted[:-1].rstrip())
        assert stringWidth(fitted, FONT, 7.5) <= width
