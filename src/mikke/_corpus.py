"""The corpus: which files are posts, and one file -> one ``Post``.

A post's metadata comes from its YAML front matter (title, date, tags,
categories, excerpt, permalink), falling back to the file name
(``2025-09-26-slug.md``) and the first heading. Its URL follows Jekyll's
permalink pattern. A file that cannot be read or parsed raises ``PostError``
with the reason; the indexer reports it and goes on.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import frontmatter
import pathspec
import yaml

from ._config import Config
from ._errors import CorpusError, PostError
from ._markdown import inline_text, parse_sections
from ._models import Post

#: Larger files are reported and skipped: no blog post is this long.
MAX_POST_BYTES = 8 * 1024 * 1024

_DATED_NAME = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})-(.+)$")
_DATE_PREFIX = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})")
_PERMALINK_STYLES = {
    "date": "/:categories/:year/:month/:day/:title.html",
    "pretty": "/:categories/:year/:month/:day/:title/",
    "ordinal": "/:categories/:year/:y_day/:title.html",
    "none": "/:categories/:title.html",
}


def iter_post_paths(config: Config) -> Iterator[str]:
    """Relative paths (``/``-separated, sorted) of the corpus files that are posts.

    Symbolic links to directories are not followed, so a link loop cannot trap the walk.
    """
    root = config.corpus
    if not root.is_dir():
        raise CorpusError(f"corpus directory not found: {root} (set --corpus or MIKKE_CORPUS)")
    include = pathspec.PathSpec.from_lines("gitwildmatch", config.include)
    exclude = pathspec.PathSpec.from_lines("gitwildmatch", config.exclude)
    found = []
    for directory, subdirs, files in os.walk(root, onerror=None, followlinks=False):
        relative_dir = Path(directory).relative_to(root).as_posix()
        prefix = "" if relative_dir == "." else relative_dir + "/"
        subdirs[:] = sorted(d for d in subdirs if not exclude.match_file(prefix + d + "/"))
        for name in files:
            path = prefix + name
            if include.match_file(path) and not exclude.match_file(path):
                found.append(path)
    yield from sorted(found)


def read_text(path: Path) -> tuple[str, str]:
    """The decoded text of a file and the hash of its bytes.

    UTF-8 (with or without BOM) and UTF-16 with a BOM are accepted; anything else
    raises ``PostError`` naming the problem.
    """
    try:
        size = path.stat().st_size
        if size > MAX_POST_BYTES:
            raise PostError(f"file is {size / 2**20:.1f} MiB, over the {MAX_POST_BYTES // 2**20} MiB limit")
        data = path.read_bytes()
    except OSError as error:
        raise PostError(f"cannot read file: {error.strerror or error}") from None
    content_hash = hashlib.sha256(data).hexdigest()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), content_hash
        except UnicodeDecodeError as error:
            raise PostError(f"invalid UTF-16 at byte {error.start}") from None
    if b"\x00" in data:
        raise PostError("binary file (contains NUL bytes)")
    try:
        return data.decode("utf-8-sig"), content_hash
    except UnicodeDecodeError as error:
        raise PostError(f"not valid UTF-8 (byte 0x{data[error.start]:02x} at offset {error.start})") from None


def _as_list(value: Any) -> tuple[str, ...]:
    """Jekyll accepts a list or a space-separated string for tags and categories."""
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(value.split())
    if isinstance(value, Iterable):
        return tuple(str(v).strip() for v in value if v is not None and str(v).strip())
    return (str(value),)


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and (match := _DATE_PREFIX.match(value)):
        try:
            return dt.date(*map(int, match.groups()))
        except ValueError:
            return None
    return None


def post_url(
    relpath: str, meta: dict[str, Any], date: dt.date | None, categories: tuple[str, ...], config: Config
) -> str:
    """The URL Jekyll gives the page: ``permalink`` front matter, else the pattern for posts.

    >>> post_url("_posts/2025-09-26-hello.md", {}, dt.date(2025, 9, 26), ("投資",), Config())
    '/%E6%8A%95%E8%B3%87/2025/09/26/hello.html'
    """
    stem = Path(relpath).stem
    dated = _DATED_NAME.match(stem)
    slug = str(meta.get("slug") or (dated.group(4) if dated else stem))
    is_post = relpath.startswith("_posts/") or "/_posts/" in relpath
    pattern = str(meta.get("permalink") or (config.permalink if is_post else ""))
    pattern = _PERMALINK_STYLES.get(pattern, pattern)
    if not pattern:  # a page: its path, .md -> .html, index -> directory
        page = Path(relpath).with_suffix(".html").as_posix()
        url = "/" + (page[: -len("index.html")] if Path(page).name == "index.html" else page)
    else:
        values = {
            "categories": "/".join(quote(c.lower(), safe="") for c in categories),
            "title": quote(slug, safe=""),
            "slug": quote(slug, safe=""),
            "path": quote(Path(relpath).with_suffix("").as_posix()),
            "year": f"{date.year:04d}" if date else "",
            "month": f"{date.month:02d}" if date else "",
            "day": f"{date.day:02d}" if date else "",
            "i_month": str(date.month) if date else "",
            "i_day": str(date.day) if date else "",
            "short_year": f"{date.year % 100:02d}" if date else "",
            "y_day": f"{date.timetuple().tm_yday:03d}" if date else "",
        }
        url = re.sub(r":(\w+)", lambda m: values.get(m.group(1), m.group(0)), pattern)
        url = re.sub(r"/{2,}", "/", url)
    return config.base_url.rstrip("/") + url


def parse_post(relpath: str, text: str, content_hash: str, config: Config) -> Post:
    """Parse one post's text; raises ``PostError`` for broken front matter."""
    try:
        document = frontmatter.loads(text)
    except yaml.YAMLError as error:
        reason = str(error).splitlines()[0]
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise PostError(f"invalid YAML front matter{where}: {reason}") from None
    meta = document.metadata if isinstance(document.metadata, dict) else {}
    sections = parse_sections(document.content, config.anchor_scheme)
    stem = Path(relpath).stem
    dated = _DATED_NAME.match(stem)
    date = _as_date(meta.get("date")) or (
        _as_date(f"{dated.group(1)}-{dated.group(2)}-{dated.group(3)}") if dated else None
    )
    categories = _as_list(meta.get("categories", meta.get("category")))
    title = inline_text(str(meta["title"])) if meta.get("title") else ""
    if not title:
        title = next((s.heading for s in sections if s.heading), "") or (dated.group(4) if dated else stem)
    return Post(
        path=relpath,
        title=title,
        url=post_url(relpath, meta, date, categories, config),
        date=date,
        tags=_as_list(meta.get("tags", meta.get("tag"))),
        categories=categories,
        excerpt=inline_text(str(meta.get("excerpt") or meta.get("description") or "")),
        sections=tuple(sections),
        content_hash=content_hash,
    )


def load_post(relpath: str, config: Config) -> Post:
    """Read and parse one corpus file; raises ``PostError`` with the reason."""
    text, content_hash = read_text(config.corpus / relpath)
    return parse_post(relpath, text, content_hash, config)
