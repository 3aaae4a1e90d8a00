"""The corpus: which files are posts, and one file -> one ``Post``.

A post's metadata comes from its YAML front matter (title, date, tags,
categories, excerpt, permalink), falling back to the file name
(``2025-09-26-slug.md``) and the first heading. Its URL follows Jekyll's
permalink pattern. A file that cannot be read or parsed (not UTF-8 or UTF-16/32
with a BOM, binary, broken YAML, over ``MAX_POST_BYTES`` or ``MAX_POST_LINES``,
not a regular file, gone or unreadable) raises ``PostError`` with the reason;
the indexer reports it and goes on.
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pathspec
import yaml

from ._config import Config
from ._errors import CorpusError, PostError, PostUnreadableError
from ._jekyll import PERMALINK_STYLES, escape_path, front_matter, path_categories, slugify
from ._markdown import inline_text, parse_sections, strip_liquid
from ._models import Post

#: Larger files are reported and skipped, so that one file cannot stall a run: no post
#: is this long (the largest page of the four real sites tested is 0.35 MiB, 14,365 lines).
MAX_POST_BYTES = 1024 * 1024
#: Files with more lines are reported and skipped (Markdown parsing cost grows with lines).
MAX_POST_LINES = 50_000

_DATED_NAME = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})-(.+)$")
_DATE_PREFIX = re.compile(r"^\s*(\d{4})[-/](\d{1,2})[-/](\d{1,2})")
_US_DATE = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/(\d{4})")
_LIST_SPLIT = re.compile(r"[,\s]+")
_FRONT_MATTER_OPEN = re.compile(r"\A---[ \t]*\r?\n")
_FRONT_MATTER_CLOSE = re.compile(r"^(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.M)
_BOMS = (
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\xfe\xff", "utf-16-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xef\xbb\xbf", "utf-8"),
)
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")  # fmt: skip
#: Front matter keys that give a post's date, in order of preference.
DATE_KEYS = ("date", "ms.date")


@dataclass(frozen=True)
class CorpusScan:
    """What a walk of the corpus found: the posts, and what it could not take.

    ``bad_names``: files whose names are not valid UTF-8 (shown with ``\\xNN`` escapes), skipped;
    ``unreadable``: directories that could not be listed (``""`` for the root) -> the reason.
    """

    paths: list[str] = field(default_factory=list)
    bad_names: list[str] = field(default_factory=list)
    unreadable: dict[str, str] = field(default_factory=dict)

    def unread(self, relpath: str) -> bool:
        """True when ``relpath`` lies under a directory that could not be read.

        >>> CorpusScan(unreadable={"docs": "Permission denied"}).unread("docs/a.md")
        True
        """
        return any(not d or relpath.startswith(d + "/") for d in self.unreadable)


def scan_corpus(config: Config) -> CorpusScan:
    """The posts of the corpus (relative ``/``-separated paths, sorted) and what could not be read.

    Symbolic links to directories are not followed, so a link loop cannot trap the walk.
    A name that is not valid UTF-8 (a Shift_JIS zip from Windows) and a directory that
    cannot be listed are reported, never fatal.
    """
    root = config.corpus
    if not root.is_dir():
        raise CorpusError(f"corpus directory not found: {root} (set --corpus or MIKKE_CORPUS)")
    include = pathspec.GitIgnoreSpec.from_lines(config.include)
    excludes = [pathspec.GitIgnoreSpec.from_lines(lines) for lines in (config.exclude, config.site_exclude) if lines]
    scan = CorpusScan()

    def excluded(path: str) -> bool:
        return any(spec.match_file(path) for spec in excludes)

    def unreadable(error: OSError) -> None:
        where = Path(error.filename or root).relative_to(root).as_posix()
        scan.unreadable[shown_name("" if where == "." else where)] = error.strerror or str(error)

    for directory, subdirs, files in os.walk(root, onerror=unreadable, followlinks=False):
        relative_dir = Path(directory).relative_to(root).as_posix()
        prefix = "" if relative_dir == "." else relative_dir + "/"
        subdirs[:] = sorted(d for d in subdirs if not excluded(prefix + d + "/"))
        for name in files:
            path = prefix + name
            if include.match_file(path) and not excluded(path):
                if shown_name(path) == path:
                    scan.paths.append(path)
                else:
                    scan.bad_names.append(shown_name(path))
    scan.paths.sort()
    scan.bad_names.sort()
    return scan


def shown_name(path: str) -> str:
    """A file name as text: bytes that are not UTF-8 (surrogates from the file system) as ``\\xNN``.

    >>> shown_name(os.fsdecode(b"bad\\xff.md")), shown_name("記事.md")
    ('bad\\\\xff.md', '記事.md')
    """
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def iter_post_paths(config: Config) -> Iterator[str]:
    """Relative paths (``/``-separated, sorted) of the corpus files that are posts (see :func:`scan_corpus`)."""
    yield from scan_corpus(config).paths


def read_text(path: Path) -> tuple[str, str]:
    """The decoded text of a file and the hash of its bytes.

    UTF-8 (with or without BOM) and UTF-16/32 with a BOM are accepted; anything else
    (another encoding, a binary file, a file too large, a FIFO, a link loop, a file
    that vanished) raises ``PostError`` naming the problem; ``PostUnreadableError`` when the
    file is there but cannot be read (permissions, I/O errors).
    """
    try:
        info = path.stat()  # before opening: opening a FIFO would block
        if not stat.S_ISREG(info.st_mode):
            raise PostError("not a regular file")
        if info.st_size > MAX_POST_BYTES:
            raise PostError(_too_large(info.st_size))
        with path.open("rb") as file:
            data = file.read(MAX_POST_BYTES + 1)
    except OSError as error:
        kind = PostUnreadableError if error.errno in (errno.EACCES, errno.EPERM, errno.EIO) else PostError
        raise kind(f"cannot read file: {error.strerror or error}") from None
    if len(data) > MAX_POST_BYTES:  # it grew after the size check
        raise PostError(_too_large(len(data)))
    return _decode(data), hashlib.sha256(data).hexdigest()


def _too_large(size: int) -> str:
    return f"file too large: {size / 2**20:.1f} MiB, over the {MAX_POST_BYTES / 2**20:g} MiB limit (MAX_POST_BYTES)"


def _decode(data: bytes) -> str:
    """Bytes -> text by BOM (UTF-32, UTF-16, UTF-8) or as UTF-8; ``PostError`` otherwise.

    >>> _decode("\\ufeff見出し".encode("utf-16-le")), _decode("本文".encode())
    ('見出し', '本文')
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                text = data[len(bom) :].decode(encoding)
            except UnicodeDecodeError as error:
                raise PostError(f"invalid {encoding.upper()} at byte {error.start + len(bom)}") from None
            break
    else:
        if b"\x00" in data:
            raise PostError("binary file (contains NUL bytes)")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise PostError(f"not valid UTF-8 (byte 0x{data[error.start]:02x} at offset {error.start})") from None
    if "\x00" in text:
        raise PostError("binary file (contains NUL characters)")
    return text


