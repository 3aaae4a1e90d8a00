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
  A word typed in hiragana inside a sentence (アメリカのしゅとは: 首都) is found the same
  way, between particles, where Sudachi's words do not read the stretch as grammar
  (でしょう, のうち, ではない).
  The word as typed counts among its readings where the index holds it (Sudachi
  reads シャリ alone as 舎利, but leaves it シャリ in some sentences).
* **synonym**: a word (or a run of words: k8s is k + 8 + s) also matches its
  synonyms (``_synonyms``: 人工知能 -> ai) that the index holds.
* **typo**: a run of katakana or Latin letters, or a word all in hiragana, not being
  typed, that looks mistyped (Sudachi does not know a word of it, cuts a single letter
  or a particle out of it, or no post holds one of its words: ラマソン, リハーポッター,
  ボトルネク) and that a correction one slip away (two neighbours swapped, a ー, ッ or
  ン added or dropped) or one edit away turns into words more posts hold
  (:func:`correct`) becomes one word, the run as typed (whole, or all its words), that
  also matches its correction (マラソン, ハリー ポッター) and the correction's synonyms
  below a literal match; the corrected query is the result's ``suggestion``. Words
  Sudachi knows are only corrected into one word it knows, and a run that looks right
  only when a slip joins its words into one (ボルトネック -> ボトルネック).

An expansion of several analysed words (a reading, a prefix, a synonym of a run)
is shared by each of them at a share of its weight, so every one of them is held
where it matches.
"""

from __future__ import annotations

import bisect
import dataclasses
import itertools
import re
import sys
from collections.abc import Iterable, Iterator, Sequence

from ._analysis import Word, analyze, fold, known_word, to_hiragana, words
from ._query import WRITTEN_KINDS, Clause, Concept, Expansion, ParsedQuery
from ._scoring import Correction, IndexArrays
from ._synonyms import Synonyms

#: A match through an expansion, relative to a literal match.
PREFIX_WEIGHT = 0.5
READING_WEIGHT = 0.8
SYNONYM_WEIGHT = 0.8
TYPO_WEIGHT = 0.9
#: Most indexed words a prefix expands to (the most frequent).
PREFIX_LIMIT = 50
#: Most indexed words read for a prefix (a one-letter prefix begins thousands).
PREFIX_SCAN = 5000
#: How many of the typed word's last analysed words a prefix may start at.
PREFIX_WORDS = 3
#: The fewest characters of a word typed in hiragana inside a sentence (:func:`_add_inner_readings`).
INNER_READING_CHARS = 3
#: Shortest and longest run of letters corrected as a typo, and the shortest corrected by an
#: edit other than a slip (one edit turns a short word into many others).
TYPO_MIN_CHARS = 3
TYPO_MAX_CHARS = 24
TYPO_EDIT_MIN_CHARS = 5
#: A correction must be held by this many times as many documents as the run as typed (when it
#: is one word), and by at least :data:`TYPO_MIN_DF`.
TYPO_RATIO = 10
TYPO_MIN_DF = 1

_KANA = re.compile(r"[\u3041-\u3096\u30a1-\u30faー]+")
#: A run of letters a typo is looked for in: katakana, Latin letters or hiragana (ー in kana).
_RUN = re.compile(r"[\u30a1-\u30faー]+|[A-Za-z]+|[\u3041-\u3096ー]+")
_HIRAGANA = re.compile(r"[\u3041-\u3096ー]+")
#: Particles that may stand between a word typed in hiragana and the rest of its sentence (のしゅとは).
_PARTICLES = "のはがをにとでもやへか"
#: Hiragana no word starts with.
_NO_START = "んっーぁぃぅぇぉゃゅょゎ"
#: Words that make a stretch of hiragana grammar, not a word typed in kana: light verbs and ない.
_GRAMMAR_WORDS = frozenset({"為る", "居る", "有る", "成る", "無い"})
#: Letters a slip most often drops or doubles: adding or dropping one is a slip, as a swap is.
_SLIPS = "ーッン"
_KATAKANA_LETTERS = "".join(chr(code) for code in range(ord("ァ"), ord("ヶ") + 1)) + "ー"
_HIRAGANA_LETTERS = "".join(chr(code) for code in range(ord("ぁ"), ord("ゖ") + 1)) + "ー"
_LATIN = "abcdefghijklmnopqrstuvwxyz"
#: After every letter: a word beginning with some letters sorts before the same letters and this one.
_LAST_LETTER = chr(sys.maxunicode)


def expand(parsed: ParsedQuery, arrays: IndexArrays, synonyms: Synonyms) -> tuple[ParsedQuery, str | None]:
    """``parsed`` with each word's expansions, and the corrected query when a typo was corrected."""
    replaced: dict[int, Clause] = {}
    corrections: list[tuple[str, str]] = []
    for clause in parsed.clauses():
        if clause.phrase:
            continue
        expanded = _expand_clause(clause, arrays, synonyms, corrections)
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
    clause: Clause, arrays: IndexArrays, synonyms: Synonyms, corrections: list[tuple[str, str]]
) -> Clause:
    """``clause`` with its words' expansions (itself when there are none); the typos it corrects
    are added to ``corrections``."""
    concepts = list(clause.concepts)
    if clause.prefix:
        _add_prefix(clause, concepts, arrays)
    concepts = _add_reading(clause, concepts, arrays)
    _add_synonyms(clause, concepts, arrays, synonyms)
    corrected = _add_typos(clause, concepts, arrays, synonyms)
    corrections += corrected
    concepts = _add_inner_readings(clause, concepts, arrays)
    if concepts == list(clause.concepts):
        return clause
    text = _suggestion(clause.text, corrected) if corrected else ""  # the re-ranking reads both
    return dataclasses.replace(clause, concepts=tuple(concepts), corrected=text)


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


