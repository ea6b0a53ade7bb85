"""Beancount's English errors as problems with a stable code and a French message before the original.

The errors users commonly hit (a number written the French way, an account never opened, an
unbalanced transaction, a failed balance assertion, an account opened twice...) are recognised by
their Beancount error class and the fixed part of Beancount's own wording; the original English
message is kept after the French one. Any other error keeps its English message, code
`beancount-error`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from comptasso.problems import Problem

BEANCOUNT_ERROR = "beancount-error"

Explain = Callable[["re.Match[str]"], str]


@dataclass(frozen=True)
class Translation:
    """One kind of Beancount error: its classes, the pattern of its message, its code and French text."""

    code: str
    classes: frozenset[str]
    pattern: re.Pattern[str]
    french: Explain
    subject_group: int = 0

    def applies(self, error: Any, message: str) -> re.Match[str] | None:
        if type(error).__name__ not in self.classes:
            return None
        return self.pattern.search(message)


def _rule(*, code: str, classes: str, pattern: str, french: Explain, subject_group: int = 0) -> Translation:
    return Translation(code, frozenset(classes.split()), re.compile(pattern), french, subject_group)


TRANSLATIONS: tuple[Translation, ...] = (
    _rule(code="number-format", classes="LexerError", subject_group=1,
          pattern=r"Invalid number format: '([^']*)'",
          french=lambda m: f"montant mal écrit « {m[1]} » : Beancount veut un point décimal, sans espace ni "
                           "séparateur de milliers (12.50 EUR, 1234.56 EUR)"),
    _rule(code="date-invalid", classes="LexerError",
          pattern=r"ValueError: (?:year|month|day) (?:must be in|is out of range)",
          french=lambda m: "date impossible : Beancount veut une date réelle au format AAAA-MM-JJ"),
    _rule(code="token-invalid", classes="LexerError", subject_group=1,
          pattern=r"Invalid token: '([^']*)'",
          french=lambda m: f"élément non reconnu « {m[1]} » : chaque partie d'un nom de compte commence par une "
                           "majuscule ou un chiffre (Assets:512-Banque)"),
    _rule(code="syntax-error", classes="ParserSyntaxError ParserError",
          pattern=r"syntax error",
          french=lambda m: "ligne mal formée : vérifiez l'indentation des lignes d'une écriture, les guillemets, "
                           "et que chaque montant est suivi de sa devise"),
    _rule(code="account-unknown", classes="ValidationError", subject_group=1,
          pattern=r"Invalid reference to unknown account '([^']+)'",
          french=lambda m: f"compte « {m[1]} » jamais ouvert : ajoutez une directive « open » datée au plus tard "
                           "du jour de sa première écriture"),
    _rule(code="account-inactive", classes="ValidationError", subject_group=1,
          pattern=r"Invalid reference to inactive account '([^']+)'",
          french=lambda m: f"compte « {m[1]} » fermé ou pas encore ouvert à la date de cette écriture"),
    _rule(code="account-close-unopened", classes="ValidationError", subject_group=1,
          pattern=r"Unopened account (\S+) is being closed",
          french=lambda m: f"fermeture du compte « {m[1]} », qui n'a jamais été ouvert"),
    _rule(code="open-duplicate", classes="ValidationError", subject_group=1,
          pattern=r"Duplicate open directive for (\S+)",
          french=lambda m: f"compte « {m[1]} » ouvert deux fois : gardez une seule directive « open »"),
    _rule(code="currency-not-allowed", classes="ValidationError", subject_group=2,
          pattern=r"Invalid currency (\S+) for account '([^']+)'",
          french=lambda m: f"devise {m[1]} refusée sur le compte « {m[2]} » (voir les devises de sa directive "
                           "« open »)"),
    _rule(code="transaction-unbalanced", classes="ValidationError",
          pattern=r"Transaction does not balance: \((.*)\)",
          french=lambda m: f"écriture déséquilibrée : ses lignes ne s'annulent pas, il reste {m[1]}"),
    _rule(code="balance-failed", classes="BalanceError", subject_group=1,
          pattern=r"Balance failed for '([^']+)': expected (.+?) != accumulated (.+?) \(",
          french=lambda m: f"contrôle de solde en échec sur « {m[1]} » : solde attendu {m[2]}, les écritures "
                           f"donnent {m[3]}"),
    _rule(code="auto-posting-multiple", classes="CategorizationError",
          pattern=r"more than one auto-posting",
          french=lambda m: "plusieurs lignes sans montant dans la même écriture : une seule peut rester sans "
                           "montant"),
)


def translate(error: Any) -> Problem:
    """A Beancount error (a namedtuple with source, message, entry) as a located, coded Problem."""
    original = str(getattr(error, "message", error)).strip()
    meta = getattr(error, "source", None) or {}
    file, line = str(meta.get("filename", "<inconnu>")), int(meta.get("lineno", 0) or 0)
    for rule in TRANSLATIONS:
        match = rule.applies(error, original)
        if match is not None:
            subject = match[rule.subject_group] if rule.subject_group else ""
            return Problem(file, line, f"{rule.french(match)} — Beancount : {original}", "error", rule.code, subject)
    return Problem(file, line, original, "error", BEANCOUNT_ERROR)
