"""What Fava's pages hide from who cannot use it: write controls for read-only roles, saving the engine file.

The server refuses these writes anyway (comptasso.web.access for the board, comptasso.web.serve's
guard for `banquasso.beancount`); hiding the controls only spares users a button that cannot work.
A `<style>` (and, for the engine file, a small script following Fava's editor as it changes file) is
put at the start of each HTML page's `<head>`.
"""

from __future__ import annotations

from comptasso.model.checks import ENGINE_FILE

#: The class the page's `<html>` gets while Fava's editor shows the engine's file.
ENGINE_CLASS = "comptasso-engine-file"
#: The class the page's `<html>` gets for a user who may not write (board, `--read-only`).
READ_ONLY_CLASS = "comptasso-read-only"

#: Fava 1.30's write controls: the editor's and an entry's « Sauvegarder » and « Supprimer », the
#: « + » of « Ajouter une écriture », and the add-entry form itself.
_WRITE_CONTROLS = (
    'form:has(.cm-editor) button[type="submit"]',
    "form:has(.cm-editor) button.muted",
    'a[href="#add-transaction"]',
    ".overlay form:has(input[type=checkbox]) button[type=\"submit\"]",
)
_EDITOR_SAVE = ('form:has(.cm-editor) button[type="submit"]',)

STYLE = (
    "<style id=\"comptasso-controls\">"
    + ", ".join(f"html.{READ_ONLY_CLASS} {c}" for c in _WRITE_CONTROLS)
    + ", " + ", ".join(f"html.{ENGINE_CLASS} {c}" for c in _EDITOR_SAVE)
    + "{display:none !important}"
    f"html.{ENGINE_CLASS} form:has(.cm-editor)::before{{content:\"{ENGINE_FILE} est le fichier du moteur "
    "BanquAsso : il se lit ici, il ne se modifie pas.\";display:block;padding:.3rem .6rem;"
    "background:#fff4e5;border-left:4px solid #e69500}</style>"
)

#: Follows Fava's client-side navigation: the editor changes `?file_path=` without reloading the page.
ENGINE_SCRIPT = (
    "<script>(function(){var n='/" + ENGINE_FILE + "';function f(){var p=new URL(location.href)"
    ".searchParams.get('file_path')||'';var e=location.pathname.indexOf('/editor')>=0&&"
    "p.slice(-n.length)===n;document.documentElement.classList.toggle('" + ENGINE_CLASS + "',e);}"
    "f();new MutationObserver(f).observe(document.documentElement,{childList:true,subtree:true});"
    "addEventListener('popstate',f);})();</script>"
)

READ_ONLY_SCRIPT = f"<script>document.documentElement.classList.add('{READ_ONLY_CLASS}');</script>"


def head_html(*, read_only: bool) -> str:
    """What goes at the start of `<head>`: the style, the engine-file script, and the read-only mark."""
    return STYLE + ENGINE_SCRIPT + (READ_ONLY_SCRIPT if read_only else "")