def _add_inner_readings(clause: Clause, concepts: list[Concept], arrays: IndexArrays) -> list[Concept]:
    """Words typed in hiragana inside a sentence (アメリカのしゅとは, めいおうせいの衛星) also match
    the words that read so (:func:`_kana_words`). A stretch that is one analysed word keeps it;
    the pieces Sudachi cut one into (しゅ + と, めい + おうせい) are replaced by it, matching its
    readings only. The concepts, as :func:`_add_reading` gives them."""
    text = clause.text
    if any(e.kind == "reading" for concept in concepts for e in concept.expansions):
        return concepts  # the whole clause read as one word (_add_reading)
    stretches = _kana_words(arrays, text)
    tokens = [t for t in analyze(text) if not t.part] if stretches else []
    if len(tokens) != len(concepts):
        return concepts
    placed = {(t.start, t.end): concept for t, concept in zip(tokens, concepts, strict=True)}
    for start, end, found in stretches:
        inside = [span for span in placed if start <= span[0] and span[1] <= end]
        if any(e.kind == "typo" for span in inside for e in placed[span].expansions):
            continue  # corrected as a typo
        expansion = Expansion("reading", text[start:end], found, READING_WEIGHT)
        if inside == [(start, end)]:
            held = placed[start, end]
            placed[start, end] = held.expanded(expansion)
            continue
        later = [concept.position for span, concept in placed.items() if span[0] >= end]
        position = placed[inside[0]].position if inside else min(later, default=len(placed))
        for span in inside:
            del placed[span]
        placed[start, end] = Concept(text[start:end], (), position, (expansion,))
    changed = [placed[span] for span in sorted(placed)]
    return concepts if changed == concepts else changed


