"""The command line speaks French: click's frame (usage, errors, help) and typed amounts (issue 15)."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import click
import pytest
from babel.messages.extract import extract_from_dir
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from banquasso.commands.main import main as banquasso_main
from banquasso.fava_ext.tranche_form import parse_amount as form_amount
from comptasso.cli import french
from comptasso.cli.lazy import LazyGroup
from comptasso.cli.main import main as comptasso_main
from comptasso.cli.util import member_label, shorten
from comptasso.money import fr_number, parse_amount
from comptasso.problems import Problem

ENGLISH = ("Usage:", "Error:", "Try '", "No such option", "Invalid value", "Missing option",
           "Missing argument", "[default:", "[required]", "Show this message", "Show the version")


def _commands(group: click.Group, path: tuple[str, ...]) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    commands = group.all_commands if isinstance(group, LazyGroup) else group.commands
    for name, command in sorted(commands.items()):
        out.append((*path, name))
        if isinstance(command, click.Group):
            out.extend(_commands(command, (*path, name)))
    return out


COMMANDS = [(comptasso_main, p) for p in _commands(comptasso_main, ())] + [
    (banquasso_main, p) for p in _commands(banquasso_main, ())]
IDS = [f"{'comptasso' if m is comptasso_main else 'banquasso'} {' '.join(p)}" for m, p in COMMANDS]


def _english(text: str) -> list[str]:
    return [word for word in ENGLISH if word in text]


@pytest.mark.parametrize(("main", "path"), COMMANDS, ids=IDS)
def test_wrong_option_is_refused_in_french(main: click.Group, path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(main, [*path, "--option-qui-n-existe-pas"])
    assert result.exit_code == 2, result.output
    assert "Utilisation :" in result.output
    assert "Erreur : Option inconnue '--option-qui-n-existe-pas'." in result.output
    assert f"Essayez « {main.name} {' '.join(path)} --help » pour l'aide." in result.output
    assert _english(result.output) == []


@pytest.mark.parametrize(("main", "path"), COMMANDS, ids=IDS)
def test_help_frame_is_french(main: click.Group, path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Utilisation :")
    assert "Afficher cette aide et quitter." in result.output
    assert _english(result.output) == []


@pytest.mark.parametrize("main", [comptasso_main, banquasso_main], ids=["comptasso", "banquasso"])
def test_unknown_command_and_version_are_french(main: click.Group) -> None:
    unknown = CliRunner().invoke(main, ["commande-inconnue"])
    assert unknown.exit_code == 2
    assert "Erreur : Commande inconnue 'commande-inconnue'." in unknown.output
    assert "COMMANDE [ARGUMENTS]..." in CliRunner().invoke(main, ["--help"]).output
    assert "Afficher la version et quitter." in CliRunner().invoke(main, ["--help"]).output


def test_missing_argument_and_bad_value_are_french() -> None:
    missing = CliRunner().invoke(banquasso_main, ["advance", "repay"])
    assert missing.exit_code == 2 and "Erreur : Argument manquant 'AVANCE'." in missing.output
    bad_date = CliRunner().invoke(banquasso_main, ["plan", "--as-of", "30/11/2026"])
    assert bad_date.exit_code == 2
    assert "Erreur : Valeur invalide pour '--as-of' : date invalide « 30/11/2026 »" in bad_date.output
    bad_amount = CliRunner().invoke(banquasso_main, ["advance", "propose", "--amount", "mille"])
    assert bad_amount.exit_code == 2
    assert "Valeur invalide pour '--amount' : montant invalide « mille » (ex. 1 000,00 ou 1000.00)" in (
        bad_amount.output)


# programming errors and shell-completion internals, never shown to a user of the two commands
NEVER_SHOWN = {"d", "Shell completion is not supported for Bash versions older than 4.4.",
               "Couldn't detect Bash version, shell completion is not supported.",
               "Unknown color {colour!r}", "Unknown standard stream '{name}'", "Choice({choices})",
               "Boolean option {decl!r} cannot use the same flag for true/false.",
               "Could not determine name for option with declarations {decls!r}",
               "Arguments take exactly one parameter declaration, got {length}: {decls}."}
SAME_IN_FRENCH = {"Options", "%(prog)s, version %(version)s"}


def test_catalogue_translates_every_string_of_click() -> None:
    """A click upgrade that adds a message fails here until the catalogue has it."""
    assert french.untranslated() == []
    translations = french.catalogue()
    click_dir = Path(click.__file__).parent
    missing = []
    for _file, _line, message, _comments, _context in extract_from_dir(str(click_dir)):
        singular = message[0] if isinstance(message, tuple) else message
        if singular in NEVER_SHOWN or singular.startswith("No options defined but a name was passed"):
            continue
        if translations.gettext(singular) == singular and singular not in SAME_IN_FRENCH:
            missing.append(singular)
    assert missing == []


@pytest.mark.parametrize(("text", "value"), [
    ("1 000,00", Decimal("1000.00")), ("1000,00", Decimal("1000.00")), ("1000.00", Decimal("1000.00")),
    ("1\u00a0000,00", Decimal("1000.00")), ("1\u202f000,00", Decimal("1000.00")),
    ("12 345 678,9", Decimal("12345678.9")),
    ("-3,20", Decimal("-3.20")), ("0.03", Decimal("0.03")), ("0,03", Decimal("0.03")), (" 250 ", Decimal("250")),
])
def test_french_and_dotted_amounts_are_read(text: str, value: Decimal) -> None:
    assert parse_amount(text) == value


@pytest.mark.parametrize("text", ["", "mille", "1.000,00", "1 00,00", "1e5", "NaN", "Infinity", "1,2,3", "12 €",
                                  "--5"])
def test_other_text_is_not_an_amount(text: str) -> None:
    with pytest.raises(ValueError, match=re.escape(f"montant invalide « {text} »")):
        parse_amount(text)


@given(st.decimals(min_value=Decimal("-1e9"), max_value=Decimal("1e9"), places=2, allow_nan=False))
def test_every_printed_amount_reads_back(value: Decimal) -> None:
    assert parse_amount(fr_number(value)) == value
    assert parse_amount(str(value)) == value


def test_fava_tranche_form_uses_the_same_parser() -> None:
    assert form_amount("1 234,50") == Decimal("1234.50")
    assert form_amount("1234.5") == Decimal("1234.50")
    assert form_amount("1,234") is None  # more than cents
    assert form_amount("1.000,00") is None


def test_a_problem_without_line_names_its_file_only() -> None:
    assert str(Problem("var/banquasso.db", 0, "registre verrouillé")) == "var/banquasso.db: registre verrouillé"
    assert str(Problem("group.toml", 12, "clé inconnue", "warning")) == "group.toml:12: avertissement : clé inconnue"


def test_member_label_puts_the_name_beside_the_id_and_marks_a_cut() -> None:
    names = {"caf-05": "Caisse d'allocations familiales des Hautes-Alpes", "velo-gap": "Vélo Club Gapençais"}
    assert member_label("velo-gap", names) == "Vélo Club Gapençais (velo-gap)"
    cut = member_label("caf-05", names, 30)
    assert cut.endswith("… (caf-05)") and len(cut) <= 30
    assert member_label("inconnu", names) == "inconnu"
    assert shorten("abc", 3) == "abc" and shorten("abcdef", 4) == "abc…"


ROOT = Path(__file__).resolve().parent.parent


def _demo(*args: str) -> click.testing.Result:
    return CliRunner().invoke(banquasso_main, [*args, "--ledgers", str(ROOT / "ledgers"), "--rules",
                                               str(ROOT / "rules"), "--as-of", "2026-11-30"])


@pytest.mark.slow
def test_capacity_of_one_member_shows_its_row_by_name_and_the_group_total() -> None:
    whole, one = _demo("capacity"), _demo("capacity", "--member", "velo-gap")
    assert whole.exit_code == 0 and one.exit_code == 0, one.output
    row = next(line for line in one.stdout.splitlines() if line.startswith("Vélo Club Gapençais (velo-gap)"))
    assert row.split(")", 1)[1].split() == next(
        line for line in whole.stdout.splitlines() if "(velo-gap)" in line).split(")", 1)[1].split()
    total = [line.split() for line in (whole.stdout, one.stdout) for line in line.splitlines()
             if line.startswith("Groupement ") and "(" not in line]
    assert total[0] == total[1]
    assert "(grange-ecrins)" in whole.stdout and "(grange-ecrins)" not in one.stdout


@pytest.mark.slow
def test_capacity_of_an_unknown_member_is_refused_naming_the_members() -> None:
    result = _demo("capacity", "--member", "inconnu")
    assert result.exit_code == 2
    assert "Valeur invalide pour '--member' : membre inconnu « inconnu » (membres : velo-gap," in result.output


ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


@pytest.mark.slow
def test_dates_in_sentences_are_french(tmp_path: Path) -> None:
    """A lent advance's life, as the treasurer reads it: no ISO date in a sentence (`--json` keeps them)."""
    from tests.test_reconcile import ID, running_advance
    from tests.test_registry import run

    ledgers, rules = running_advance(tmp_path)
    disburse = run(["advance", "disburse", ID, "--on", "2026-12-01"], ledgers, rules, "2026-12-01")
    assert "déjà versée le 01/12/2026" in disburse.output  # done already: says when, the French way
    reconcile = run(["reconcile"], ledgers, rules, "2026-12-10")
    assert reconcile.exit_code == 0, reconcile.output
    assert "1 avance(s) rapprochée(s) au 10/12/2026." in reconcile.output
    for result in (disburse, reconcile):
        sentences = re.sub(r"\(réf\. [^)]*\)", "", result.output)  # a reference key is not a date
        assert ISO_DATE.findall(sentences) == [], result.output
    early = CliRunner().invoke(banquasso_main, ["capacity", "--ledgers", str(ledgers), "--rules", str(rules),
                                                "--as-of", "2020-01-01"])
    assert early.exit_code == 2 and "les livres commencent le " in early.output
    assert ISO_DATE.findall(early.output.replace("'--as-of'", "")) == []


