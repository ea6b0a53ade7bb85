"""Every picture the docs show exists, and every picture the screenshot script makes is shown (issue 15)."""

from __future__ import annotations

import re
from pathlib import Path

from bench import screenshots

ROOT = Path(__file__).resolve().parent.parent
IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")
PNG = b"\x89PNG\r\n\x1a\n"


def linked_images() -> dict[Path, list[str]]:
    """Each image file the Markdown docs (docs/*.md, README.md) link to, with the pages linking it."""
    found: dict[Path, list[str]] = {}
    for page in [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]:
        for target in IMAGE.findall(page.read_text(encoding="utf-8")):
            if "://" not in target:
                found.setdefault((page.parent / target).resolve(), []).append(page.name)
    return found


def test_the_link_pattern_reads_markdown_images() -> None:
    assert IMAGE.findall("texte ![Une image](img/a.png) et [un lien](b.md) ![](c.png)") == ["img/a.png", "c.png"]


def test_every_linked_image_exists_and_is_a_png() -> None:
    images = linked_images()
    assert len(images) >= 7
    missing = {str(p.relative_to(ROOT)): pages for p, pages in images.items() if not p.is_file()}
    assert missing == {}
    for path in images:
        if path.suffix == ".png":
            assert path.read_bytes()[:8] == PNG, path


def test_the_guide_shows_each_role_and_every_picture_of_the_script() -> None:
    made = {name for name, _ in screenshots.PDF_PAGES} | {
        "guide-connexion.png", "guide-comptable.png", "guide-tresorier.png", "guide-conseil.png"}
    shown = {p.name for p in linked_images()}
    assert made <= shown
    guide = (ROOT / "docs" / "guide.md").read_text(encoding="utf-8")
    for login in screenshots.USERS:
        assert f"`{login}`" in guide
    source = Path(screenshots.__file__).read_text(encoding="utf-8")
    assert all(name in source for name in made)  # the script writes them, not a hand