try:  # libyaml's parser when PyYAML was built with it: the same documents, several times faster
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]


class _YamlLoader(_SafeLoader):
    """Safe YAML that keeps timestamps as strings, so an impossible date cannot break a post."""


def _timestamp_as_text(loader: _SafeLoader, node: yaml.Node) -> Any:
    return loader.construct_scalar(node)  # type: ignore[arg-type]


_YamlLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """YAML front matter (between ``---`` lines at the top) and the body after it.

    Raises ``PostError`` for front matter that is not valid YAML; front matter that
    is not a mapping counts as empty.

    >>> split_front_matter("---\\ntitle: 見出し\\ndate: 2024-02-30\\n---\\n本文\\n")
    ({'title': '見出し', 'date': '2024-02-30'}, '本文\\n')
    >>> split_front_matter("--- \\n---")
    ({}, '')
    """
    opening = _FRONT_MATTER_OPEN.match(text)
    closing = _FRONT_MATTER_CLOSE.search(text, opening.end()) if opening else None
    if not opening or not closing:
        return {}, text
    try:
        meta = yaml.load(text[opening.end() : closing.start()], Loader=_YamlLoader)
    except yaml.YAMLError as error:
        reason = str(error).splitlines()[0]
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 2})" if mark is not None else ""
        raise PostError(f"invalid YAML front matter{where}: {reason}") from None
    except RecursionError:
        raise PostError("invalid YAML front matter: nested too deeply") from None
    return (meta if isinstance(meta, dict) else {}), text[closing.end() :]


