"""Settings: defaults, then the blog's ``_config.yml``, then ``mikke.toml``, then ``MIKKE_*``
environment variables, then options.

``Config.with_site()`` fills what ``mikke.toml``, the environment and the options left
unset from the Jekyll ``_config.yml`` at the corpus root (``_jekyll``), or Jekyll's defaults.

>>> Config().boosts["title"] > Config().boosts["body"]
True
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._anchors import SCHEMES, IdSettings
from ._errors import ConfigError
from ._jekyll import read_site, site_options

DEFAULT_CORPUS = Path("corpus")
DEFAULT_INDEX = Path("index")
CONFIG_FILE = "mikke.toml"

#: Jekyll's default permalink for posts.
DEFAULT_PERMALINK = "/:categories/:year/:month/:day/:title.html"

#: Per-section weights applied at query time: title > heading > tags > excerpt > body.
DEFAULT_BOOSTS: Mapping[str, float] = {
    "title": 12.0,
    "heading": 2.5,
    "tags": 1.8,
    "excerpt": 1.3,
    "body": 1.0,
}

#: Which files of the corpus are posts (globs relative to the corpus root).
DEFAULT_INCLUDE = ("_posts/**/*.md", "_posts/**/*.markdown", "**/*.md", "**/*.markdown", "**/*.mdx")
DEFAULT_EXCLUDE = ("_site/**", "node_modules/**", "vendor/**", ".*/**", "**/.*/**", "_drafts/**")

ANCHOR_SCHEMES = SCHEMES

#: Fields that only ``_config.yml`` or mikke itself set.
_INTERNAL = frozenset({"explicit", "site_exclude", "front_matter_defaults", "pages_need_front_matter"})

_ENV = {
    "MIKKE_CORPUS": "corpus",
    "MIKKE_INDEX": "index",
    "MIKKE_BASE_URL": "base_url",
    "MIKKE_PERMALINK": "permalink",
    "MIKKE_ANCHOR_SCHEME": "anchor_scheme",
}


@dataclass(frozen=True)
class Config:
    """Everything that can be configured, with the defaults a Jekyll blog needs."""

    corpus: Path = DEFAULT_CORPUS
    index: Path = DEFAULT_INDEX
    base_url: str = ""
    permalink: str = DEFAULT_PERMALINK
    anchor_scheme: str = "gfm"
    auto_ids: bool = True
    auto_id_prefix: str = ""
    auto_id_stripping: bool = False
    transliterated_header_ids: bool = False
    front_matter_defaults: tuple[Mapping[str, Any], ...] = ()
    boosts: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_BOOSTS))
    include: tuple[str, ...] = DEFAULT_INCLUDE
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    #: Files the site's generator skips (from ``_config.yml``), excluded besides ``exclude``.
    site_exclude: tuple[str, ...] = ()
    #: Only posts and files with front matter are pages (a Jekyll site copies the others as they are).
    pages_need_front_matter: bool = False
    #: The settings given by ``mikke.toml``, the environment or options: ``_config.yml`` leaves them.
    explicit: frozenset[str] = frozenset()
    #: A blog's own synonyms (Solr's format), added to Sudachi's; in ``mikke.toml``, relative to it.
    synonyms: Path | None = None

    def __post_init__(self) -> None:
        if self.anchor_scheme not in ANCHOR_SCHEMES:
            raise ConfigError(f"anchor_scheme must be one of {', '.join(ANCHOR_SCHEMES)}, not {self.anchor_scheme!r}")
        for name in ("auto_ids", "auto_id_stripping", "transliterated_header_ids"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name} must be true or false")
        if not isinstance(self.auto_id_prefix, str):
            raise ConfigError("auto_id_prefix must be a string")
        unknown = set(self.boosts) - set(DEFAULT_BOOSTS)
        if unknown:
            raise ConfigError(f"unknown boost field(s): {', '.join(sorted(unknown))}")
        if any(not isinstance(v, int | float) or v < 0 for v in self.boosts.values()):
            raise ConfigError("boosts must be non-negative numbers")

    @property
    def ids(self) -> IdSettings:
        """How the blog's renderer gives headings their ids."""
        return IdSettings(
            self.anchor_scheme,
            self.auto_ids,
            self.auto_id_prefix,
            self.auto_id_stripping,
            self.transliterated_header_ids,
        )

    def with_site(self) -> Config:
        """A copy with the settings of the corpus's Jekyll ``_config.yml`` (or Jekyll's defaults)
        where no explicit setting was given; itself when the corpus has no ``_config.yml``.

        >>> Config(corpus=Path("/nonexistent")).with_site() == Config(corpus=Path("/nonexistent"))
        True
        """
        site = read_site(self.corpus)
        if not site:
            return self
        given = {k: v for k, v in site_options(site).items() if k not in self.explicit}
        try:
            return dataclasses.replace(self, **given)
        except TypeError as error:  # pragma: no cover - site_options gives only known fields
            raise ConfigError(str(error)) from None

    def with_options(self, **options: Any) -> Config:
        """A copy with the options that are not None applied (they are then ``explicit``)."""
        given = {k: v for k, v in options.items() if v is not None}
        internal = given.keys() & _INTERNAL
        if internal:
            raise ConfigError(f"unknown setting(s): {', '.join(sorted(internal))}")
        given["explicit"] = self.explicit | frozenset(given)
        if "boosts" in given:
            given["boosts"] = {**DEFAULT_BOOSTS, **self.boosts, **given["boosts"]}
        for key in ("corpus", "index", "synonyms"):
            if key in given:
                given[key] = Path(given[key])
        for key in ("include", "exclude"):
            if key in given:
                given[key] = tuple(given[key])
        try:
            return dataclasses.replace(self, **given)
        except TypeError as error:
            raise ConfigError(str(error)) from None


def load_config(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Read ``mikke.toml`` (if present) and the ``MIKKE_*`` environment variables. A ``synonyms``
    file named in ``mikke.toml`` is found relative to it.

    >>> load_config(Path("/nonexistent/mikke.toml"), environ={"MIKKE_INDEX": "/tmp/ix"}).index
    PosixPath('/tmp/ix')
    """
    environ = os.environ if environ is None else environ
    path = path or Path(environ.get("MIKKE_CONFIG", CONFIG_FILE))
    options: dict[str, Any] = {}
    if path.is_file():
        try:
            options.update(tomllib.loads(path.read_text(encoding="utf-8")).get("mikke", {}))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise ConfigError(f"{path}: {error}") from None
        if isinstance(options.get("synonyms"), str):
            options["synonyms"] = path.parent / options["synonyms"]
    for variable, key in _ENV.items():
        if environ.get(variable):
            options[key] = environ[variable]
    return Config().with_options(**options)
