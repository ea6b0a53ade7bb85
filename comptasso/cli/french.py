"""click's own messages in French: a gettext catalogue (`locale/click.fr.po`) bound to click's modules.

click translates its strings with `gettext.gettext` / `gettext.ngettext`, imported by name in each of its
modules; those would pick the language from the environment (`LANGUAGE`, `LANG`), and the two commands
speak French whatever the machine's locale. So the catalogue is compiled once (babel reads the .po and
writes the .mo in memory, `gettext.GNUTranslations` reads it) and its two functions replace the names
`_` and `ngettext` in click's modules, for this process only.
"""

from __future__ import annotations

import functools
import gettext
import importlib
import io
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

CATALOGUE = Path(__file__).with_name("locale") / "click.fr.po"
CLICK_MODULES = ("core", "decorators", "exceptions", "formatting", "parser", "shell_completion",
                 "termui", "types", "utils")


@functools.cache
def catalogue() -> gettext.GNUTranslations:
    """The French translations of click's strings (a fuzzy or untranslated message stays English)."""
    with CATALOGUE.open("rb") as po:
        messages = read_po(po, locale="fr")
    mo = io.BytesIO()
    write_mo(mo, messages)
    mo.seek(0)
    return gettext.GNUTranslations(mo)


# click writes a value's type in capitals beside each option (`--lender TEXT`) and inside « 'x' is not a
# valid integer »; those names are plain class attributes, not gettext strings (`file`, `directory` and
# `path` are, and the catalogue has them).
TYPE_NAMES = {"StringParamType": "texte", "UnprocessedParamType": "texte", "IntParamType": "entier",
              "IntRange": "entier", "FloatParamType": "nombre", "FloatRange": "nombre",
              "BoolParamType": "booléen", "File": "fichier", "DateTime": "date"}


def speak_french() -> None:
    """Make click print its usage lines, errors and help frame in French (idempotent)."""
    types = importlib.import_module("click.types")
    for class_name, french_name in TYPE_NAMES.items():
        getattr(types, class_name).name = french_name
    translations = catalogue()
    for name in CLICK_MODULES:
        module = importlib.import_module(f"click.{name}")
        if hasattr(module, "_"):
            module._ = translations.gettext  # type: ignore[attr-defined]
        if hasattr(module, "ngettext"):
            module.ngettext = translations.ngettext  # type: ignore[attr-defined]


def untranslated() -> list[str]:
    """The messages of the catalogue left without a French string (tests keep it empty)."""
    with CATALOGUE.open("rb") as po:
        messages = read_po(po, locale="fr")
    return [str(m.id) for m in messages if m.id and not _translated(m.string)]


def _translated(string: str | tuple[str, ...] | list[str] | None) -> bool:
    if isinstance(string, str):
        return bool(string)
    return bool(string) and all(string or ())
