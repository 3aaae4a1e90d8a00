"""Query understanding: what else each query word matches, found in the index.

``expand(parsed, arrays, synonyms)`` adds ``Expansion``s to the words of a parsed
query; the scorer gives each the ``weight`` below times a literal match, so a
literal match ranks first. In this order:

* **prefix**: the word still being typed (``Clause.prefix``) also matches the
  indexed words it begins (データセ -> データセンター, nvid -> nvidia), the
  :data:`PREFIX_LIMIT` most frequent. The longest tail of the word (from one of
  its last analysed words) that begins some indexed word is taken: データセンタ,
  analysed データ + センター, completes as a whole to データセンター, and
  液体冷却のデータセ completes データセ.
* **reading**: a word written all in kana also matches the words in kanji or letters that read so
  (きたい -> 期待, and 機体 and 気体 below it), from the readings the index records
  (``_analysis.reading_pairs``), whole words only. When Sudachi cuts the kana
  word in pieces (えきたい -> え + きたい, れいきゃく -> 零 + 脚), the pieces are
  dropped and the word matches its readings only: えきたい finds 液体, never 期待.
  The word as typed counts among its readings where the index holds it (Sudachi
  reads シャリ alone as 舎利, but leaves it シャリ in some sentences).
* **synonym**: a word (or a run of words: k8s is k + 8 + s) also matches its
  synonyms (``_synonyms``: 人工知能 -> ai) that the index holds.
* **typo**: in a short query, a word of at least :data:`TYPO_MIN_CHARS`
  characters that the index does not hold, and nothing above expanded, is
  corrected to the most frequent indexed word within edit distance 1 (2 from
  :data:`TYPO_TWO_EDITS_CHARS` characters on; a swap of two neighbours counts
  one); the corrected query is the result's ``suggestion``.

An expansion of several analysed words (a reading, a prefix, a synonym of a run)
is shared by each of them at a share of its weight, so every one of them is held
where it matches.
"""

from __future__ import annotations

import dataclasses
import re
import weakref
from collections.abc import Iterable, Sequence

from ._analysis import analyze, fold, to_hiragana
from ._query import Clause, Concept, Expansion, ParsedQuery
from ._schema import SEARCH_FIELDS
from ._scoring import IndexArrays
from ._synonyms import Synonyms

#: A match through an expansion, relative to a literal match.
PREFIX_WEIGHT = 0.5
READING_WEIGHT = 0.8
SYNONYM_WEIGHT = 0.8
TYPO_WEIGHT = 1.0
#: Most indexed words a prefix expands to (the most frequent).
PREFIX_LIMIT = 50
#: Most indexed words read in one field for a prefix (a one-letter prefix begins thousands).
PREFIX_SCAN = 5000
#: How many of the typed word's last analysed words a prefix may start at.
PREFIX_WORDS = 3
#: Shortest word corrected as a typo, and the length from which two edits are allowed.
TYPO_MIN_CHARS = 4
TYPO_TWO_EDITS_CHARS = 8
#: Typos are corrected in queries of at most this many words (a longer one, a question, ranks
#: by the words it has: one it lacks is no typo to correct).
TYPO_MAX_WORDS = 3

_KANA = re.compile(r"[\u3041-\u3096\u30a1-\u30faー]+")
_DIGITS = re.compile(r"\d")


def expand(parsed: ParsedQuery, arrays: IndexArrays, synonyms: Synonyms) -> tuple[ParsedQuery, str | None]:
    """``parsed`` with each word's expansions, and the corrected query when a typo was corrected."""
    replaced: dict[int, Clause] = {}
    corrections: list[tuple[str, str]] = []
    for clause in parsed.clauses():
        if clause.phrase:
            continue
        expanded = _expand_clause(clause, arrays, synonyms, corrections, len(parsed.concepts()))
        if expanded is not clause:
            replaced[id(clause)] = expanded
    if not replaced:
        return parsed, None

    def new(clause: Clause) -> Clause:
        return replaced.get(id(clause), clause)

    result = dataclasses.replace(
        parsed,
        required=tuple(new(c) for c in parsed.required),
        alternatives=tuple(tuple(new(c) for c in slot) for slot in parsed.alternatives),
    )
    return result, _suggestion(parsed.text, corrections) if corrections else None


def _expand_clause(
    clause: Clause, arrays: IndexArrays, synonyms: Synonyms, corrections: list[tuple[str, str]], size: int
) -> Clause:
    """``clause`` with its words' expansions (itself when there are none); ``size`` is the query's word count."""
    concepts = list(clause.concepts)
    if clause.prefix:
        _add_prefix(clause, concepts, arrays)
    concepts = _add_reading(clause, concepts, arrays)
    _add_synonyms(clause, concepts, arrays, synonyms)
    if size <= TYPO_MAX_WORDS:
        corrections += _add_typos(concepts, arrays)
    if concepts == list(clause.concepts):
        return clause
    return dataclasses.replace(clause, concepts=tuple(concepts))


