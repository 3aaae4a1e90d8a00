"""The blog's own Jekyll settings: ``_config.yml`` at the corpus root, with Jekyll's defaults.

Only what decides a page's URL or a heading's id is read: ``baseurl``, ``permalink``
(and the ``posts`` collection's), front matter ``defaults``, ``exclude`` and
``include``, and under ``kramdown:`` ``input``, ``auto_ids``, ``auto_id_prefix``,
``auto_id_stripping`` and ``transliterated_header_ids``. ``url`` is not: mikke's
URLs are relative to the site's host, as the theme's own links are
(``relative_url``), so they work on ``jekyll serve`` and on the published site.

>>> options = site_options({"baseurl": "blog/", "kramdown": {"input": "kramdown", "auto_id_prefix": "h-"}})
>>> options["base_url"], options["permalink"], options["anchor_scheme"], options["auto_id_prefix"]
('/blog', '/:categories/:year/:month/:day/:title.html', 'kramdown', 'h-')
>>> site_options({})["anchor_scheme"]  # Jekyll's default input is GFM
'gfm'
"""

from __future__ import annotations

import fnmatch
import os
import re
import unicodedata
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

import yaml

from ._errors import ConfigError, CorpusError

SITE_CONFIG = "_config.yml"

#: Jekyll ignores files and folders whose names start with these, unless ``include`` names them
#: (``_posts`` folders excepted); as ``exclude`` globs for mikke.
JEKYLL_EXCLUDE = ("_*", "!_posts/", "#*", "*~")

#: Jekyll's permalink styles.
PERMALINK_STYLES = {
    "date": "/:categories/:year/:month/:day/:title.html",
    "pretty": "/:categories/:year/:month/:day/:title/",
    "ordinal": "/:categories/:year/:y_day/:title.html",
    "weekdate": "/:categories/:year/W:week/:short_day/:title.html",
    "none": "/:categories/:title.html",
}

_SLUG_KEPT = frozenset("._~!$&'()+,;=@")
_URL_SAFE = "/!$&'()*+,;=:@-._~?"


def read_site(corpus: Path) -> dict[str, Any]:
    """The corpus's ``_config.yml`` ({} when there is none); ``ConfigError`` when it is broken."""
    path = corpus / SITE_CONFIG
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except PermissionError as error:
        try:
            os.listdir(corpus)
        except OSError as root_error:  # the whole corpus cannot be read: nothing can be indexed
            raise CorpusError(f"the corpus directory {corpus} cannot be read ({root_error.strerror})") from None
        raise ConfigError(f"{path}: cannot read: {error}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read: {error}") from None
    try:
        site = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: invalid YAML: {str(error).splitlines()[0]}") from None
    return site if isinstance(site, dict) else {}


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _flag(kramdown: Mapping[str, Any], key: str, default: bool) -> bool:
    value = kramdown.get(key, default)
    return value if isinstance(value, bool) else default


def site_options(site: Mapping[str, Any]) -> dict[str, Any]:
    """The ``Config`` options that a Jekyll ``_config.yml`` (parsed) gives, Jekyll's defaults filled in."""
    baseurl = str(site.get("baseurl") or "").strip("/")
    permalink = _mapping(_mapping(site.get("collections")).get("posts")).get("permalink") or site.get("permalink")
    kramdown = _mapping(site.get("kramdown"))
    prefix = kramdown.get("auto_id_prefix", "")
    defaults = [
        {"scope": dict(_mapping(entry.get("scope"))), "values": dict(_mapping(entry.get("values")))}
        for entry in site.get("defaults") or []
        if isinstance(entry, Mapping)
    ]
    excluded = [e for e in site.get("exclude") or [] if isinstance(e, str) and e.strip("/")]
    included = [e for e in site.get("include") or [] if isinstance(e, str) and e.strip("/")]
    return {
        "base_url": "/" + baseurl if baseurl else "",
        "permalink": PERMALINK_STYLES.get(str(permalink or "date"), str(permalink or "date")),
        "anchor_scheme": "gfm" if str(kramdown.get("input", "GFM")).lower() == "gfm" else "kramdown",
        "auto_ids": _flag(kramdown, "auto_ids", True),
        "auto_id_prefix": prefix if isinstance(prefix, str) else "",
        "auto_id_stripping": _flag(kramdown, "auto_id_stripping", False),
        "transliterated_header_ids": _flag(kramdown, "transliterated_header_ids", False),
        "front_matter_defaults": tuple(defaults),
        "pages_need_front_matter": True,
        "site_exclude": (
            *JEKYLL_EXCLUDE,
            *("/" + e.strip("/") for e in excluded),
            *("!/" + e.strip("/") for e in included),
        ),
    }