def _scalar(value: Any) -> str:
    """A front matter value as text; lists, mappings and nulls give ``""``."""
    return str(value).strip() if isinstance(value, str | int | float | dt.date) and value is not True else ""


def _as_list(value: Any) -> tuple[str, ...]:
    """Tags and categories: a list, or a string separated by spaces or commas (as Jekyll splits).

    >>> _as_list("AI, 投資 チップ"), _as_list(["AI", 2025, None, ["nested"]])
    (('AI', '投資', 'チップ'), ('AI', '2025'))
    """
    if isinstance(value, str):
        return tuple(v for v in _LIST_SPLIT.split(value) if v)
    if isinstance(value, list | tuple):
        return tuple(v for v in map(_scalar, value) if v)
    return (text,) if (text := _scalar(value)) else ()


def _as_date(value: Any) -> dt.date | None:
    """A date from a YAML date or a string (``2024-05-26``, ``2024/05/26``, ``05/26/2024``).

    >>> _as_date("2022-05-26 10:00:00 +0900"), _as_date("03/18/2022"), _as_date("2024-02-30")
    (datetime.date(2022, 5, 26), datetime.date(2022, 3, 18), None)
    """
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str):
        return None
    if match := _DATE_PREFIX.match(value):
        year, month, day = match.groups()
    elif match := _US_DATE.match(value):
        month, day, year = match.groups()
    else:
        return None
    try:
        return dt.date(int(year), int(month), int(day))
    except ValueError:
        return None


def is_post(relpath: str) -> bool:
    """Whether a file is a Jekyll post (in a ``_posts`` folder)."""
    return relpath.startswith("_posts/") or "/_posts/" in relpath


def url_categories(relpath: str, meta: dict[str, Any]) -> tuple[str, ...]:
    """A post's categories as Jekyll's ``:categories`` takes them: the folders above ``_posts``,
    then ``categories`` (a string split at spaces) and ``category``, each once, lower case.

    >>> url_categories("tech/_posts/2025-01-01-a.md", {"categories": "AI 投資", "category": "Tech"})
    ('tech', 'ai', '投資')
    """
    found = list(path_categories(relpath))
    for key in ("categories", "category"):
        value = meta.get(key)
        found += value.split() if isinstance(value, str) and key == "categories" else _as_list(value)
    return tuple(dict.fromkeys(c.lower() for c in found))


