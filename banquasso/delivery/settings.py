"""`rules/mail.toml`: the SMTP server the statement and the alerts leave through, checked key by key.

The password is never written in the file: `password_env` names the environment variable that
holds it, read when a message is sent.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from comptasso.books.group import EMAIL
from comptasso.books.tomlfile import read_toml, validate
from comptasso.problems import Problem

MAIL_FILE = "mail.toml"
Security = Literal["starttls", "ssl", "none"]
#: Problem codes of this module.
MAIL_MISSING = "mail-settings-missing"
MAIL_SECRET_UNSET = "mail-password-missing"  # noqa: S105 - a problem code, not a password
ENV_NAME = r"^[A-Z_][A-Z0-9_]*$"


class _MailTable(BaseModel):
    model_config = ConfigDict(extra="forbid")
    host: str = Field(min_length=1)
    port: int = Field(ge=1, le=65535)
    security: Security = "starttls"
    user: str | None = None
    password_env: str | None = Field(default=None, pattern=ENV_NAME)
    sender: str
    timeout_seconds: int = Field(default=30, ge=1, le=600)

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str) -> str:
        address = value.rsplit("<", 1)[-1].rstrip(">").strip()
        if not re.fullmatch(EMAIL, address):
            raise ValueError(f"adresse d'expéditeur invalide « {value} » (attendu nom@domaine.fr "
                             "ou « Nom <nom@domaine.fr> »)")
        return value


class _MailFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    smtp: _MailTable


@dataclass(frozen=True)
class MailSettings:
    """Where and how messages are sent."""

    path: Path
    host: str
    port: int
    security: Security
    user: str | None
    password_env: str | None
    sender: str
    timeout_seconds: int = 30

    def password(self) -> tuple[str | None, list[Problem]]:
        """The SMTP password from the environment (None without `password_env`); a missing variable is a problem."""
        if self.password_env is None:
            return None, []
        value = os.environ.get(self.password_env)
        if value is None:
            return None, [Problem(str(self.path), 0, f"smtp.password_env : la variable d'environnement "
                                                     f"{self.password_env} n'est pas définie (mot de passe SMTP)",
                                  code=MAIL_SECRET_UNSET, subject="smtp.password_env")]
        return value, []


def mail_file(rules_dir: Path) -> Path:
    """`rules/mail.toml`."""
    return Path(rules_dir) / MAIL_FILE


def load_mail_settings(rules_dir: Path) -> tuple[MailSettings | None, list[Problem]]:
    """Read and check `rules/mail.toml`; a missing file or one without any table is `mail-settings-missing`."""
    path = mail_file(rules_dir)
    if not path.is_file():
        return None, [Problem(str(path), 0, "fichier absent : l'envoi par courriel demande les réglages SMTP "
                                            "(voir docs/board.md, « Envoi par courriel »)", code=MAIL_MISSING)]
    raw, problems = read_toml(path)
    if problems:
        return None, problems
    if not raw:
        return None, [Problem(str(path), 0, "aucune table [smtp] : l'envoi par courriel n'est pas réglé "
                                            "(décommentez et remplissez la table [smtp])", code=MAIL_MISSING)]
    parsed, problems = validate(path, _MailFile, raw)
    if parsed is None:
        return None, problems
    s = parsed.smtp
    return MailSettings(path, s.host, s.port, s.security, s.user, s.password_env, s.sender, s.timeout_seconds), []