def test_the_date_helper_writes_day_month_year() -> None:
    import datetime as dt

    from comptasso.money import fr_date

    assert fr_date(dt.date(2026, 12, 1)) == "01/12/2026"
    assert fr_date(dt.date(1999, 1, 31)) == "31/01/1999"


ENGLISH_TYPES = re.compile(r"\b(TEXT|INTEGER|FLOAT|BOOLEAN|RANGE|FILENAME|DATETIME)\b")


@pytest.mark.parametrize(("main", "path"), COMMANDS, ids=IDS)
def test_option_value_types_are_named_in_french(main: click.Group, path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(main, [*path, "--help"])
    assert ENGLISH_TYPES.findall(result.output) == [], result.output


def test_a_wrong_number_is_refused_naming_its_type_in_french() -> None:
    assert "--lender TEXTE" in CliRunner().invoke(banquasso_main, ["advance", "propose", "--help"]).output
    assert "--horizon ENTIER" in CliRunner().invoke(banquasso_main, ["stress", "--help"]).output
    bad = CliRunner().invoke(banquasso_main, ["stress", "--horizon", "abc"])
    assert bad.exit_code == 2
    assert "Erreur : Valeur invalide pour '--horizon' : 'abc' n'est pas un entier valide." in bad.output


def test_comptasso_arguments_are_named_in_french() -> None:
    assert CliRunner().invoke(comptasso_main, ["import", "--help"]).output.startswith(
        "Utilisation : main import [OPTIONS] MEMBRE FICHIER")
    assert "[OPTIONS] [MEMBRE]" in CliRunner().invoke(comptasso_main, ["fec", "--help"]).output
    for command in ("report", "cloture", "import"):
        missing = CliRunner().invoke(comptasso_main, [command])
        assert missing.exit_code == 2 and "Erreur : Argument manquant 'MEMBRE'." in missing.output


@pytest.mark.parametrize(("program", "args"), [("comptasso", ["check"]), ("comptasso", ["import"]),
                                               ("comptasso", ["fec"]), ("banquasso", ["statement"]),
                                               ("banquasso", ["advance", "convention"])])
def test_paths_are_named_in_french_in_a_fresh_process(program: str, args: list[str]) -> None:
    """click names a path type when the option is built: a command built before the catalogue is bound
    would print DIRECTORY; each process is fresh, as a user's is."""
    import subprocess
    import sys

    module = "comptasso.cli.main" if program == "comptasso" else "banquasso.commands.main"
    code = f"import sys; from {module} import main; sys.argv[0] = {program!r}; main()"
    result = subprocess.run([sys.executable, "-c", code, *args, "--help"], capture_output=True, text=True,
                            check=True, cwd=ROOT)
    assert re.findall(r"\b(DIRECTORY|FILE|PATH|TEXT|INTEGER)\b", result.stdout) == [], result.stdout
