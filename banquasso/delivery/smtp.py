"""Sending one message through the SMTP server of `rules/mail.toml` (stdlib smtplib: STARTTLS, SSL or plain)."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

from banquasso.delivery.settings import MailSettings
from comptasso.problems import Problem

MAIL_SEND_FAILED = "mail-send-failed"


class MailError(RuntimeError):
    """The SMTP server could not be reached or refused the message; the message is French."""

    code = MAIL_SEND_FAILED


def send(settings: MailSettings, message: EmailMessage) -> None:
    """Hand `message` to the SMTP server (login when `user` is set); MailError when it is not accepted."""
    password, problems = settings.password()
    if problems:
        raise MailError(problems[0].message)
    where = f"{settings.host}:{settings.port}"
    try:
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if settings.security == "ssl":
            smtp = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout_seconds, context=context)
        else:
            smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_seconds)
        with smtp:
            if settings.security == "starttls":
                smtp.starttls(context=context)
            if settings.user:
                smtp.login(settings.user, password or "")
            smtp.send_message(message)
    except smtplib.SMTPAuthenticationError as exc:
        raise MailError(f"serveur SMTP {where} : identifiant ou mot de passe refusé ({exc.smtp_code})") from exc
    except smtplib.SMTPRecipientsRefused as exc:
        raise MailError(f"serveur SMTP {where} : destinataire refusé ({', '.join(exc.recipients)})") from exc
    except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
        raise MailError(f"serveur SMTP {where} injoignable ou en erreur : {exc}") from exc


def send_problem(settings: MailSettings, error: MailError, recipient: str) -> Problem:
    """A failed send as a problem naming the settings file."""
    return Problem(str(settings.path), 0, f"envoi à {recipient} impossible — {error}", code=error.code,
                   subject=recipient)