def post_url(
    relpath: str, meta: dict[str, Any], date: dt.date | None, categories: tuple[str, ...], config: Config
) -> str:
    """The URL Jekyll gives the page: ``permalink`` front matter, else the pattern for posts.
    ``categories``: as :func:`url_categories` gives them.

    >>> post_url("_posts/2025-09-26-hello.md", {}, dt.date(2025, 9, 26), ("投資",), Config())
    '/%E6%8A%95%E8%B3%87/2025/09/26/hello.html'
    """
    stem = Path(relpath).stem
    dated = _DATED_NAME.match(stem)
    name = _scalar(meta.get("slug")) or (dated.group(4) if dated else stem)
    pattern = strip_liquid(_scalar(meta.get("permalink"))) or (config.permalink if is_post(relpath) else "")
    pattern = PERMALINK_STYLES.get(pattern, pattern)
    if not pattern:  # a page: its path, .md -> .html, index -> directory
        page = Path(relpath).with_suffix(".html").as_posix()
        url = "/" + (page[: -len("index.html")] if Path(page).name == "index.html" else page)
    else:
        values = {
            "categories": escape_path("/".join(categories)),
            "title": escape_path(slugify(name)),
            "slug": escape_path(slugify(name, pretty=False)),
            "path": quote(Path(relpath).with_suffix("").as_posix()),
            "year": f"{date.year:04d}" if date else "",
            "month": f"{date.month:02d}" if date else "",
            "day": f"{date.day:02d}" if date else "",
            "i_month": str(date.month) if date else "",
            "i_day": str(date.day) if date else "",
            "short_year": f"{date.year % 100:02d}" if date else "",
            "y_day": f"{date.timetuple().tm_yday:03d}" if date else "",
            "week": f"{date.isocalendar()[1]:02d}" if date else "",
            "w_year": str(date.isocalendar()[0]) if date else "",
            "w_day": str(date.isocalendar()[2]) if date else "",
            "short_day": _DAYS[date.weekday()][:3] if date else "",
            "long_day": _DAYS[date.weekday()] if date else "",
            "short_month": _MONTHS[date.month - 1][:3] if date else "",
            "long_month": _MONTHS[date.month - 1] if date else "",
            "output_ext": ".html",
        }
        url = re.sub(r":(\w+)", lambda m: values.get(m.group(1), m.group(0)), pattern)
        url = re.sub(r"/{2,}", "/", url)
    return config.base_url.rstrip("/") + url


def parse_post(relpath: str, text: str, content_hash: str, config: Config) -> Post:
    """Parse one post's text; raises ``PostError`` for broken front matter.

    The title comes from the front matter, else the first heading, else the file name.

    >>> post = parse_post("docs/intro.md", "# はじめに {: #intro }\\n\\n本文。\\n", "", Config())
    >>> post.title, post.url, post.sections[0].anchor
    ('はじめに', '/docs/intro.html', 'intro')
    """
    lines = max(text.count("\n"), text.count("\r")) + 1
    if lines > MAX_POST_LINES:
        raise PostError(f"too many lines: {lines:,}, over the {MAX_POST_LINES:,} line limit (MAX_POST_LINES)")
    meta, body = split_front_matter(text)
    if config.front_matter_defaults:
        meta = {**front_matter(config.front_matter_defaults, relpath, is_post(relpath)), **meta}
    stem = Path(relpath).stem
    dated = _DATED_NAME.match(stem)
    date = next((d for key in DATE_KEYS if (d := _as_date(meta.get(key)))), None) or (
        _as_date(f"{dated.group(1)}-{dated.group(2)}-{dated.group(3)}") if dated else None
    )
    categories = _as_list(meta.get("categories", meta.get("category")))
    title = inline_text(_scalar(meta.get("title")))
    sections = parse_sections(body, config.ids, title=f"{_scalar(meta.get('title'))}\n{title}")
    if not title:
        title = next((s.heading for s in sections if s.heading), "") or (dated.group(4) if dated else stem)
    return Post(
        path=relpath,
        title=title,
        url=post_url(relpath, meta, date, url_categories(relpath, meta), config),
        date=date,
        tags=_as_list(meta.get("tags", meta.get("tag"))),
        categories=categories,
        excerpt=inline_text(_scalar(meta.get("excerpt")) or _scalar(meta.get("description"))),
        sections=tuple(sections) if _rendered(relpath, text, meta, config) else (),
        content_hash=content_hash,
    )


def _rendered(relpath: str, text: str, meta: dict[str, Any], config: Config) -> bool:
    """Whether the site shows the file as a page: not ``published: false``, and (on a Jekyll
    site) a post or a file with front matter (Jekyll copies other files as they are)."""
    if meta.get("published") is False:
        return False
    return not config.pages_need_front_matter or is_post(relpath) or bool(_FRONT_MATTER_OPEN.match(text))


def load_post(relpath: str, config: Config) -> Post:
    """Read and parse one corpus file; raises ``PostError`` with the reason."""
    text, content_hash = read_text(config.corpus / relpath)
    return parse_post(relpath, text, content_hash, config)
