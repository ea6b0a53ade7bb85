"""Regenerate the pictures of docs/guide.md and docs/board.md from the demo (`python -m bench.screenshots`).

Works on a private copy of the demo books in a temporary folder (the committed books, reports/ and
var/ are never touched): catches up the demo's 13 weekly mornings, writes the November statement,
renders three of its pages with pdftoppm, then serves the copy with log-in on a free local port and
photographs Fava's pages as each role sees them, with Debian's headless Chromium through Playwright
(as tests/test_browser.py does). Needs /usr/bin/chromium, pdftoppm (poppler-utils) and playwright.
"""

from __future__ import annotations

import io
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMG = ROOT / "docs" / "img"
AS_OF = "2026-11-30"
CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
#: The demo's users and their public passwords (docs/deployment.md).
USERS = {"compta": "demo-compta-2026", "tresorier-velo": "demo-velo-2026", "conseil": "demo-conseil-2026"}
#: Statement pages: (file name, text the page starts with or contains).
PDF_PAGES = (("statement-cover.png", "Relevé mensuel de la trésorerie mutualisée"),
             ("statement-forecast.png", "Fiabilité des prévisions passées"),
             ("statement-member.png", "Vélo Club Gapençais (velo-gap)"))


@dataclass(frozen=True)
class Demo:
    """The private copy of the demo: its books, rules and the statement written from them."""

    ledgers: Path
    rules: Path
    statement: Path


def _run(*args: str) -> None:
    """Run a command of the project; stop with its output when it fails."""
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"échec de {' '.join(args)} :\n{done.stdout}{done.stderr}")


def prepare_demo(folder: Path) -> Demo:
    """Copy the demo books, catch up its mornings and write its November statement (as `make demo` does)."""
    ledgers, rules = folder / "ledgers", folder / "rules"
    shutil.copytree(ROOT / "ledgers", ledgers)
    shutil.copytree(ROOT / "rules", rules)
    bin_dir = Path(sys.executable).parent
    common = ["--ledgers", str(ledgers), "--rules", str(rules), "--as-of", AS_OF]
    _run(str(bin_dir / "banquasso"), "scheduler", "--run", "daily", "--backfill", "91", "--backfill-step", "7",
         *common)
    statement = folder / "2026-11.pdf"
    _run(str(bin_dir / "banquasso"), "statement", "--month", AS_OF[:7], "-o", str(statement), *common)
    return Demo(ledgers, rules, statement)


def _page_numbers(pdf: Path) -> dict[str, int]:
    """The first page (1-based) holding each wanted text."""
    import pdfplumber

    found: dict[str, int] = {}
    with pdfplumber.open(io.BytesIO(pdf.read_bytes())) as document:
        for number, page in enumerate(document.pages, 1):
            text = " ".join((page.extract_text() or "").split())
            for name, wanted in PDF_PAGES:
                if name not in found and wanted in text:
                    found[name] = number
    missing = [name for name, _ in PDF_PAGES if name not in found]
    if missing:
        sys.exit(f"pages introuvables dans {pdf} : {', '.join(missing)}")
    return found


def pdf_pictures(pdf: Path, out: Path) -> list[Path]:
    """The statement's cover, accuracy and member pages as PNG files (pdftoppm, 70 dpi)."""
    written = []
    for name, number in _page_numbers(pdf).items():
        target = out / name
        _run("pdftoppm", "-png", "-r", "70", "-f", str(number), "-l", str(number), "-singlefile", str(pdf),
             str(target.with_suffix("")))
        written.append(target)
    return written


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def served(demo: Demo, workdir: Path) -> Iterator[str]:
    """`comptasso serve` of the demo copy, with its users, on a free port; yields its address."""
    import datetime as dt

    from cheroot.wsgi import Server

    from comptasso.web.access import load_users
    from comptasso.web.serve import AS_OF_CONFIG, build_app, prepare

    ledgers, problems = prepare(demo.ledgers, demo.rules, workdir)
    if problems and not ledgers:
        sys.exit("\n".join(str(p) for p in problems))
    users, problems = load_users(demo.rules / "users.toml", [s.member_id for s in ledgers if s.member_id])
    if users is None:
        sys.exit("\n".join(str(p) for p in problems))
    app = build_app(ledgers, users=users)
    app.config[AS_OF_CONFIG] = dt.date.fromisoformat(AS_OF)
    port = _free_port()
    wsgi = Server(("127.0.0.1", port), app)
    wsgi.prepare()
    thread = threading.Thread(target=wsgi.serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        wsgi.stop()
        thread.join(timeout=10)


def fava_pictures(url: str, out: Path) -> list[Path]:
    """The log-in page, then what the bookkeeper, the treasurer and the board each see first."""
    from playwright.sync_api import Page, sync_playwright

    written: list[Path] = []

    def shot(page: Page, name: str) -> None:
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(out / name))
        written.append(out / name)

    def log_in(page: Page, login: str) -> None:
        page.goto(f"{url}/")
        page.fill("#login", login)
        page.fill("#password", USERS[login])
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 860}, locale="fr-FR")
            page.goto(f"{url}/")
            shot(page, "guide-connexion.png")
            log_in(page, "tresorier-velo")  # a treasurer lands on their association's BanquAsso page
            member_page = page.url.split("?")[0]
            slug = member_page.removeprefix(url).split("/")[1]
            page.goto(f"{member_page}?as_of={AS_OF}")
            shot(page, "guide-tresorier.png")
            page.close()
            for login, address, name in (("compta", f"{url}/{slug}/journal/", "guide-comptable.png"),
                                         ("conseil", f"{member_page}?as_of={AS_OF}", "guide-conseil.png")):
                page = browser.new_page(viewport={"width": 1280, "height": 860}, locale="fr-FR")
                log_in(page, login)
                page.goto(address)
                if login == "conseil":
                    page.click("text=Trésorerie du groupement →")
                shot(page, name)
                page.close()
        finally:
            browser.close()
    return written


def main() -> int:
    if not CHROMIUM.exists() or shutil.which("pdftoppm") is None:
        sys.exit("il faut /usr/bin/chromium et pdftoppm (poppler-utils) pour refaire les images")
    IMG.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="banquasso-images-") as temp:
        demo = prepare_demo(Path(temp))
        written = pdf_pictures(demo.statement, IMG)
        with served(demo, Path(temp) / "serve") as url:
            written += fava_pictures(url, IMG)
    for path in written:
        print(path.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