def _add_prefix(clause: Clause, concepts: list[Concept], arrays: IndexArrays) -> None:
    """The words that the longest tail of the typed word (from one of its last analysed words) begins."""
    starts = [t.start for t in analyze(clause.text) if not t.part]
    if len(starts) != len(concepts):
        return
    literal = {c.text for c in concepts}
    for first in range(max(0, len(concepts) - PREFIX_WORDS), len(concepts)):
        typed = fold(clause.text[starts[first] :])
        words = [w for w in prefix_words(arrays, typed) if w not in literal]
        if words:
            _share(concepts, first, len(concepts), Expansion("prefix", typed, tuple(words), PREFIX_WEIGHT))
            return


def _add_reading(clause: Clause, concepts: list[Concept], arrays: IndexArrays) -> list[Concept]:
    """The words a kana word reads as; the concepts (replaced when Sudachi cut the word in pieces)."""
    typed = fold(clause.text)
    if not _KANA.fullmatch(typed) or len(typed) < 2:
        return concepts
    reading = to_hiragana(typed)
    begun = clause.prefix and typed == reading  # a reading's beginning: typed in hiragana (コンポ: not 梱包)
    known = {c.text for c in concepts} | {w for c in concepts for e in c.expansions for w in e.terms}
    as_typed = [w for w in dict.fromkeys((typed, reading)) if _holds(arrays, w)]  # シャリ, read 舎利 here
    words = [w for w in dict.fromkeys((*as_typed, *reading_words(arrays, reading, begun))) if w not in known]
    if not words:
        return concepts
    expansion = Expansion("reading", typed, tuple(words), READING_WEIGHT)
    whole = [t for t in analyze(clause.text) if not t.part]
    if len(whole) != 1 or (whole[0].start, whole[0].end) != (0, len(clause.text)):  # え + きたい: pieces, not words
        return [Concept(reading, (), concepts[0].position, (expansion,))]
    _share(concepts, 0, len(concepts), expansion)
    return concepts


def _add_synonyms(clause: Clause, concepts: list[Concept], arrays: IndexArrays, synonyms: Synonyms) -> None:
    """The synonyms the index holds of the whole clause (a run of words) and of each word."""
    literal = {c.text for c in concepts}
    if len(concepts) > 1:
        held = _held(arrays, synonyms.get(" ".join(c.text for c in concepts)))
        if held:
            _share(concepts, 0, len(concepts), Expansion("synonym", fold(clause.text), held, SYNONYM_WEIGHT))
    for n, concept in enumerate(concepts):
        held = _held(arrays, [w for w in synonyms.get(concept.text) if w not in literal])
        if held:
            _share(concepts, n, n + 1, Expansion("synonym", concept.text, held, SYNONYM_WEIGHT))


def _add_typos(concepts: list[Concept], arrays: IndexArrays) -> list[tuple[str, str]]:
    """Correct each word the index lacks (and nothing expanded); returns the (word, correction) pairs."""
    corrections = []
    for n, concept in enumerate(concepts):
        if concept.expansions or concept.parts or not _typo_candidate(concept.text) or _holds(arrays, concept.text):
            continue
        correction = correct(arrays, concept.text)
        if correction:
            typo = Expansion("typo", concept.text, (correction,), TYPO_WEIGHT)
            concepts[n] = dataclasses.replace(concept, expansions=(typo,))
            corrections.append((concept.text, correction))
    return corrections


def _share(concepts: list[Concept], start: int, end: int, expansion: Expansion) -> None:
    """Give ``concepts[start:end]`` each its share of ``expansion``'s weight."""
    shared = dataclasses.replace(expansion, weight=expansion.weight / (end - start))
    for n in range(start, end):
        concepts[n] = dataclasses.replace(concepts[n], expansions=(*concepts[n].expansions, shared))


def _holds(arrays: IndexArrays, word: str) -> bool:
    """Whether some search field holds every term of ``word`` (terms, space-separated)."""
    return all(any(arrays.doc_frequency(field, term) for field in SEARCH_FIELDS) for term in word.split(" "))


def _held(arrays: IndexArrays, words: Iterable[str]) -> tuple[str, ...]:
    return tuple(word for word in words if _holds(arrays, word))


def _typo_candidate(word: str) -> bool:
    return len(word) >= TYPO_MIN_CHARS and not _DIGITS.search(word)