def _kana_words(arrays: IndexArrays, text: str) -> list[Stretch]:
    """The stretches of ``text``'s runs of hiragana that read as indexed words (start, end, the
    words, :func:`reading_words`): in each run, the most characters covered (then by the fewest)
    by stretches of :data:`INNER_READING_CHARS` or more characters, each between particles, the
    run's ends or another stretch (のれいきゃくほうしきは: 冷却, 方式), that Sudachi's words of
    the text do not read as grammar (:func:`_grammatical`)."""
    grammar: list[tuple[int, Word]] = []  # Sudachi's words of the text, once a stretch reads as some
    chosen: list[Stretch] = []
    for run in _HIRAGANA.finditer(text):
        first, last = run.span()
        if last - first < INNER_READING_CHARS:
            continue
        # best[i][state]: the best cover of text[first:i] (characters, -stretches, stretches) whose last
        # piece is a letter (state 0), a particle or nothing (1) or a stretch (2)
        best: list[list[Cover | None]] = [[None, None, None] for _ in range(first, last + 1)]
        best[0][1] = (0, 0, ())
        for i in range(first, last):
            particle = text[i] in _PARTICLES
            for state, here in enumerate(best[i - first]):
                if here is None:
                    continue
                if particle or state < 2:  # no letter right after a stretch
                    _keep(best[i + 1 - first], int(particle), here)
                if state == 0 or text[i] in _NO_START:
                    continue
                for end in range(i + INNER_READING_CHARS, last + 1):
                    if text[end - 1] == "っ":
                        continue  # an ending (残っ)
                    found = reading_words(arrays, text[i:end])
                    grammar = grammar or (_placed_words(text) if found else [])
                    if found and not _grammatical(grammar, i, end):
                        cover = (here[0] + end - i, here[1] - 1, (*here[2], (i, end, tuple(found))))
                        _keep(best[end - first], 2, cover)
        chosen += max((cover for cover in best[last - first] if cover), key=lambda cover: cover[:2])[2]
    return chosen


#: A stretch of a text, and the indexed words it reads as (:func:`_kana_words`).
Stretch = tuple[int, int, tuple[str, ...]]
#: How stretches cover a run of hiragana: characters, minus their number, and the stretches.
Cover = tuple[int, int, tuple[Stretch, ...]]


def _keep(row: list[Cover | None], state: int, cover: Cover) -> None:
    """Keep ``cover`` in ``row[state]`` if it is better (:func:`_kana_words`)."""
    held = row[state]
    if held is None or cover[:2] > held[:2]:
        row[state] = cover


def _placed_words(text: str) -> list[tuple[int, Word]]:
    """Sudachi's words of ``text`` (:func:`~mikke._analysis.words`), each with its start."""
    found = words(text)
    starts = itertools.accumulate((len(w.surface) for w in found), initial=0)
    return list(zip(starts, found, strict=False))


def _grammatical(grammar: list[tuple[int, Word]], start: int, end: int) -> bool:
    """Whether Sudachi's words of ``text[start:end]`` read as the sentence's grammar rather than a
    word typed in kana: a word reaching out of it (でしょう), an auxiliary or a light verb (します,
    あるか), a particle or a pronoun first (のうち, ではない, なんと) but at the text's start, or one word
    Sudachi knows and matches in its written form (できる: 出来る)."""
    within = []
    for at, word in grammar:
        if at < start < at + len(word.surface) or at < end < at + len(word.surface):
            return True
        if start <= at < end:
            within.append(word)
    if any(w.pos == "助動詞" or w.term in _GRAMMAR_WORDS for w in within):
        return True
    if len(within) == 1 and not _KANA.fullmatch(within[0].term):
        return True
    return bool(within) and within[0].pos in ("助詞", "代名詞") and start > 0


def _add_synonyms(clause: Clause, concepts: list[Concept], arrays: IndexArrays, synonyms: Synonyms) -> None:
    """The synonyms the index holds of the whole clause (a run of words) and of each word."""
    literal = {c.text for c in concepts}
    if len(concepts) > 1:
        held = _held(arrays, synonyms.get(" ".join(c.text for c in concepts)))
        if held:
            _share(concepts, 0, len(concepts), Expansion("synonym", fold(clause.text), held, SYNONYM_WEIGHT))
    for n, concept in enumerate(concepts):
        found = synonyms.get(concept.text)  # most words have none
        held = _held(arrays, [w for w in found if w not in literal]) if found else ()
        if held:
            _share(concepts, n, n + 1, Expansion("synonym", concept.text, held, SYNONYM_WEIGHT))


