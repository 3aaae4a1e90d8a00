"""Query syntax -> a ``ParsedQuery`` (parsed apart from running it, see ``_scoring``).

Syntax: words with or without spaces (a whole question is fine), ``"quoted
phrases"``, ``-excluded`` words, ``OR`` between alternatives. Every word goes
through the index analyzer; a compound also matches through its parts. With
``prefix``, the last word is still being typed (``Clause.prefix``): it may
also match the indexed words it begins. What else a word matches (its prefix
completions, the words it reads as, its synonyms, the correction of a typo) is
found in the index by ``_expand``, which adds each word's ``Expansion``s.

>>> q = parse_query('データセンター -冷却 "液体 冷却" OR GPU')
>>> [[c.text for c in clause.concepts] for clause in q.required]
[['データセンター']]
>>> [[[c.text for c in a.concepts] for a in slot] for slot in q.alternatives]
[[['液体', '冷却'], ['gpu']]]
>>> [c.text for c in q.excluded]
['冷却']
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from whoosh import query as wq

from ._analysis import analyze, fold
from ._errors import EmptyQueryError, QueryTooLongError
from ._schema import PHRASE_FIELDS

#: Longest query accepted, in characters.
MAX_QUERY_CHARS = 500
#: Most words (after analysis) a query may hold.
MAX_QUERY_TERMS = 64

_ITEM = re.compile(r'(-?)"([^"]*)"?|(\S+)')

#: Request phrases around a question (教えてください, 知りたい, 挙げてください…): how it is asked,
#: not what is sought. Dropped from unquoted words before analysis.
REQUEST = re.compile(
    r"(?:(?:教え|挙げ|答え|見せ|探し)て(?:ください|下さい|くださ|ほしい|欲しい|くれ(?:ませんか)?|"
    r"(?:もらえ|いただけ|頂け)(?:ます|ません)か)|教えて$|(?:知り|調べ)たい(?:のです|んです)?(?:が)?)"
)


#: Expansions that stand for the query word written another way (not prefixes: their completions
#: are guesses, nor typos).
WRITTEN_KINDS = frozenset({"reading", "synonym"})


@dataclass(frozen=True)
class Expansion:
    """Indexed words a query word also matches, scored ``weight`` times a literal match.

    ``kind`` is ``"prefix"``, ``"reading"``, ``"synonym"`` or ``"typo"``; ``word`` is the
    query word as typed; each of ``terms`` is one indexed word (terms, space-separated: all
    must be in one field).
    """

    kind: str
    word: str
    terms: tuple[str, ...]
    weight: float


@dataclass(frozen=True)
class Concept:
    """One analysed word: its indexed term, the terms of its parts, its position, and what
    else it matches (``_expand``)."""

    text: str
    parts: tuple[str, ...]
    position: int
    expansions: tuple[Expansion, ...] = ()

    def expanded(self, *more: Expansion) -> Concept:
        """This word, also matching ``more`` (``dataclasses.replace``, without its cost).

        >>> Concept("ai", (), 0).expanded(Expansion("synonym", "ai", ("人工知能",), 0.8)).expansions[0].terms
        ('人工知能',)
        """
        return Concept(self.text, self.parts, self.position, (*self.expansions, *more))


@dataclass(frozen=True)
class Clause:
    """One query item: a word or a quoted phrase, analysed into concepts; ``spans``: where in
    ``text`` the analyser found its words (not its particles or endings); ``corrected``: its text
    with its typos corrected (``_expand``), when it had some."""

    concepts: tuple[Concept, ...]
    phrase: bool = False
    text: str = ""
    prefix: bool = False
    corrected: str = ""
    spans: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class ParsedQuery:
    """``required`` items (all must match in strict mode), ``alternatives`` (slots
    of ``a OR b``), and ``excluded`` concepts; ``prefix``: the last word may also
    match as the start of an indexed word (as typed in a search box)."""

    text: str
    required: tuple[Clause, ...]
    alternatives: tuple[tuple[Clause, ...], ...]
    excluded: tuple[Concept, ...]
    prefix: bool = False

    def clauses(self) -> list[Clause]:
        """Every positive clause (required and alternative), in query order."""
        return list(self._clauses)

    def concepts(self) -> list[Concept]:
        """Every positive concept, in query order."""
        return list(self._concepts)

    @functools.cached_property
    def _clauses(self) -> tuple[Clause, ...]:
        """:meth:`clauses`, found once (a search asks for them a dozen times)."""
        return (*self.required, *(c for slot in self.alternatives for c in slot))

    @functools.cached_property
    def _concepts(self) -> tuple[Concept, ...]:
        """:meth:`concepts`, found once."""
        return tuple(c for clause in self._clauses for c in clause.concepts)

    def words(self) -> list[str]:
        """The text of every positive item, as typed (folded), in query order, then that of each
        item whose typos were corrected, as corrected.

        >>> parse_query('ＧＰＵ -冷却 "液体 冷却" OR 水冷').words()
        ['gpu', '液体 冷却', '水冷']
        """
        clauses = self.clauses()
        return [fold(clause.text) for clause in clauses] + [fold(c.corrected) for c in clauses if c.corrected]

    def terms(self) -> frozenset[str]:
        """Every positive term, expansions' included, for highlighting."""
        concepts = self.concepts()
        found = {t for c in concepts for t in (c.text, *c.parts)}
        found |= {t for c in concepts for e in c.expansions for word in e.terms for t in word.split(" ")}
        return frozenset(found)

    def expansions(self) -> list[Expansion]:
        """Every expansion, each once (one shared by a word's concepts is listed once), in query order."""
        return list(dict.fromkeys(e for c in self.concepts() for e in c.expansions))

    def describe(self) -> str:
        """A readable form for ``--explain``."""

        def show(clause: Clause) -> str:
            words = " ".join(c.text + (f"({'+'.join(c.parts)})" if c.parts else "") for c in clause.concepts)
            return f'"{words}"' if clause.phrase else words

        parts = [show(c) for c in self.required]
        parts += ["(" + " OR ".join(show(c) for c in slot) + ")" for slot in self.alternatives]
        parts += [f"-{c.text}" for c in self.excluded]
        return " ".join(parts)