def prefix_words(arrays: IndexArrays, prefix: str) -> list[str]:
    """The indexed words of the search fields that begin with ``prefix`` (not itself), the
    :data:`PREFIX_LIMIT` most frequent first."""
    if not prefix:
        return []
    reader = arrays.searcher.reader()
    counts: dict[str, int] = {}
    for field in SEARCH_FIELDS:
        if field not in reader.schema:
            continue
        for n, (term, info) in enumerate(reader.iter_prefix(field, prefix)):
            if n == PREFIX_SCAN:
                break
            word = term.decode("utf-8") if isinstance(term, bytes) else term
            if word != prefix:
                counts[word] = max(counts.get(word, 0), info.doc_frequency())
    return _most_frequent(counts, PREFIX_LIMIT)


def reading_words(arrays: IndexArrays, reading: str, prefix: bool = False) -> list[str]:
    """The indexed words that read ``reading`` (in hiragana), or with ``prefix`` whose reading
    begins with it, the most frequent first.

    The ``reading`` field holds ``reading<TAB>word`` for each word with a kanji or a Latin letter, in the
    marker document of each post using it.
    """
    reader = arrays.searcher.reader()
    if "reading" not in reader.schema:
        return []
    counts: dict[str, int] = {}
    for n, (term, info) in enumerate(reader.iter_prefix("reading", reading if prefix else reading + "\t")):
        if n == PREFIX_SCAN:
            break
        word = (term.decode("utf-8") if isinstance(term, bytes) else term).partition("\t")[2]
        counts[word] = counts.get(word, 0) + info.doc_frequency()
    return _most_frequent(counts, PREFIX_LIMIT)


def _most_frequent(counts: dict[str, int], limit: int) -> list[str]:
    """The ``limit`` keys of ``counts`` with the highest counts, ties in key order.

    >>> _most_frequent({"b": 2, "a": 2, "c": 5}, 2)
    ['c', 'a']
    """
    return sorted(counts, key=lambda word: (-counts[word], word))[:limit]


def correct(arrays: IndexArrays, word: str) -> str | None:
    """The most frequent indexed word within the edit distance allowed for ``word``, the nearest first."""
    edits = 2 if len(word) >= TYPO_TWO_EDITS_CHARS else 1
    vocabulary = arrays.vocabulary()
    found = [
        (distance, -vocabulary[term], term)
        for term in _near(_sorted_vocabulary(arrays), word, edits)
        if (distance := edit_distance(word, term, edits)) <= edits
    ]
    return min(found)[2] if found else None


_BY_LENGTH: weakref.WeakKeyDictionary[IndexArrays, dict[int, list[str]]] = weakref.WeakKeyDictionary()


def _sorted_vocabulary(arrays: IndexArrays) -> dict[int, list[str]]:
    """The index generation's words by length, each length's in order (kept for the generation)."""
    by_length = _BY_LENGTH.get(arrays)
    if by_length is None:
        by_length = {}
        for term in sorted(arrays.vocabulary()):
            by_length.setdefault(len(term), []).append(term)
        _BY_LENGTH[arrays] = by_length
    return by_length


def _near(by_length: dict[int, list[str]], word: str, edits: int) -> Iterable[str]:
    """Words that may be within ``edits`` of ``word``: of a length within ``edits``, holding one of
    ``edits + 1`` pieces of ``word`` cut with a letter between them (an edit touches two
    neighbouring letters at most, so it spoils one piece at most: one piece is left whole).

    >>> list(_near({5: ["nvdia", "media"], 6: ["nvidia", "zebras"]}, "nvdia", 1))
    ['nvdia', 'media', 'nvidia']
    """
    size = (len(word) - edits) // (edits + 1)
    pieces = [word[n * (size + 1) : n * (size + 1) + size] for n in range(edits + 1)]
    first, last, middle = pieces[0], pieces[-1], pieces[1:-1]
    for length in range(len(word) - edits, len(word) + edits + 1):
        for term in by_length.get(length, ()):
            if term.startswith(first) or term.endswith(last) or any(piece in term for piece in middle):
                yield term


def edit_distance(a: str, b: str, limit: int) -> int:
    """The optimal string alignment distance (insertions, deletions, substitutions and swaps of
    neighbours), or ``limit + 1`` once it passes ``limit``.

    >>> edit_distance("nvdia", "nvidia", 1), edit_distance("ab", "ba", 1), edit_distance("abc", "xyz", 1)
    (1, 1, 2)
    """
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    before: Sequence[int] = ()
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], before[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        before, previous = previous, current
    return min(previous[-1], limit + 1)


def _suggestion(text: str, corrections: list[tuple[str, str]]) -> str:
    """``text`` with each corrected word (as its analysed form is written in ``text``) replaced.

    >>> _suggestion("NVDIA gpu", [("nvdia", "nvidia")])
    'nvidia gpu'
    """
    tokens = {t.text: (t.start, t.end) for t in reversed(analyze(text)) if not t.part}
    spans = sorted(((tokens[word], correction) for word, correction in corrections if word in tokens), reverse=True)
    for (start, end), correction in spans:
        text = text[:start] + correction + text[end:]
    return text
