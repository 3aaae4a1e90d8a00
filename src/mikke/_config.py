"""Settings: defaults, then ``mikke.toml``, then ``MIKKE_*`` environment variables, then options.

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

from ._errors import ConfigError

DEFAULT_CORPUS = Path("corpus")
DEFAULT_INDEX = Path("index")
CONFIG_FILE = "mikke.toml"

#: Jekyll's default permalink for posts.
DEFAULT_PERMALINK = "/:categories/:year/:month/:day/:title.html"

#: Per-section weights applied at query time: title > heading > tags > excerpt > body.
DEFAULT_BOOSTS: Mapping[str, float] = {
    "title": 4.0,
    "heading": 2.5,
    "tags": 1.8,
    "excerpt": 1.3,
    "body": 1.0,
}

#: Which files of the corpus are posts (globs relative to the corpus root).
DEFAULT_INCLUDE = ("_posts/**/*.md", "_posts/**/*.markdown", "**/*.md", "**/*.markdown", "**/*.mdx")
DEFAULT_EXCLUDE = ("_site/**", "node_modules/**", "vendor/**", ".*/**", "**/.*/**", "_drafts/**")

ANCHOR_SCHEMES = ("kramdown", "github")

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
    anchor_scheme: str = "kramdown"
    boosts: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_BOOSTS))
    include: tuple[str, ...] = DEFAULT_INCLUDE
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    #: A blog's own synonyms (Solr's format), added to Sudachi's; in ``mikke.toml``, relative to it.
    synonyms: Path | None = None

    def __post_init__(self) -> None:
        if self.anchor_scheme not in ANCHOR_SCHEMES:
            raise ConfigError(f"anchor_scheme must be one of {', '.join(ANCHOR_SCHEMES)}, not {self.anchor_scheme!r}")
        unknown = set(self.boosts) - set(DEFAULT_BOOSTS)
        if unknown:
            raise ConfigError(f"unknown boost field(s): {', '.join(sorted(unknown))}")
        if any(not isinstance(v, int | float) or v < 0 for v in self.boosts.values()):
            raise ConfigError("boosts must be non-negative numbers")

    def with_options(self, **options: Any) -> Config:
        """A copy with the options that are not None applied."""
        given = {k: v for k, v in options.items() if v is not None}
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
