"""The bookkeeper's commands: `comptasso import`, `comptasso fec` and `comptasso report`."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import click
from beancount.core import data

from comptasso.atomic import atomic_write
from comptasso.books.group import ACCOUNT, Group, Member, load_group
from comptasso.books.loading import MemberLedger, load_member_ledger
from comptasso.books.reference import Reference, load_reference
from comptasso.books.tomlfile import locate
from comptasso.cli.util import as_of_option, books_options, dump_json, fail, json_option, today
from comptasso.importing.banks import BankFormat, load_banks
from comptasso.importing.categories import load_categories
from comptasso.importing.importer import BankImporter
from comptasso.importing.learning import LEARNED_KEY
from comptasso.importing.run import ImportResult, import_statement
from comptasso.model.checks import check_member
from comptasso.money import fr_date, fr_money, money_json
from comptasso.problems import Problem
from comptasso.reports.annexe import annexe_json, build_annexe
from comptasso.reports.annexe_pdf import render_annexe_pdf
from comptasso.reports.annual import accounts_json, annual_accounts
from comptasso.reports.annual_pdf import render_annual_pdf
from comptasso.reports.closing import before_closing, close_year, find_lock, lock_path, lock_text
from comptasso.reports.fec import ENCODINGS, build_fec, description
from comptasso.reports.fec_verify import verify_fec
from comptasso.reports.pdfstyle import write_pdf
from comptasso.reports.period import FinancialYear

YEAR = click.IntRange(1900, 2999)


def _group_and_reference(ledgers_dir: Path, rules_dir: Path) -> tuple[Group, Reference]:
    group, problems = load_group(ledgers_dir)
    reference, ref_problems = load_reference(rules_dir)
    errors = [p for p in problems + ref_problems if p.is_error]
    if group is None or errors:
        fail(errors or problems)
    return group, reference


def _member(group: Group, member_id: str) -> Member:
    try:
        return group.member(member_id)
    except KeyError as exc:
        raise click.BadParameter(str(exc.args[0]), param_hint="MEMBER") from exc


def _checked_ledger(group: Group, reference: Reference, member: Member) -> MemberLedger:
    """The member's ledger, loaded and checked against the group's rules; exit 1 on any error."""
    ledger = load_member_ledger(member.id, member.ledger, reference.allowed_plugins)
    problems = list(ledger.problems)
    if not any(p.is_error for p in problems):
        problems += check_member(member, ledger.entries, ledger.options, reference, group.currency)
    errors = [p for p in problems if p.is_error]
    if errors:
        fail(errors)
    return ledger


def _warn(problems: Sequence[Problem]) -> None:
    for problem in problems:
        click.echo(str(problem), err=True)


# --- import -------------------------------------------------------------------------------------


def _choose_importer(banks: dict[str, BankFormat], bank_id: str | None, source: Path, account: str,
                     member: Member, rules_dir: Path, currency: str, learn: bool,
                     as_of: dt.date) -> BankImporter:
    categories, problems = load_categories(rules_dir)
    if problems:
        fail(problems)

    def make(fmt: BankFormat) -> BankImporter:
        return BankImporter(fmt, account, member.id, categories, currency=currency, learn=learn, as_of=as_of)

    if bank_id is not None:
        if bank_id not in banks:
            known = ", ".join(sorted(banks)) or "aucune"
            raise click.BadParameter(f"banque inconnue « {bank_id} » (rules/banks.toml : {known})",
                                     param_hint="--bank")
        return make(banks[bank_id])
    found = [make(fmt) for fmt in banks.values() if make(fmt).identify(str(source))]
    if len(found) == 1:
        return found[0]
    names = ", ".join(i.fmt.id for i in found) if found else ", ".join(sorted(banks)) or "aucune"
    reason = "plusieurs banques reconnaissent ce fichier" if found else \
        "aucune banque de rules/banks.toml ne reconnaît ce fichier"
    raise click.UsageError(f"{reason} : précisez --bank ({names})")


def _moved(entry: data.Transaction) -> Decimal:
    """What an imported entry moves on the bank account (its first posting), signed as the statement says."""
    units = entry.postings[0].units
    return Decimal(0) if units is None or units.number is None else units.number


def _import_json(result: ImportResult, importer: BankImporter, dry_run: bool) -> dict[str, object]:
    return {
        "member": result.member_id, "file": result.source, "bank": importer.fmt.id,
        "account": importer.bank_account, "target": result.target, "dry_run": dry_run,
        "written": result.written, "include_added": result.include_added,
        "added": [{"date": e.date, "amount": money_json(_moved(e)), "label": e.narration,
                   "account": e.postings[1].account, "flag": e.flag, "learned": LEARNED_KEY in e.meta,
                   "import_id": e.meta["import-id"],
                   "source": e.meta["import-source"]} for e in result.added],
        "duplicates": [{"date": d.entry.date, "amount": money_json(_moved(d.entry)),
                        "label": d.entry.narration, "source": d.entry.meta["import-source"],
                        "reason": d.reason,
                        "existing": f"{d.existing.meta.get('filename')}:{d.existing.meta.get('lineno')}"}
                       for d in result.duplicates],
    }


def _print_import(result: ImportResult, dry_run: bool) -> None:
    for entry in result.added:
        mark = "à revoir (compte appris)" if LEARNED_KEY in entry.meta else "à revoir" if entry.flag == "!" else ""
        click.echo(f"+ {fr_date(entry.date)}  {fr_money(_moved(entry)):>15}  "
                   f"{(entry.narration or '')[:40]:<40}  {entry.postings[1].account} {mark}".rstrip())
    for dup in result.duplicates:
        click.echo(f"= {fr_date(dup.entry.date)}  {fr_money(_moved(dup.entry)):>15}  "
                   f"{(dup.entry.narration or '')[:40]:<40}  ignorée : {dup.reason}")
    verb = "à ajouter (essai, rien n'est écrit)" if dry_run else "ajoutée(s)"
    click.echo(f"{len(result.added)} opération(s) {verb} dans {result.target}, "
               f"{len(result.duplicates)} doublon(s) ignoré(s).")
    if result.include_added:
        click.echo("Le livre principal inclut désormais import.beancount." if result.written else
                   "Le livre principal recevra la ligne include \"import.beancount\".")


@click.command("import")
@click.argument("member", metavar="MEMBRE")
@click.argument("file", metavar="FICHIER", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--bank", "bank_id", default=None,
              help="Banque de rules/banks.toml (défaut : reconnue d'après le fichier).")
@click.option("--account", default=None, help="Compte bancaire du livre (défaut : bank_account du membre).")
@click.option("--dry-run", is_flag=True, help="Montrer ce qui serait ajouté sans rien écrire.")
@click.option("--apprendre/--sans-apprendre", "learn", default=True, show_default=True,
              help="Proposer la contrepartie des opérations sans règle d'après l'historique du membre "
                   "(marquées « ! », à revoir).")
@books_options
@as_of_option
@json_option
def import_command(member: str, file: Path, bank_id: str | None, account: str | None, dry_run: bool, learn: bool,
                   ledgers_dir: Path, rules_dir: Path, as_of: dt.date | None, as_json: bool) -> None:
    """Importer un relevé bancaire (CSV ou OFX) dans import.beancount du membre."""
    group, reference = _group_and_reference(ledgers_dir, rules_dir)
    target = _member(group, member)
    account = account or target.bank_account
    if not re.match(ACCOUNT, account):
        raise click.BadParameter(f"compte invalide « {account} »", param_hint="--account")
    banks, problems = load_banks(rules_dir)
    if problems:
        fail(problems)
    day = as_of or today()
    importer = _choose_importer(banks, bank_id, file, account, target, rules_dir, group.currency, learn, day)
    result = import_statement(target, group.ledgers_dir, reference.allowed_plugins, importer, file, day,
                              dry_run=dry_run)
    if not result.ok:
        fail([p for p in result.problems if p.is_error])
    if as_json:
        dump_json(_import_json(result, importer, dry_run))
    else:
        _print_import(result, dry_run)


# --- fec ----------------------------------------------------------------------------------------


def _siren(group: Group, member: Member) -> str:
    if not member.siren:
        text = group.file.read_text(encoding="utf-8")
        index = group.ids.index(member.id)
        line = locate(text, ("members", index, "id"))
        fail([Problem(str(group.file), line, f"members[{index}].siren absent : le FEC de « {member.id} » "
                                             "porte le SIREN dans son nom de fichier")])
    return member.siren


def _verify(path: Path, year: int | None, as_json: bool) -> None:
    closing = dt.date(year, 12, 31) if year else None
    summary, faults = verify_fec(path, closing)
    if as_json:
        dump_json({"file": path, "ok": not faults, "lines": summary.lines, "entries": summary.entries,
                   "total_debit": money_json(summary.total_debit), "total_credit": money_json(summary.total_credit),
                   "start": summary.start, "closing": summary.closing,
                   "faults": [{"line": f.line, "code": f.code, "message": f.message} for f in faults]})
    else:
        _warn([f.problem(str(path)) for f in faults])
        state = "conforme" if not faults else f"{len(faults)} défaut(s)"
        click.echo(f"{path.name} : {summary.entries} écriture(s), {summary.lines} ligne(s), "
                   f"débit {fr_money(summary.total_debit)}, crédit {fr_money(summary.total_credit)} — {state}.")
    raise SystemExit(1 if faults else 0)


@click.command("fec")
@click.argument("member", metavar="[MEMBRE]", required=False)
@click.option("--year", type=YEAR, default=None,
              help="Exercice à exporter, désigné par l'année de sa clôture (exercice_debut du membre).")
@click.option("--encoding", type=click.Choice(ENCODINGS), default="utf-8", show_default=True,
              help="Encodage du fichier (ISO 8859-15 : caractères absents translittérés, avec un avertissement).")
@click.option("--verify", "verify_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="Vérifier un fichier FEC au lieu d'en produire un.")
@click.option("--output", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("reports"),
              show_default=True, help="Dossier où écrire le FEC et sa description.")
@books_options
@as_of_option
@json_option
def fec_command(member: str | None, year: int | None, encoding: str, verify_file: Path | None, out_dir: Path,
                ledgers_dir: Path, rules_dir: Path, as_of: dt.date | None, as_json: bool) -> None:
    """Produire le FEC d'un membre pour un exercice, ou vérifier un fichier FEC (--verify)."""
    if verify_file is not None:
        _verify(verify_file, year, as_json)
    if member is None or year is None:
        raise click.UsageError("indiquez le membre et --year (ou --verify FICHIER)")
    group, reference = _group_and_reference(ledgers_dir, rules_dir)
    target = _member(group, member)
    siren = _siren(group, target)
    ledger = _checked_ledger(group, reference, target)
    as_of = as_of or today()
    lock = find_lock(target.folder, FinancialYear.closing_in(year, target.year_start))
    fec = build_fec(ledger.entries, year, as_of, siren, where=str(target.ledger), year_start=target.year_start,
                    encoding=encoding, validated=lock.closed_on if lock else None)
    path, notice = out_dir / fec.filename, out_dir / fec.description_filename
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write(path, fec.data())
    atomic_write(notice, description(fec, target.name, as_of))
    _, faults = verify_fec(path)
    _warn(list(fec.problems) + [f.problem(str(path)) for f in faults])
    if as_json:
        dump_json({"member": target.id, "year": year, "as_of": as_of, "file": path, "description": notice,
                   "start": fec.start, "closing": fec.closing, "encoding": fec.encoding,
                   "entries": fec.entries, "lines": len(fec.rows), "journals": list(fec.journals),
                   "total_debit": money_json(fec.total_debit), "total_credit": money_json(fec.total_credit),
                   "faults": [{"line": f.line, "code": f.code, "message": f.message} for f in faults],
                   "warnings": [str(p) for p in fec.problems]})
    else:
        click.echo(f"FEC {fec.start:%d/%m/%Y}–{fec.closing:%d/%m/%Y} de {target.name} : {path} "
                   f"({fec.entries} écriture(s), {len(fec.rows)} ligne(s), "
                   f"débit {fr_money(fec.total_debit)} = crédit {fr_money(fec.total_credit)}).")
        click.echo(f"Description : {notice}")
    if faults:
        raise SystemExit(1)