def _applies(scope: Mapping[str, Any], relpath: str, kind: str) -> bool:
    """Jekyll's ``FrontmatterDefaults#applies?``: the scope's path (a folder, a file or a glob)
    holds ``relpath`` and its type (``posts``, ``pages``, a collection) is ``kind``."""
    path = str(scope.get("path") or "").strip("/")
    if path and "*" in path:
        if not fnmatch.fnmatchcase(relpath, path) and not fnmatch.fnmatchcase(relpath, path + "/*"):
            return False
    elif path and not (relpath == path or relpath.startswith(path + "/")):
        return False
    wanted = scope.get("type")
    return (
        not wanted or wanted == kind or (kind == "posts" and wanted == "post") or (kind == "pages" and wanted == "page")
    )


def front_matter(defaults: tuple[Mapping[str, Any], ...], relpath: str, is_post: bool) -> dict[str, Any]:
    """The front matter ``defaults`` that apply to a file, the more specific scope winning.

    >>> sets = ({"scope": {"path": ""}, "values": {"layout": "a", "x": 1}},
    ...         {"scope": {"path": "_posts/notes", "type": "posts"}, "values": {"layout": "b"}})
    >>> front_matter(sets, "_posts/notes/2025-01-01-a.md", True), front_matter(sets, "about.md", False)
    ({'layout': 'b', 'x': 1}, {'layout': 'a', 'x': 1})
    """
    kind = "posts" if is_post else "pages"
    values: dict[str, Any] = {}
    old: Mapping[str, Any] | None = None
    for entry in defaults:
        scope = entry["scope"]
        if not _applies(scope, relpath, kind):
            continue
        if old is None or _precedes(old, scope):
            values.update(entry["values"])
            old = scope
        else:
            values = {**entry["values"], **values}
    return values


def _precedes(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Jekyll's ``has_precedence?``: a longer path wins; at equal paths, a scope with a type."""
    old_path, new_path = str(old.get("path") or "").strip("/"), str(new.get("path") or "").strip("/")
    if len(new_path) != len(old_path):
        return len(new_path) > len(old_path)
    return bool(new.get("type")) or not old.get("type")


def slugify(name: str, *, pretty: bool = True) -> str:
    """Jekyll's ``slugify``: ``mode: "pretty", cased: true`` gives ``:title``, the default mode ``:slug``.

    >>> slugify("Hello World?! 日本語"), slugify("--a_ b--"), slugify("Hello World?! 日本語", pretty=False)
    ('Hello-World-!-日本語', 'a_-b', 'hello-world-日本語')
    """
    kept = "".join(
        c
        if (pretty and c in _SLUG_KEPT) or unicodedata.category(c)[0] in "LM" or unicodedata.category(c) == "Nd"
        else "\0"
        for c in name
    )
    slug = re.sub("\0+", "-", kept)
    slug = slug[1:] if slug.startswith("-") else slug
    slug = slug[:-1] if slug.endswith("-") else slug
    return slug if pretty else slug.lower()


def escape_path(path: str) -> str:
    """Jekyll's ``URL.escape_path`` of one placeholder's value.

    >>> escape_path("投資 分析#1"), escape_path("a:b@c?d"), escape_path("x[1]%")
    ('%E6%8A%95%E8%B3%87%20%E5%88%86%E6%9E%90%231', 'a:b@c?d', 'x%5B1%5D%25')
    """
    return quote(path, safe=_URL_SAFE)


def path_categories(relpath: str) -> tuple[str, ...]:
    """The categories a post gets from the folders above its ``_posts`` folder.

    >>> path_categories("blog/tech/_posts/2025-01-01-a.md"), path_categories("_posts/x/2025-01-01-a.md")
    (('blog', 'tech'), ())
    """
    parts = PurePosixPath(relpath).parts
    return tuple(parts[: parts.index("_posts")]) if "_posts" in parts else ()