def _add_typos(
    clause: Clause, concepts: list[Concept], arrays: IndexArrays, synonyms: Synonyms
) -> list[tuple[str, str]]:
    """Replace the words of each run of letters that looks mistyped (not being typed; a run of
    hiragana only when it is the whole word) by one word, the run as typed (whole,
    or all its words), that also matches its correction and the correction's synonyms; returns the
    (run, correction) pairs."""
    tokens = [t for t in analyze(clause.text) if not t.part]
    if len(tokens) != len(concepts):
        return []
    corrections = []
    for run in reversed(list(_RUN.finditer(clause.text))):
        start, end = run.span()
        if _HIRAGANA.fullmatch(run.group()) and run.group() != clause.text:
            continue  # kana among a sentence's particles: only a word of its own
        inside = [n for n, t in enumerate(tokens) if start <= t.start and t.end <= end]
        if not inside or any(t.start < start < t.end or t.start < end < t.end for t in tokens):
            continue  # a word reaching out of the run (Tシャツ): not a run of its own
        kinds = {e.kind for n in inside for e in concepts[n].expansions}
        if "prefix" in kinds:
            continue  # still being typed; a reading or synonym of a mistyped word's pieces is replaced
        if kinds & WRITTEN_KINDS and known_word(run.group()) and [w.known for w in words(run.group())] == [True]:
            continue  # one word Sudachi knows, whose synonyms or reading the index holds: written another way
        found = correct(arrays, run.group())
        if found:
            typed = fold(run.group())
            word = " ".join(found[1])
            expansions = [Expansion("typo", typed, (word,), TYPO_WEIGHT)]
            held = _held(arrays, [w for w in synonyms.get(word) if w != word])
            if held:
                expansions.append(Expansion("synonym", word, held, TYPO_WEIGHT * SYNONYM_WEIGHT))
            first = concepts[inside[0]]
            if len(inside) > 1:  # as typed: the run whole, or all its words where the index holds each
                parts = tuple(concepts[n].text for n in inside)
                first = Concept(typed, parts if _holds(arrays, " ".join(parts)) else (), first.position)
            concepts[inside[0] : inside[-1] + 1] = [dataclasses.replace(first, expansions=tuple(expansions))]
            corrections.append((run.group(), found[0]))
    return corrections[::-1]


def _share(concepts: list[Concept], start: int, end: int, expansion: Expansion) -> None:
    """Give ``concepts[start:end]`` each its share of ``expansion``'s weight."""
    shared = Expansion(expansion.kind, expansion.word, expansion.terms, expansion.weight / (end - start))
    for n in range(start, end):
        concepts[n] = concepts[n].expanded(shared)


def _holds(arrays: IndexArrays, word: str) -> bool:
    """Whether some search field holds every term of ``word`` (terms, space-separated): looked up in
    the index's vocabulary, which spares reading the postings of the many synonyms it does not hold."""
    return bool(_held(arrays, [word]))


def _held(arrays: IndexArrays, words: Iterable[str]) -> tuple[str, ...]:
    """Those of ``words`` the index holds (:func:`_holds`), the vocabulary read once."""
    vocabulary = arrays.vocabulary()
    return tuple(word for word in words if all(vocabulary.get(term, 0) > 0 for term in word.split(" ")))


def prefix_words(arrays: IndexArrays, prefix: str) -> list[str]:
    """The indexed words of the search fields that begin with ``prefix`` (not itself), the
    :data:`PREFIX_LIMIT` most frequent of the first :data:`PREFIX_SCAN` first: a run of the
    index's sorted vocabulary, found by a binary search in memory."""
    if not prefix:
        return []
    vocabulary, terms = arrays.vocabulary(), arrays.sorted_terms()
    counts = {terms[n]: vocabulary[terms[n]] for n in _run(terms, prefix) if terms[n] != prefix}
    return _most_frequent(counts, PREFIX_LIMIT)


def reading_words(arrays: IndexArrays, reading: str, prefix: bool = False) -> list[str]:
    """The indexed words that read ``reading`` (in hiragana), or with ``prefix`` whose reading
    begins with it, the most frequent first: a run of the ``reading`` field's terms
    (``reading<TAB>word`` for each word with a kanji or a Latin letter), found by a binary search
    in whoosh's terms file, or in memory once the index generation has copied them
    (:meth:`~mikke._scoring.IndexArrays.readings`).
    """
    start = reading if prefix else reading + "\t"
    counts: dict[str, int] = {}
    table = arrays.readings()
    if table is None:
        reader = arrays.searcher.reader()
        found = reader.iter_prefix("reading", start) if "reading" in reader.schema else iter(())
        for term, info in itertools.islice(found, PREFIX_SCAN):
            word = (term.decode("utf-8") if isinstance(term, bytes) else term).partition("\t")[2]
            counts[word] = counts.get(word, 0) + info.doc_frequency()
        return _most_frequent(counts, PREFIX_LIMIT)
    terms, posts = table
    for n in _run(terms, start):
        word = terms[n].partition("\t")[2]
        counts[word] = counts.get(word, 0) + posts[n]
    return _most_frequent(counts, PREFIX_LIMIT)