# --- report -------------------------------------------------------------------------------------


@click.command("report")
@click.argument("member", metavar="MEMBRE")
@click.option("--year", type=YEAR, required=True,
              help="Exercice, désigné par l'année de sa clôture (exercice_debut du membre dans group.toml).")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Fichier PDF (défaut : reports/<membre>-comptes-annuels-<année>.pdf).")
@books_options
@as_of_option
@json_option
def report_command(member: str, year: int, output: Path | None, ledgers_dir: Path, rules_dir: Path,
                   as_of: dt.date | None, as_json: bool) -> None:
    """Bilan et compte de résultat (règlement ANC 2018-06), exercices N et N-1, en PDF ou JSON."""
    group, reference = _group_and_reference(ledgers_dir, rules_dir)
    target = _member(group, member)
    ledger = _checked_ledger(group, reference, target)
    accounts = annual_accounts(ledger.entries, year, as_of or today(), member_id=target.id,
                               member_name=target.name, siren=target.siren, where=str(target.ledger),
                               year_start=target.year_start)
    annexe = build_annexe(ledger.entries, accounts, where=str(target.ledger))
    _warn(list(accounts.problems) + list(annexe.problems))
    if output is not None or not as_json:
        path = output or Path("reports") / f"{target.id}-comptes-annuels-{accounts.period.label}.pdf"
        annexe_path = annexe_pdf_path(path)
        write_pdf(path, render_annual_pdf(accounts))
        write_pdf(annexe_path, render_annexe_pdf(annexe))
        if not as_json:
            result = accounts.result.n
            click.echo(f"Comptes annuels {accounts.period.label} de {target.name} : {path}")
            click.echo(f"Annexe : {annexe_path}")
            click.echo(f"{'Excédent' if result >= 0 else 'Déficit'} de l'exercice : {fr_money(abs(result))} ; "
                       f"total du bilan : {fr_money(accounts.total_actif.n)}.")
    if as_json:
        document = accounts_json(accounts)
        document["annexe"] = annexe_json(annexe)
        dump_json(document)


