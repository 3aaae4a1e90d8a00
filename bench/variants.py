"""Query variants: each query rewritten the way a person might type it (``relevance.py --variant``).

Every rewrite is deterministic: a rule, or a choice drawn from ``random.Random`` seeded with the
variant's name and the query's id. A query the variant cannot rewrite gives ``None``. Words are
Sudachi's split-mode-C morphemes whose part of speech is not a particle, auxiliary, symbol or
whitespace (``peers.CONTENT_DROP``).

* ``kana``: one word that holds a kanji written in its hiragana reading (Sudachi ``reading_form``).
* ``synonym``: one word replaced by a synonym from Sudachi's synonym dictionary: the word must be
  a headword whose expansion flag allows it to trigger expansion (0), the synonym one of the
  same group and class (体言/用言) not marked "never expand" (2), nor a misuse (語形種別 4), an
  original foreign spelling (表記揺れ 1: ``influenza``) or a misspelling (表記揺れ 3); a different
  lexeme of the group is preferred to another spelling of the same one.
* ``prefix``: the query up to its last word of two or more characters, cut after half of it
  (rounded up): the word is still being typed.
* ``typo``: one ``ー`` dropped from a word, or two adjacent different letters swapped (not
  ``ー`` nor a small kana, typed with the letter before it) in a word of three or more
  characters without kanji (a typing slip, not a wrong conversion).
"""

from __future__ import annotations

import csv
import functools
import os
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from peers import CONTENT_DROP, sudachi

VARIANTS = ("kana", "synonym", "prefix", "typo")
_SHARED_SYNONYMS = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "sudachi-synonyms" / "synonyms.txt"
SYNONYMS = Path(os.environ.get("MIKKE_SYNONYMS", _SHARED_SYNONYMS))  # Sudachi's synonyms.txt (Apache-2.0)

_KANJI = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff々〆ヶ]")
_KATAKANA = re.compile(r"[\u30a1-\u30f6ー]+")
_NO_SWAP = frozenset("ーッャュョァィゥェォっゃゅょぁぃぅぇぉ")  # typed with the letter before them


@dataclass(frozen=True)
class Word:
    """A content word of a query: its surface, char span and reading (katakana)."""

    surface: str
    start: int
    end: int
    reading: str


def words(text: str) -> list[Word]:
    """The content words of ``text``.

    >>> [(w.surface, w.reading) for w in words("東京の天気")]
    [('東京', 'トウキョウ'), ('天気', 'テンキ')]
    """
    return [
        Word(m.surface(), m.begin(), m.end(), m.reading_form())
        for m in sudachi().morphemes(text)
        if m.part_of_speech()[0] not in CONTENT_DROP and m.surface().strip()
    ]


def hiragana(katakana: str) -> str:
    """Katakana letters turned into hiragana (ー and others kept).

    >>> hiragana("トウキョウー")
    'とうきょうー'
    """
    return "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in katakana)


def _replace(text: str, word: Word, new: str) -> str:
    return text[: word.start] + new + text[word.end :]


def kana(text: str, rng: random.Random) -> str | None:
    """One word holding a kanji, written in its hiragana reading.

    >>> kana("冷却の仕組み", random.Random(0)) in {"れいきゃくの仕組み", "冷却のしくみ"}
    True
    """
    candidates = [w for w in words(text) if _KANJI.search(w.surface) and _KATAKANA.fullmatch(w.reading)]
    if not candidates:
        return None
    word = rng.choice(candidates)
    return _replace(text, word, hiragana(word.reading))


@dataclass(frozen=True)
class Entry:
    """One line of Sudachi's synonym source."""

    group: str
    kind: str
    flag: str
    lexeme: str
    form: str
    spelling: str
    headword: str


@functools.cache
def synonym_table(path: Path = SYNONYMS) -> dict[str, list[str]]:
    """Headword -> the synonyms a rewrite may use: its group's other lexemes, else other spellings."""
    groups: dict[str, list[Entry]] = {}
    with path.open(encoding="utf-8", newline="") as lines:
        for row in csv.reader(lines):
            if len(row) >= 9 and row[8]:
                groups.setdefault(row[0], []).append(
                    Entry(row[0], row[1], row[2] or "0", row[3], row[4], row[6], row[8])
                )
    table: dict[str, list[str]] = {}
    for entries in groups.values():
        usable = [e for e in entries if e.flag != "2" and e.form != "4" and e.spelling not in ("1", "3")]
        for trigger in entries:
            if trigger.flag != "0":
                continue
            others = [e for e in usable if e.headword != trigger.headword and e.kind == trigger.kind]
            preferred = [e for e in others if e.lexeme != trigger.lexeme] or others
            table.setdefault(trigger.headword, []).extend(e.headword for e in preferred)
    return {word: list(dict.fromkeys(alts)) for word, alts in table.items() if alts}


def synonym(text: str, rng: random.Random, table: dict[str, list[str]] | None = None) -> str | None:
    """One word that is a synonym headword replaced by one of its synonyms (another lexeme if any).

    >>> synonym("人工知能の研究", random.Random(0), {"人工知能": ["AI"]})
    'AIの研究'
    """
    table = synonym_table() if table is None else table
    candidates = [(w, table[w.surface]) for w in words(text) if table.get(w.surface)]
    if not candidates:
        return None
    word, alts = rng.choice(candidates)
    return _replace(text, word, rng.choice(alts))


def prefix(text: str, rng: random.Random) -> str | None:
    """The query typed up to the middle of its last word of two or more characters.

    >>> prefix("データセットの作り方", random.Random(0))
    'データセットの作り'
    >>> prefix("ワールドカップ 開催頻度", random.Random(0))
    'ワールドカップ 開催頻'
    """
    long = [w for w in words(text) if len(w.surface) >= 2]
    if not long:
        return None
    last = long[-1]
    return text[: last.start + (len(last.surface) + 1) // 2]


def typo(text: str, rng: random.Random) -> str | None:
    """One ``ー`` dropped, or two adjacent different letters swapped in a word without kanji.

    >>> typo("nvidia", random.Random(1)) in {"vnidia", "nivdia", "nvdiia", "nviida", "nvidai"}
    True
    >>> typo("サーバー", random.Random(0)) in {"サバー", "サーバ"}
    True
    """
    edits: list[tuple[str, int]] = []
    for w in words(text):
        s = w.surface
        edits += [("drop", w.start + i) for i, c in enumerate(s) if c == "ー" and i > 0]
        if len(s) >= 3 and not _KANJI.search(s):
            edits += [
                ("swap", w.start + i) for i in range(len(s) - 1) if s[i] != s[i + 1] and not _NO_SWAP & {s[i], s[i + 1]}
            ]
    if not edits:
        return None
    kind, i = rng.choice(edits)
    if kind == "drop":
        return text[:i] + text[i + 1 :]
    return text[:i] + text[i + 1] + text[i] + text[i + 2 :]


REWRITES: dict[str, Callable[[str, random.Random], str | None]] = {
    "kana": kana,
    "synonym": synonym,
    "prefix": prefix,
    "typo": typo,
}


def rewrite(variant: str, qid: str, text: str) -> str | None:
    """``text`` rewritten by ``variant`` (seeded by the query id), or None if it cannot be / is unchanged.

    >>> rewrite("prefix", "q1", "東京の天気")
    '東京の天'
    """
    new = REWRITES[variant](text, random.Random(f"{variant}:{qid}"))
    return new if new and new.strip() and new != text else None