def _concepts(text: str) -> tuple[list[Concept], list[tuple[int, int]]]:
    """Group analysed tokens: each whole word followed by its parts; and each token's span in ``text``.

    >>> _concepts("五大湖の名前")[1]
    [(0, 3), (0, 2), (2, 3), (4, 6)]
    """
    concepts: list[Concept] = []
    spans: list[tuple[int, int]] = []
    position = 0
    for token in analyze(text):
        spans.append((token.start, token.end))
        if token.part and concepts:
            last = concepts[-1]
            concepts[-1] = Concept(last.text, (*last.parts, token.text), last.position)
        elif not token.part:
            concepts.append(Concept(token.text, (), position))
            position += 1
    return concepts, spans


def parse_query(text: str, *, prefix: bool = False) -> ParsedQuery:
    """Parse the user's query; raises ``QueryError`` when nothing searchable is left.

    With ``prefix``, the last word, unless a space follows it, is marked as still being typed.

    >>> parse_query("五大湖の名前を全て教えて下さい。").describe()
    '五大湖(五大+湖) 名前 全て'
    >>> parse_query("葛飾北斎の代表作を知りたい").describe()
    '葛飾 北斎 代表作(代表+作)'
    >>> parse_query("教えて").describe()  # nothing else asked: the words themselves
    '教える'
    >>> [c.prefix for c in parse_query("液体 データセ", prefix=True).required]
    [False, True]
    >>> [c.prefix for c in parse_query("液体 データセ ", prefix=True).required]
    [False, False]
    """
    text = text.encode("utf-8", "replace").decode("utf-8")  # lone surrogates (from argv bytes) -> "?"
    text = unicodedata.normalize("NFKC", text).replace("\x00", " ")
    typing = prefix and not text[-1:].isspace()
    text = text.strip()
    if not text:
        raise EmptyQueryError("empty query: type a word to search for")
    if len(text) > MAX_QUERY_CHARS:
        raise QueryTooLongError(f"query too long: {len(text)} characters (at most {MAX_QUERY_CHARS})")
    slots: list[list[Clause]] = []
    excluded: list[Concept] = []
    join_next = False
    last = text.rstrip('"')  # a phrase still open or closed: the end of its last word
    for match in _ITEM.finditer(text):
        negated, quoted, word = match.group(1) == "-", match.group(2), match.group(3)
        if word == "OR":
            join_next = bool(slots)
            continue
        if word is not None and word.startswith("-") and len(word) > 1:
            negated, word = True, word[1:]
        source = quoted if quoted is not None else REQUEST.sub(" ", word or "").strip() or word or ""
        concepts, spans = _concepts(source)
        if not concepts:
            source = word or ""
            concepts, spans = _concepts(source)
        if not concepts:
            continue
        if negated:
            excluded.extend(concepts)
            continue
        phrase = quoted is not None and len(concepts) > 1
        typed = typing and not phrase and match.end() >= len(last)
        clause = Clause(tuple(concepts), phrase=phrase, text=source, prefix=typed, spans=tuple(spans))
        if join_next:
            slots[-1].append(clause)
        else:
            slots.append([clause])
        join_next = False
    if not slots:
        raise EmptyQueryError(f"nothing to search for in {text!r}: only stopwords or symbols")
    count = sum(len(c.concepts) for slot in slots for c in slot) + len(excluded)
    if count > MAX_QUERY_TERMS:
        raise QueryTooLongError(f"query has {count} words (at most {MAX_QUERY_TERMS})")
    return ParsedQuery(
        text=text,
        required=tuple(slot[0] for slot in slots if len(slot) == 1),
        alternatives=tuple(tuple(slot) for slot in slots if len(slot) > 1),
        excluded=tuple(excluded),
        prefix=prefix,
    )


def phrase_query(clause: Clause, boosts: Mapping[str, float]) -> wq.Query:
    """The whoosh query that finds a quoted phrase in any phrase field, word gaps as typed.

    >>> phrase_query(parse_query('"液体 冷却"').required[0], {"body": 1.0})
    Or([Phrase('body', ['液体', '冷却'], slop=1, boost=1.000000)])
    """
    words = [c.text for c in clause.concepts]
    slop = max(b.position - a.position for a, b in itertools.pairwise(clause.concepts))
    return wq.Or([wq.Phrase(field, words, slop=slop) for field in PHRASE_FIELDS if boosts.get(field, 0.0) > 0])
