"""Synonyms: Sudachi's synonym dictionary, shipped in the package, plus a blog's own file.

A query word expands to its synonyms (at a lower weight, see ``_expand``). Both
sources are read into one :class:`Synonyms`: a word, as the index writes it (its
analysed terms, space-separated), -> the words it expands to.

* **Sudachi's dictionary** (``data/synonyms.tsv.gz``, built by
  ``scripts/build_synonyms.py``; Apache-2.0, see ``data/NOTICE``): each group
  expands each of its words to the others, honouring its expansion-control flags
  (a word marked not to trigger expands only when it is in no other group:
  マガジン -> 雑誌; one marked a misuse is never expanded to); a word that triggers
  in several groups is ambiguous (ソフト: software, soft serve, softball) and
  expands nothing, a company's name counting only for a word in no other group
  (resolved by the script).
* **A blog's file** (``synonyms = "synonyms.txt"`` in ``mikke.toml``), Solr's
  format: ``a, b, c`` makes the words equivalent, ``a, b => c`` expands ``a``
  and ``b`` to ``c``; ``#`` starts a comment. It adds to Sudachi's.

>>> blog = parse_synonyms("液冷, 水冷  # cooling\\nk8s => Kubernetes")
>>> blog.get("液冷"), blog.get("k 8 s"), blog.get("kubernetes")  # k8s: three terms
(('水冷',), ('kubernetes',), ())
>>> "ai" in builtin().get("人工知能"), builtin().get("マガジン")
(True, ('雑誌',))
"""

from __future__ import annotations

import functools
import gzip
from importlib import resources
from pathlib import Path

from ._analysis import analyze
from ._errors import ConfigError

#: Most synonyms a word expands to (the first ones, in the dictionary's order).
MAX_SYNONYMS = 8


class Synonyms:
    """Words -> the words they expand to, tab-separated (split when asked for); ``a | b`` holds both."""

    def __init__(self, mapping: dict[str, str] | None = None) -> None:
        self._mapping = mapping or {}

    def get(self, word: str) -> tuple[str, ...]:
        """The words ``word`` (terms, space-separated) expands to, at most :data:`MAX_SYNONYMS`."""
        found = self._mapping.get(word)
        return tuple(found.split("\t")[:MAX_SYNONYMS]) if found else ()

    def __or__(self, other: Synonyms) -> Synonyms:
        merged = dict(self._mapping)
        for word, targets in other._mapping.items():  # the blog's first
            merged[word] = "\t".join(dict.fromkeys((*targets.split("\t"), *self.get(word))))
        return Synonyms(merged)

    def __len__(self) -> int:
        return len(self._mapping)


def _terms(word: str) -> str:
    """A word as the index writes it: its terms, space-separated.

    >>> _terms("ＧＰＵサーバ")
    'gpu サーバー'
    """
    return " ".join(t.text for t in analyze(word) if not t.part)


@functools.cache
def builtin() -> Synonyms:
    """Sudachi's synonym dictionary (each line a word, then the words it expands to), read once."""
    data = resources.files("mikke").joinpath("data/synonyms.tsv.gz").read_bytes()
    lines = gzip.decompress(data).decode().splitlines()
    return Synonyms(dict(line.split("\t", 1) for line in lines))


def parse_synonyms(text: str) -> Synonyms:
    """A synonyms file in Solr's format (see the module docstring)."""
    groups = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        left, arrow, right = line.partition("=>")
        words = [w for w in (_terms(part) for part in left.split(",")) if w]
        if arrow:
            targets = [w for w in (_terms(part) for part in right.split(",")) if w]
            groups.append((words, targets))
        else:
            groups.append((words, words))
    mapping: dict[str, tuple[str, ...]] = {}
    for triggers, targets in groups:  # a word on several lines expands to all of them
        for trigger in triggers:
            found = (*mapping.get(trigger, ()), *(t for t in targets if t != trigger))
            mapping[trigger] = tuple(dict.fromkeys(found))
    return Synonyms({word: "\t".join(targets) for word, targets in mapping.items() if targets})


@functools.lru_cache(maxsize=8)
def _with_file(path: Path, mtime_ns: int) -> Synonyms:
    """Sudachi's synonyms plus the file's, merged once for each version of the file (not per search)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read the synonyms file {path}: {error}") from None
    return builtin() | parse_synonyms(text)


def load_synonyms(path: Path | None) -> Synonyms:
    """Sudachi's synonyms plus those of the file at ``path`` (re-read when it changes);
    raises ``ConfigError`` when it cannot be read."""
    if path is None:
        return builtin()
    try:
        mtime = path.stat().st_mtime_ns
    except OSError as error:
        raise ConfigError(f"cannot read the synonyms file {path}: {error.strerror or error}") from None
    return _with_file(path, mtime)
