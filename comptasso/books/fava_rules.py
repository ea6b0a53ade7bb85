"""`rules/fava.toml`: what a member ledger may ask of Fava (options) and whether Fava may take uploads.

Like `rules/plugins.toml` for plugins, it is an allow-list: a `custom "fava-option"` whose name is
not on it is refused by `comptasso check` and by `comptasso serve`. Options that name files or
folders, or run code (`import-config`, `import-dirs`, `default-file`, `insert-entry`,
`use-external-editor`), are never allowed: the group configuration sets every path Fava reads
or writes, and each one stays inside the member's folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from comptasso.books.tomlfile import locate, read_toml, validate
from comptasso.problems import Problem

FAVA_RULES_FILE = "fava.toml"

#: Display settings a ledger may set when `rules/fava.toml` is absent or has no `allowed_options`.
DEFAULT_OPTIONS = frozenset({
    "account-journal-include-children",
    "conversion-currencies",
    "currency-column",
    "fiscal-year-end",
    "indent",
    "invert-gains-losses-colors",
    "invert-income-liabilities-equity",
    "language",
    "locale",
    "show-accounts-with-zero-balance",
    "show-accounts-with-zero-transactions",
    "show-closed-accounts",
    "show-metadata-indicators",
    "sidebar-show-queries",
    "upcoming-events",
    "uptodate-indicator-grey-lookback-days",
})

#: Options that name paths or code: no `rules/fava.toml` can allow them.
NEVER_OPTIONS = frozenset({"import-config", "import-dirs", "default-file", "insert-entry", "use-external-editor"})

#: Extensions an upload may have, when uploads are enabled.
DEFAULT_UPLOAD_EXTENSIONS = frozenset({"pdf", "png", "jpg", "csv", "ofx"})

#: The folder of a member (beside its ledger) where uploads land, when they are enabled.
DOCUMENTS_FOLDER = "documents"


class _Uploads(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool = False
    extensions: list[str] = Field(default_factory=lambda: sorted(DEFAULT_UPLOAD_EXTENSIONS))


class _FavaFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    allowed_options: list[str] = Field(default_factory=lambda: sorted(DEFAULT_OPTIONS))
    uploads: _Uploads = _Uploads()


@dataclass(frozen=True)
class FavaRules:
    """The Fava options a ledger may set, and the upload policy."""

    allowed_options: frozenset[str] = DEFAULT_OPTIONS
    uploads_enabled: bool = False
    upload_extensions: frozenset[str] = DEFAULT_UPLOAD_EXTENSIONS


def load_fava_rules(rules_dir: Path) -> tuple[FavaRules, list[Problem]]:
    """Read `rules/fava.toml` (the safe defaults when absent); a path or code option is refused by key."""
    path = Path(rules_dir) / FAVA_RULES_FILE
    if not path.exists():
        return FavaRules(), []
    raw, problems = read_toml(path)
    if problems:
        return FavaRules(), problems
    parsed, problems = validate(path, _FavaFile, raw)
    if parsed is None:
        return FavaRules(), problems
    text = path.read_text(encoding="utf-8")
    for name in parsed.allowed_options:
        if name in NEVER_OPTIONS:
            problems.append(Problem(
                str(path), locate(text, ("allowed_options",)),
                f"allowed_options : l'option Fava « {name} » ne peut pas être autorisée (elle désigne "
                "des fichiers ou du code : c'est la configuration du groupe qui les fixe)",
                code="fava-rules-never-option", subject=name))
    extensions = frozenset(e.lower().lstrip(".") for e in parsed.uploads.extensions)
    for bad in sorted(e for e in extensions if e in {"py", "pth", "beancount", "bean", "toml", "sh", "so"}):
        problems.append(Problem(str(path), locate(text, ("uploads", "extensions")),
                                f"uploads.extensions : l'extension « {bad} » ne peut pas être autorisée",
                                code="fava-rules-upload-extension", subject=bad))
    if problems:
        return FavaRules(), problems
    return FavaRules(frozenset(parsed.allowed_options), parsed.uploads.enabled, extensions), []