def annexe_pdf_path(accounts_pdf: Path) -> Path:
    """The annexe's PDF beside the accounts' PDF: `x.pdf` → `x-annexe.pdf`."""
    return accounts_pdf.with_name(f"{accounts_pdf.stem}-annexe.pdf")


# --- cloture -----------------------------------------------------------------------------------


@click.command("cloture")
@click.argument("member", metavar="MEMBRE")
@click.option("--year", type=YEAR, required=True,
              help="Exercice à clôturer, désigné par l'année de sa clôture (exercice_debut du membre).")
@books_options
@as_of_option
@json_option
def cloture_command(member: str, year: int, ledgers_dir: Path, rules_dir: Path, as_of: dt.date | None,
                    as_json: bool) -> None:
    """Clôturer un exercice : vérifications, puis verrou (chaîne d'empreintes) et à-nouveaux de l'exercice suivant."""
    group, reference = _group_and_reference(ledgers_dir, rules_dir)
    target = _member(group, member)
    ledger = _checked_ledger(group, reference, target)
    period = FinancialYear.closing_in(year, target.year_start)
    closed_on = as_of or today()
    problems = before_closing(ledger.entries, period, target.folder, closed_on, str(target.ledger))
    if problems:
        fail(problems)
    lock = close_year(ledger.entries, target.id, period, target.folder, closed_on)
    path = lock_path(target.folder, period)
    atomic_write(path, lock_text(lock))
    if as_json:
        dump_json({"member": target.id, "start": period.start, "end": period.end, "closed_on": closed_on,
                   "lock": path, "entries": len(lock.entries), "seal": lock.seal,
                   "a_nouveaux": [{"account": o.account, "link": o.link, "amount": money_json(o.amount)}
                                  for o in lock.opening]})
    else:
        click.echo(f"Exercice {period.french} de {target.name} clôturé le {fr_date(closed_on)} : "
                   f"{len(lock.entries)} écriture(s) scellée(s) dans {path}.")
        click.echo(f"À-nouveaux au {fr_date(period.next().start)} : {len(lock.opening)} ligne(s), "
                   "comptes de tiers détaillés par facture ouverte.")


COMMANDS = (import_command, fec_command, report_command, cloture_command)
