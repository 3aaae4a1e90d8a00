"""Markup residue: how much markup leaks into the passages of real sites.

For each site under ``SITES_DIR`` (default ``../shared/data/sites``), every file
mikke counts as a post is parsed through the library (``iter_post_paths`` and
``load_post``, exactly what ``mikke index`` reads); the script prints files,
posts, skipped files (reasons summarised), passages, and the share of text
passages that still carry markup. Code passages (``kind == "code"``) are code
and are not counted. Target: at most 0.5 % on every site.

    python bench/markup_residue.py [SITES_DIR] [--site NAME ...] [--show N] [--index]

``--show N`` prints N leaking passages per site; ``--index`` also builds a real
index of each site in a temporary directory through ``mikke.update_index``.

Data: see each site's SOURCE.md for its source, licence and attribution.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from markdown_it import MarkdownIt

from mikke import Config, PostError, iter_post_paths, load_post, update_index

_MD = MarkdownIt("commonmark")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n.*?^(?:---|\.\.\.)[ \t]*$", re.S | re.M)
DEFAULT_SITES = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "sites"
TARGET = 0.005

#: What counts as leaked markup, by name: template tags, MDX, kramdown and DocFX
#: syntax, Markdown links, cpprefjp annotations, and HTML tags (named, so that
#: C++ templates such as ``vector<int>`` in inline code are not counted).
_HTML_TAGS = (
    "a|abbr|b|blockquote|br|caption|center|code|col|colgroup|dd|details|div|dl|dt|em|figcaption|figure|font|"
    "h[1-6]|hr|i|iframe|img|kbd|li|ol|p|pre|s|script|section|small|source|span|strong|style|sub|summary|sup|"
    "table|tbody|td|tfoot|th|thead|tr|u|ul|video"
)
RESIDUE = {
    "{%": re.compile(r"{%"),
    "{{": re.compile(r"{{"),
    "{:": re.compile(r"{:"),
    "{/*": re.compile(r"{/\*"),
    "](": re.compile(r"\]\("),
    "[!": re.compile(r"\[!"),
    "* x[": re.compile(r"\S\[(?:meta|link|color|italic)(?:[ \t][^\]\n]*)?\]"),  # cpprefjp, bullet gone
    "html": re.compile(rf"</?(?:{_HTML_TAGS})(?:\s[^<>]*)?/?>|<!--", re.I),
    "jsx": re.compile(r"(?:^|\s)</?[A-Z][A-Za-z]*(?:\s[^<>]*)?/?>"),
    "import/export": re.compile(r"^(?:import|export)\s.*(?:from\s+['\"]|=)", re.M),
    ":::": re.compile(r"^\s*:::", re.M),
}


def residue(text: str) -> list[str]:
    """Names of the markup patterns found in ``text``.

    >>> residue("<div>GPU</div> は {% Aside %} [速い](x)")
    ['{%', '](', 'html']
    >>> residue("std::vector<int> を使う")
    []
    """
    return [name for name, pattern in RESIDUE.items() if pattern.search(text)]


def without_code(source: str) -> str:
    """The Markdown body (no front matter) with its code blocks and inline code spans blanked out.

    >>> without_code("`<Suspense>` で囲む。\\n\\n```jsx\\n<App />\\n```\\n")
    ' で囲む。\\n\\n'
    """
    source = _FRONT_MATTER.sub("", source)
    tokens = _MD.parse(source)
    lines = source.splitlines(keepends=True)
    for token in tokens:
        if token.type in ("fence", "code_block") and token.map:
            start, end = token.map
            lines[start:end] = [""] * (end - start)
    source = "".join(lines)
    spans = {
        child.content
        for token in tokens
        if token.type == "inline"
        for child in token.children or []
        if child.type == "code_inline"
    }
    for span in sorted(spans, key=len, reverse=True):
        source = source.replace(f"`{span}`", "")
    return source


def leaked(text: str, source: str) -> list[str]:
    """The residue patterns of ``text`` that occur in ``source`` exactly as written there.

    Markup that leaked is copied verbatim from the source. Text such as
    ``\\<img\\>``, ``&lt;img&gt;`` or `` `<img>` ``, which the page itself shows as
    ``<img>``, is content: ``source`` is passed without code
    (``without_code``) and escaped forms do not match.

    >>> leaked("HTML の <img> タグと <div>", "HTML の \\\\<img\\\\> タグと <div>")
    ['html']
    """
    return [
        name
        for name, pattern in RESIDUE.items()
        if any(match.group(0).strip() in source for match in pattern.finditer(text))
    ]


def _reason_kind(reason: str) -> str:
    """A skip reason without the details that differ per file."""
    return re.sub(r"\d+(\.\d+)?", "N", reason.split(":")[0])


@dataclass
class SiteResidue:
    """What ``measure`` found on one site."""

    site: str
    files: int = 0
    posts: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    passages: int = 0
    code: int = 0
    literal: int = 0  # text passages matching a pattern, markup or literal text
    leaking: int = 0  # text passages holding markup as the source wrote it: the residue
    kinds: Counter[str] = field(default_factory=Counter)
    examples: list[tuple[str, str]] = field(default_factory=list)

    @property
    def share(self) -> float:
        """Leaking text passages over all text passages: the residue."""
        text = self.passages - self.code
        return self.leaking / text if text else 0.0

    @property
    def literal_share(self) -> float:
        """Text passages matching a pattern at all over all text passages."""
        text = self.passages - self.code
        return self.literal / text if text else 0.0


def measure(site: Path, show: int = 0) -> SiteResidue:
    """Parse every post of ``site`` and count passages with markup residue."""
    config = Config(corpus=site)
    paths = list(iter_post_paths(config))
    row = SiteResidue(site.name, files=len(paths))
    for relpath in paths:
        try:
            post = load_post(relpath, config)
        except PostError as error:
            row.skipped[_reason_kind(str(error))] += 1
            continue
        row.posts += 1
        source: str | None = None
        for _, passage in post.passages():
            row.passages += 1
            if passage.kind == "code":
                row.code += 1
                continue
            if not residue(passage.text):
                continue
            row.literal += 1
            if source is None:
                source = without_code((site / relpath).read_text(encoding="utf-8", errors="replace"))
            found = leaked(passage.text, source)
            if found:
                row.leaking += 1
                row.kinds.update(found)
                if len(row.examples) < show:
                    row.examples.append((relpath, passage.text))
    return row


def index_site(site: Path) -> str:
    """Build a real index of ``site`` in a temporary directory; a one-line summary."""
    work = Path(tempfile.mkdtemp(prefix=f"mikke-{site.name}-"))
    try:
        started = time.perf_counter()
        report = update_index(Config(corpus=site, index=work / "index"), full=True)
        return (
            f"{report.added} added, {len(report.skipped)} skipped, {report.passages} passages "
            f"in {time.perf_counter() - started:.1f}s"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sites_dir", nargs="?", type=Path, default=DEFAULT_SITES)
    parser.add_argument("--site", action="append", help="Only this site (repeatable).")
    parser.add_argument("--show", type=int, default=0, help="Print this many leaking passages per site.")
    parser.add_argument("--index", action="store_true", help="Also build an index of each site (slow).")
    args = parser.parse_args(argv)
    if not args.sites_dir.is_dir():
        print(f"no sites directory at {args.sites_dir}", file=sys.stderr)
        return 1
    sites = sorted(p for p in args.sites_dir.iterdir() if p.is_dir() and (not args.site or p.name in args.site))
    rows = []
    for site in sites:
        row = measure(site, args.show)
        rows.append(row)
        for relpath, text in row.examples:
            print(f"--- {site.name}/{relpath}\n{text}\n", file=sys.stderr)
        if args.index:
            print(f"{site.name}: indexed: {index_site(site)}", file=sys.stderr)
    header = (
        f"{'site':<19}{'files':>6}{'posts':>6}{'skipped':>8}{'passages':>9}{'code':>7}"
        f"{'literal':>8}{'share':>7}{'leaking':>8}{'residue':>8}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row.site:<19}{row.files:>6}{row.posts:>6}{sum(row.skipped.values()):>8}{row.passages:>9}"
            f"{row.code:>7}{row.literal:>8}{row.literal_share:>7.2%}{row.leaking:>8}{row.share:>8.2%}  "
            + ("ok" if row.share <= TARGET else "OVER")
        )
    for row in rows:
        if row.skipped:
            print(f"{row.site} skipped: " + ", ".join(f"{n} × {k}" for k, n in row.skipped.items()))
        if row.kinds:
            print(f"{row.site} residue by pattern: " + ", ".join(f"{k} {n}" for k, n in row.kinds.most_common()))
    print(
        f"residue = leaking / text passages (code passages excluded); target at most {TARGET:.1%} per site.\n"
        "literal = text passages matching a pattern at all, also text the page shows as such\n"
        "(`<Suspense>` in inline code, \\<img\\> escaped); leaking = holding markup as the source wrote it.\n"
        "data: the sites' SOURCE.md files name their sources, licences and attributions"
    )
    return 0 if all(row.share <= TARGET for row in rows) else 2


if __name__ == "__main__":
    sys.exit(main())