def _run(terms: list[str], prefix: str) -> range:
    """Where in ``terms`` (sorted) the first :data:`PREFIX_SCAN` of those beginning with ``prefix`` are.

    >>> _run(["a", "ab", "abc", "b"], "ab")
    range(1, 3)
    """
    first = bisect.bisect_left(terms, prefix)
    end = first
    while end < min(first + PREFIX_SCAN, len(terms)) and terms[end].startswith(prefix):
        end += 1
    return range(first, end)


def _most_frequent(counts: dict[str, int], limit: int) -> list[str]:
    """The ``limit`` keys of ``counts`` with the highest counts, ties in key order.

    >>> _most_frequent({"b": 2, "a": 2, "c": 5}, 2)
    ['c', 'a']
    """
    return sorted(counts, key=lambda word: (-counts[word], word))[:limit]


def correct(arrays: IndexArrays, typed: str) -> Correction | None:
    """:func:`_correct`, kept for the index generation (``arrays.corrections``): a question's runs
    of letters often came in an earlier question."""
    found = arrays.corrections.get(typed)
    if found is None:
        found = arrays.corrections.put(typed, (_correct(arrays, typed),))  # in a tuple: None is an answer
    return found[0]


def _correct(arrays: IndexArrays, typed: str) -> Correction | None:
    """The correction of a run of letters (katakana, Latin or hiragana) that looks mistyped, as it would be
    typed, and its index terms; None when it looks right or no correction is clearly better.

    The run looks mistyped when Sudachi does not know one of its words, or cuts a single letter or
    a particle out of it (ラマソン, ね + さ + かずら), or no post holds one of its words (ハドー +
    ウェア). A correction is one slip away (two neighbours swapped, a ー, ッ or ン added or
    dropped) and cuts into words that the index holds, none a single letter, the fewest words
    first, then the most documents; else (from :data:`TYPO_EDIT_MIN_CHARS` letters) one edit away
    (a letter dropped, added or replaced) and an indexed word, the most frequent. It must be held by
    :data:`TYPO_RATIO` times as many documents as the run when the run is one word (and by at least
    :data:`TYPO_MIN_DF`); a run of words Sudachi knows (and hiragana) is only corrected into one
    word it knows, and one that looks right only by a slip.
    """
    word = fold(typed)
    if not TYPO_MIN_CHARS <= len(word) <= TYPO_MAX_CHARS:
        return None
    cut = words(word)
    vocabulary = arrays.vocabulary()
    held = _documents(vocabulary, [w.term for w in cut if not w.stopped])
    known = all(w.known for w in cut)  # a word Sudachi knows is never corrected to one it does not
    right = held > 0 and known and _whole_words(cut)
    if right and len(cut) == 1:
        return None
    least = max(TYPO_MIN_DF, TYPO_RATIO * (held if len(cut) == 1 else 0))  # several words: not one
    most = 1 if known or _HIRAGANA.fullmatch(word) else TYPO_MAX_CHARS  # words Sudachi knows, or kana: into one
    options = []
    for candidate in dict.fromkeys(_slips(word)):
        if known and not known_word(candidate):
            continue  # not one word Sudachi knows: told without the analysis
        cut = words(candidate)
        if len(cut) > most or not _whole_words(cut):
            continue
        terms = tuple(w.term for w in cut)
        documents = _documents(vocabulary, terms)
        if documents >= least and (not known or all(w.known for w in cut)):
            options.append((len(terms), -documents, candidate, terms))
    if not options and not right and len(word) >= TYPO_EDIT_MIN_CHARS:
        options = [
            (1, -vocabulary[c], c, (c,))
            for c in _indexed_edits(vocabulary, arrays.sorted_terms(), word)
            if vocabulary[c] >= least and (not known or all(w.known for w in words(c)))
        ]
    if not options:
        return None
    _, _, correction, terms = min(options)
    return (correction.upper() if typed.isupper() else correction), terms


def _whole_words(cut: Sequence[Word]) -> bool:
    """Whether none of Sudachi's words of a run is stopped, nor (of several) a single letter.

    >>> _whole_words(words("ハリーポッター")), _whole_words(words("ねさかずら"))
    (True, False)
    """
    return not any(w.stopped for w in cut) and (len(cut) == 1 or min(len(w.surface) for w in cut) > 1)


def _documents(vocabulary: dict[str, int], terms: Sequence[str]) -> int:
    """The fewest documents holding one of ``terms`` (in one field), 0 when there are none.

    >>> _documents({"ハリー": 40, "ポッター": 12}, ["ハリー", "ポッター"]), _documents({}, [])
    (12, 0)
    """
    return min((vocabulary.get(term, 0) for term in terms), default=0)


def _slips(word: str) -> Iterator[str]:
    """The words one slip away from ``word``: two different neighbours swapped, or (in kana) a
    ー, ッ or ン added (not first) or dropped.

    >>> list(_slips("abc")), sorted(_slips("サカ"))
    (['bac', 'acb'], ['カサ', 'サカッ', 'サカン', 'サカー', 'サッカ', 'サンカ', 'サーカ'])
    """
    for n in range(len(word) - 1):
        if word[n] != word[n + 1]:
            yield word[:n] + word[n + 1] + word[n] + word[n + 2 :]
    if word.isascii():
        return
    slips = to_hiragana(_SLIPS) if _HIRAGANA.fullmatch(word) else _SLIPS
    for n in range(1, len(word) + 1):
        for letter in slips:
            yield word[:n] + letter + word[n:]
    for n, letter in enumerate(word):
        if letter in slips:
            yield word[:n] + word[n + 1 :]


def _indexed_edits(vocabulary: dict[str, int], terms: list[str], word: str) -> set[str]:
    """The words of ``vocabulary`` (``terms``: its words, sorted) one edit away from ``word``: a letter
    dropped, added or replaced (by one of its script). Where fewer indexed words begin with the letters
    an edit keeps in front of it than there are letters to try there, those words are read off
    ``terms``; elsewhere each edit is made and looked up.

    >>> indexed = {"nvidia": 9, "nvda": 3, "nvdla": 1, "nvidiaa": 1, "media": 5}
    >>> sorted(_indexed_edits(indexed, sorted(indexed), "nvdia"))
    ['nvda', 'nvdla', 'nvidia']
    """
    letters = _LATIN if word.isascii() else _HIRAGANA_LETTERS if _HIRAGANA.fullmatch(word) else _KATAKANA_LETTERS
    found = vocabulary.keys() & [word[:n] + word[n + 1 :] for n in range(len(word))]  # a letter dropped
    for n in range(len(word) + 1):  # a letter added or replaced after the first n
        head = word[:n]
        start = bisect.bisect_left(terms, head)
        end = bisect.bisect_left(terms, head + _LAST_LETTER, start)  # terms[start:end] begin with ``head``
        if end - start < 2 * len(letters):
            for term in terms[start:end]:
                if len(term) == len(word) + 1 and term[n] in letters and term[n + 1 :] == word[n:]:
                    found.add(term)  # added
                elif (
                    len(term) == len(word) > n
                    and term[n] in letters
                    and term[n] != word[n]
                    and term[n + 1 :] == word[n + 1 :]
                ):
                    found.add(term)  # replaced
            continue
        edits = [head + letter + word[n:] for letter in letters]
        if n < len(word):
            edits += [head + letter + word[n + 1 :] for letter in letters if letter != word[n]]
        found |= vocabulary.keys() & edits  # the few indexed ones, looked up at once
    return found


def _suggestion(text: str, corrections: list[tuple[str, str]]) -> str:
    """``text`` with each corrected run of letters (the first, whole, of that spelling) replaced.

    >>> _suggestion("NVDIA gpu", [("NVDIA", "NVIDIA")]), _suggestion("マラソンとラマソン", [("ラマソン", "マラソン")])
    ('NVIDIA gpu', 'マラソンとマラソン')
    """
    for typed, correction in corrections:
        run = next((r for r in _RUN.finditer(text) if r.group() == typed), None)
        if run:
            text = text[: run.start()] + correction + text[run.end() :]
    return text
