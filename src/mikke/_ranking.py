"""Rank a query's matches: a first-stage score, then an ordered list of re-ranking stages.

The first stage is BM25F over every document holding a query word (``_scoring.QueryScorer``).
Each of :data:`STAGES` then, in order, takes the ``depth`` best matches by the scores so far
(every match when ``depth`` is None) and gives them new scores: ``fn(query, docnums, scores,
weight)``, with the weight declared beside it. The stages with a depth never lower a score, so
the passages they re-rank stay above the rest (and a later stage's best are among them).

>>> [(stage.name, stage.depth) for stage in STAGES]
[('coverage', None), ('trigrams', 50), ('sentences', 10), ('pairs', 10)]
"""

from __future__ import annotations

import bisect
import functools
import itertools
import math
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ._analysis import fold
from ._query import WRITTEN_KINDS, Clause, Concept, ParsedQuery
from ._scoring import Floats, IndexArrays, Ints, Mask, QueryScorer, best, held_in, word_weight
from ._snippets import SENTENCE_MARKS, TermOffsets, sentence_ends, term_offsets, unpack_offsets

#: Share of the coverage taken from the passage's whole post rather than the passage alone.
POST_COVERAGE_WEIGHT = 0.5


#: What the word-level stages read of a passage: its text, its term offsets, and whether its title or
#: heading holds each query word.
Passage = tuple[str, TermOffsets, list[bool]]


@dataclass(frozen=True)
class Query:
    """What every stage reads: the index generation, the parsed query and its first-stage scorer
    (and the passages the word-level stages read, kept for the next: :func:`_evidence`; and where
    :func:`rerank` left the matches it ranked above every other: ``above``)."""

    arrays: IndexArrays
    parsed: ParsedQuery
    scorer: QueryScorer
    passages: dict[int, Passage] = field(default_factory=dict, compare=False, repr=False)
    above: list[Ints] = field(default_factory=list, compare=False, repr=False)

    @functools.cached_property
    def weights(self) -> list[float]:
        """Each query word's weight in the word-level stages (:func:`~mikke._scoring.word_weight`)."""
        return [word_weight(self.arrays, concept) for concept in self.parsed.concepts()]


#: A stage: ``fn(query, docnums, scores, weight)`` -> the new scores of ``docnums``.
StageFunction = Callable[[Query, Ints, Floats, float], Floats]


@dataclass(frozen=True)
class Stage:
    """One re-ranking stage: its function, how many of the best matches it reads, and its weight."""

    name: str
    depth: int | None
    weight: float
    fn: StageFunction


def rerank(
    query: Query, docnums: Ints, scores: Floats, stages: Sequence[Stage] | None = None, factors: Floats | None = None
) -> Floats:
    """The ``scores`` of the matches ``docnums`` after every stage of ``stages`` (:data:`STAGES`), in order.

    ``factors`` (stages x matches), when given, receives what each stage multiplied each score by;
    a match a stage does not read keeps its entry. A stage with a depth never lowers a score, so
    the best of a later stage, of a depth no larger, are found among those the last one read; and
    those a stage with a depth read of every match stay above the rest, in any later stage's order
    too: their places in ``docnums`` are left in ``query.above`` (nothing when the last stage read
    every match), where the best of every match are found (``_search._best``).
    """
    scores = scores.copy()
    order = query.arrays.order  # the tie order, looked up for the best only
    read: Ints | None = None  # the matches the last stage with a depth read
    widest: Ints | None = None  # those the last stage with a depth read of every match read
    for row, stage in enumerate(STAGES if stages is None else stages):
        if not docnums.size:
            break
        top: slice | Ints = slice(None)  # every match
        if stage.depth is None:
            read = widest = None  # a stage reading every match may lower any score
        elif read is not None and stage.depth == read.size:
            top = read  # the best are those read, best first or not
        elif read is not None and stage.depth < read.size:
            top = read = read[best(scores[read], order, stage.depth, docnums[read])]
        else:
            top = read = widest = best(scores, order, stage.depth, docnums)
        before = scores[top]
        after = stage.fn(query, docnums[top], before, stage.weight)
        if factors is not None:
            factors[row, top] = np.divide(after, before, out=np.ones(before.size), where=before > 0)
        scores[top] = after
    query.above[:] = [] if widest is None else [widest]
    return scores


def by_coverage(query: Query, docnums: Ints, scores: Floats, weight: float) -> Floats:
    """``scores`` times the coverage to the power ``weight`` (a soft AND): the IDF-weighted share
    of the query's words a passage holds, averaged with the share its whole post holds
    (:data:`POST_COVERAGE_WEIGHT`)."""
    scorer = query.scorer
    passage, post = scorer.coverage()
    share = (1 - POST_COVERAGE_WEIGHT) * passage + POST_COVERAGE_WEIGHT * post
    if not np.array_equal(docnums, scorer.docnums):  # else the matches are the scorer's documents, in order
        share = share[scorer.at(docnums)]
    return np.asarray(scores * share**weight)


_WORD_RUN = re.compile(r"\w+")


def trigrams(words: Sequence[str]) -> set[str]:
    """The character trigrams within the runs of word characters of ``words`` (a shorter run is kept whole).

    >>> sorted(trigrams(["梅雨の期間は?", "gpu"]))
    ['gpu', 'の期間', '期間は', '梅雨の', '雨の期']
    """
    runs = [run for text in words for run in _WORD_RUN.findall(text)]
    return {run[i : i + 3] for run in runs for i in range(max(1, len(run) - 2))}


#: Weight of a query trigram with one end outside the query's words (a particle, an ending: の語種,
#: 貿易の), against one whose two ends are in words (琵琶湖, 湖の面): :func:`by_trigrams`.
OUTER_TRIGRAM_WEIGHT = 0.4


def word_trigrams(clauses: Sequence[Clause]) -> set[str]:
    """The trigrams of :func:`trigrams` of the clauses' words whose first and last characters are in
    the analyser's words (``Clause.spans``; a shorter run: one of its characters), not in a particle
    or an ending between them; and those a typo's correction brought, whole.

    >>> from mikke._query import parse_query
    >>> sorted(word_trigrams(parse_query("琵琶湖の面積は").clauses()))
    ['湖の面', '琵琶湖']
    """
    found: set[str] = set()
    for clause in clauses:
        text = fold(clause.text)
        inside = {i for start, end in clause.spans for i in range(start, end)}
        for run in _WORD_RUN.finditer(text):
            start, end = run.span()
            if end - start < 3:
                if not inside.isdisjoint(range(start, end)):
                    found.add(text[start:end])
                continue
            found |= {text[i : i + 3] for i in range(start, end - 2) if i in inside and i + 2 in inside}
        if clause.corrected:
            found |= trigrams([fold(clause.corrected)]) - trigrams([text])
    return found


#: A character that ends a sentence (:data:`~mikke._snippets.SENTENCE_END`'s).
_SENTENCE_CUT = re.compile(f"[{SENTENCE_MARKS}\n]")
#: More than any window's number (:func:`sentence_grams`).
_NO_WINDOW = np.iinfo(np.int64).max


def sentence_grams(texts: Sequence[str], grams: Collection[str]) -> dict[int, list[set[str]]]:
    """Which of ``grams`` (one to three characters of words) the sentences of ``texts`` hold, each
    with those its text's title and heading hold: for each text holding some (by its place in
    ``texts``), a set for each of its sentences holding some, and one for its title and heading
    alone when they hold some. A text is a passage as :meth:`~mikke._scoring.IndexArrays.shown_text`
    gives it: its title and heading are its first sentence, then its body is cut at each
    :data:`~mikke._snippets.SENTENCE_END`. The texts are joined (NUL between them) and read as
    UTF-16 code units (UTF-32 when one is a surrogate); at each character a gram may start with
    (told by the last 16 bits of its code point), the window of the longest grams' length is made
    one number, 21 bits (a code point) a character, and its first characters, as many as each
    gram length, looked up among the grams'.

    >>> texts = ["梅雨\\n時期\\n期間は。雨季", "ai\\n\\n梅", "晴れ\\n\\n"]
    >>> found = sentence_grams(texts, ["梅雨", "期間", "雨季", "ai"])
    >>> {n: [sorted(grams) for grams in rows] for n, rows in found.items()}
    {0: [['期間', '梅雨'], ['梅雨', '雨季'], ['梅雨']], 1: [['ai']]}
    """
    joined = "\x00".join(texts)
    wide = (joined + "\x00\x00").encode("utf-16-le")  # room for a window
    chars: NDArray[Any]
    if len(wide) == 2 * len(joined) + 4:  # no code point above 0xFFFF: one code unit a character
        chars = low = np.frombuffer(wide, dtype=np.uint16)
    else:
        chars = np.frombuffer((joined + "\x00\x00").encode("utf-32-le"), dtype=np.uint32)
        low = chars.astype(np.uint16)
    codes = {}
    for gram in grams:
        code = 0
        for char in gram:
            code = code << 21 | ord(char)
        codes[code] = gram
    first = np.zeros(0x10000, dtype=bool)  # by a code point's last 16 bits: maybe
    first[[ord(gram[0]) & 0xFFFF for gram in grams]] = True
    starting = first.take(low[: len(joined)]).nonzero()[0]  # not in the room after
    known = np.array([*sorted(codes), _NO_WINDOW], dtype=np.int64)  # no window is the last
    longest = max((len(gram) for gram in grams), default=1)
    every = chars[starting].astype(np.int64)  # the window of the longest grams' length at each start
    for i in range(1, longest):
        every <<= 21
        every |= chars[i:][starting]
    places: list[int] = []
    matched: list[int] = []
    for length in {len(gram) for gram in grams}:
        windows = every >> 21 * (longest - length)  # its first ``length`` characters
        hits = (known[known.searchsorted(windows)] == windows).nonzero()[0]
        places += starting[hits].tolist()
        matched += windows[hits].tolist()
    starts = list(itertools.accumulate((len(text) + 1 for text in texts), initial=0))
    heads: dict[int, int] = {}  # text -> where its title and heading end (the newline after the heading)
    sentences: dict[int, dict[int, set[str]]] = {}  # text -> sentence (where it ends; -1: title and heading) -> grams
    for place, code in zip(places, matched, strict=True):
        n = bisect.bisect_right(starts, place) - 1
        text, offset = texts[n], place - starts[n]
        if n not in heads:
            heads[n] = head_end(text)
        if offset < heads[n]:
            end = -1
        else:
            cut = _SENTENCE_CUT.search(text, offset)
            end = cut.start() if cut else len(text)
        sentences.setdefault(n, {}).setdefault(end, set()).add(codes[code])
    rows = {}
    for n, held in sentences.items():
        above = held.pop(-1, set())
        rows[n] = [above | grams for grams in held.values()] + ([above] if above else [])
    return rows


def by_trigrams(query: Query, docnums: Ints, scores: Floats, weight: float) -> Floats:
    """``scores`` re-ranked by the query's character trigrams that each passage's best sentence
    holds, as a reader sees it (its post's title and its heading counting in every sentence).

    Each is multiplied by ``1 + weight * share`` (never lowered). ``share`` counts the trigrams
    that some of ``docnums`` holds, each weighted by how few of them hold it, and by
    :data:`OUTER_TRIGRAM_WEIGHT` when one of its ends is not in a query word. Trigrams reward a
    passage that holds the query's words next to each other, as written, and words the analyzer
    cut differently (何季 against 雨季); in one sentence, rather than scattered over a long text.
    """
    wanted = trigrams(query.parsed.words())
    if not wanted:
        return scores
    found = sentence_grams(query.arrays.shown_texts(docnums.tolist()), wanted)
    counts: dict[str, int] = {}  # how many of the texts hold each gram
    for rows in found.values():
        for gram in set().union(*rows):
            counts[gram] = counts.get(gram, 0) + 1
    inner = word_trigrams(query.parsed.clauses()) if counts else set()
    weights = {
        gram: math.log((docnums.size + 1) / (count + 0.5)) * (1.0 if gram in inner else OUTER_TRIGRAM_WEIGHT)
        for gram, count in counts.items()
    }
    total = sum(weights.values())
    if not total:
        return scores
    shares = np.zeros(docnums.size)
    for n, rows in found.items():
        shares[n] = max(sum(map(weights.__getitem__, grams)) for grams in rows) / total
    return np.asarray(scores * (1 + weight * shares))


#: Expansions a sentence holds a word through (:func:`sentence_share`): the word written another
#: way, or its typo corrected; not a prefix's completions, which are guesses.
SENTENCE_KINDS = WRITTEN_KINDS | {"typo"}


#: Weight of what a question asks for (:func:`answer_pattern`) in :func:`sentence_share`, against
#: the mean weight of its words.
ANSWER_TYPE_WEIGHT = 1.0
#: Counters a question asks a number of with 何 (何人, 何年, 何メートル): a sentence answering it holds a
#: numeral and the same counter, or one of :data:`SAME_COUNTERS`.
COUNTERS = (
    "年|月|日|世紀|人|名|個|本|回|歳|倍|種類|種|位|番目|番|枚|台|冊|件|匹|頭|羽|度|割|%|パーセント|"
    "メートル|キロメートル|キロ|トン|円|ドル|時間|分|秒|階|勝|票|点|カ国|か国|ヵ国|m|km|kg|cm"
)
#: Counters written another way in an answer: 4つ for 何個, 38万km for 何キロメートル.
SAME_COUNTERS = {
    "個": "個|つ",
    "キロメートル": "キロメートル|キロ|km",
    "キロ": "キロ|km|kg",
    "メートル": "メートル|m",
    "km": "km|キロ",
    "m": "m|メートル",
    "%": "%|パーセント|割",
    "パーセント": "パーセント|%|割",
    "カ国": "カ国|か国|ヵ国|ヶ国",
    "か国": "カ国|か国|ヵ国|ヶ国",
    "ヵ国": "カ国|か国|ヵ国|ヶ国",
}
_ASKS_COUNT = re.compile(rf"何({COUNTERS})")
_ASKS_DATE = re.compile(r"いつ(?!も)")
_ASKS_NUMBER = re.compile(r"いくつ|いくら|ど(?:の|れ)(?:くらい|ぐらい|程度)")
_NUMERAL = r"[0-9〇一二三四五六七八九十百千万億][0-9〇一二三四五六七八九十百千万億,.]*"
_DATE = re.compile(rf"(?:{_NUMERAL}|元)(?:年|月|日|世紀)")
_NUMBER = re.compile(r"[0-9]")


@functools.cache
def _counted(counter: str) -> re.Pattern[str]:
    return re.compile(rf"{_NUMERAL}\s?(?:{SAME_COUNTERS.get(counter, re.escape(counter))})")


def answer_pattern(question: str) -> re.Pattern[str] | None:
    """What a sentence answering ``question`` holds, by its question words: a numeral and the
    counter asked (何歳: 18歳), a date (いつ), a number (いくつ, どのくらい); or None.

    >>> [bool(answer_pattern("党員になれるのは何歳以上?").search(text)) for text in ("18歳以上", "18年")]
    [True, False]
    >>> answer_pattern("東京タワーはいつ完成した?").search("1958年に完成した").group()
    '1958年'
    >>> answer_pattern("琵琶湖の面積は") is None
    True
    """
    if found := _ASKS_COUNT.search(question):
        return _counted(found.group(1))
    if _ASKS_DATE.search(question):
        return _DATE
    if _ASKS_NUMBER.search(question):
        return _NUMBER
    return None


def word_forms(concept: Concept) -> list[list[str]]:
    """Besides the word whole and its parts standing together (:func:`together`), the terms a
    sentence holds ``concept`` by holding all of (:func:`sentence_share`): the words of one of its
    :data:`SENTENCE_KINDS` expansions.

    >>> from mikke._query import Concept, Expansion
    >>> word_forms(Concept("アニマル", (), 0, (Expansion("synonym", "アニマル", ("動物", "けだもの"), 0.8),)))
    [['動物'], ['けだもの']]
    """
    return [word.split(" ") for e in concept.expansions if e.kind in SENTENCE_KINDS for word in e.terms]


#: How many characters a compound's parts may take beyond the compound's own length and still
#: stand together for it (:func:`together`): a separator, 日本・共産党.
COMPOUND_SLACK = 1


def together(offsets: TermOffsets, concept: Concept) -> tuple[list[int], list[int]]:
    """Where ``concept``'s parts stand together in a text of term ``offsets``, spelling the
    compound (in a longer one, or with a separator): each start of its first part and each end of
    its last part at most the compound's length (and :data:`COMPOUND_SLACK`) after it. A part
    elsewhere is another word: 国 in コンゴ民主共和国 is no コンゴ共和国, 党 in 民主党 no 日本共産党.

    >>> from mikke._query import parse_query
    >>> from mikke._snippets import term_offsets
    >>> concept = parse_query("日本共産党").concepts()[0]
    >>> together(term_offsets("日本共産党中央委員会と民主党"), concept)
    ([0], [5])
    >>> together(term_offsets("日本の共産主義と民主党"), concept)
    ([], [])
    """
    if not concept.parts:
        return [], []
    firsts, lasts = offsets.get(concept.parts[0], [])[::2], offsets.get(concept.parts[-1], [])[1::2]
    longest = len(concept.text) + COMPOUND_SLACK
    starts, ends = [], []
    for start in firsts:
        for end in lasts[bisect.bisect_right(lasts, start) :]:
            if end - start > longest:
                break
            starts.append(start)
            ends.append(end)
    return starts, ends


def sentence_share(
    text: str,
    offsets: TermOffsets,
    concepts: Sequence[Concept],
    weights: Sequence[float],
    above: Sequence[bool],
    answer: re.Pattern[str] | None = None,
    forms: Sequence[list[list[str]]] | None = None,
) -> float:
    """The largest weighted share of ``concepts`` that one sentence of ``text`` holds (a word
    whole, its parts standing together: :func:`together`, or one of its :data:`SENTENCE_KINDS`
    expansions: its :func:`word_forms`, ``forms`` when given), a word ``above`` it (in its title
    or heading) counting as held by every sentence; ``offsets`` are ``text``'s term offsets. What
    the question asks for (``answer``: a date, a number) counts as one more word, held by a
    sentence where ``answer`` matches, weighing :data:`ANSWER_TYPE_WEIGHT` times the words' mean
    weight.

    >>> from mikke._query import parse_query
    >>> from mikke._snippets import term_offsets
    >>> concepts = parse_query("琵琶湖の面積").concepts()
    >>> text = "琵琶湖は滋賀県にある。面積は約670平方キロメートルである。"
    >>> sentence_share(text, term_offsets(text), concepts, [1.0, 1.0], [False, False])
    0.5
    >>> sentence_share(text, term_offsets(text), concepts, [1.0, 1.0], [True, False])
    1.0
    """
    ends = sentence_ends(text)
    where = bisect.bisect_right
    everywhere = 0.0
    held: dict[int, float] = {}
    forms = forms or [word_forms(concept) for concept in concepts]
    for concept, ways, weight, is_above in zip(concepts, forms, weights, above, strict=True):
        if is_above:
            everywhere += weight
            continue
        found = offsets.get(concept.text)
        holding = {where(ends, start) for start in found[::2]} if found else set()
        if concept.parts:
            holding.update([where(ends, start) for start in together(offsets, concept)[0]])
        for terms in ways:
            if all(term in offsets for term in terms):  # else no sentence holds them all
                holding |= set.intersection(*({where(ends, start) for start in offsets[term][::2]} for term in terms))
        for sentence in holding:
            held[sentence] = held.get(sentence, 0.0) + weight
    total = sum(weights)
    if answer is not None and total:
        weight = ANSWER_TYPE_WEIGHT * total / len(weights)
        for sentence in {bisect.bisect_right(ends, match.start()) for match in answer.finditer(text)}:
            held[sentence] = held.get(sentence, 0.0) + weight
        total += weight
    return (everywhere + max(held.values(), default=0.0)) / total if total else 0.0


def by_sentences(query: Query, docnums: Ints, scores: Floats, weight: float) -> Floats:
    """``scores`` re-ranked by each passage's best sentence.

    Each is multiplied by ``1 + weight * share``, ``share`` the IDF-weighted share of the
    query's words that one sentence of the passage, under its title and heading, holds
    (:func:`sentence_share`; never lowered). A passage that answers a question usually says it
    in one sentence, while one that only mentions its words scatters them; this tells apart the
    passages of one long text, which share its title and most of its words. A sentence that
    also holds what the question asks for (:func:`answer_pattern`: 1958年 for いつ) holds more.
    """
    concepts = query.parsed.concepts()
    if not concepts:
        return scores
    weights, passages = _evidence(query, docnums)
    answer = answer_pattern(query.parsed.text) if ANSWER_TYPE_WEIGHT else None
    forms = [word_forms(concept) for concept in concepts]  # once, for every passage
    shares = [sentence_share(text, off, concepts, weights, above, answer, forms) for text, off, above in passages]
    return np.asarray(scores * (1 + weight * np.array(shares)))


def written_in(text: str, concept: Concept) -> bool:
    """Whether a compound is written out in ``text`` (folded), whole or its parts one after the
    other, rather than held by parts apart: a title コンゴ民主共和国 holds コンゴ共和国's parts.

    >>> from mikke._query import parse_query
    >>> concept = parse_query("コンゴ共和国").concepts()[0]
    >>> written_in("コンゴ共和国の歴史", concept), written_in("コンゴ民主共和国", concept)
    (True, False)
    """
    return concept.text in text or "".join(concept.parts) in text


def head_end(shown: str) -> int:
    """Where a passage's title and heading end in its shown text (the newline after the heading).

    >>> head_end("題\\n見出し\\n本文。\\n続き")
    5
    """
    return shown.index("\n", shown.index("\n") + 1)


def _held_above(arrays: IndexArrays, concept: Concept, docnums: Ints) -> Mask:
    """Which of ``docnums`` hold ``concept`` in their post's title or their heading."""
    return held_in(arrays, "title", concept, docnums) | held_in(arrays, "heading", concept, docnums)


def _evidence(query: Query, docnums: Ints) -> tuple[list[float], list[Passage]]:
    """What the word-level stages read: each query word's weight, and each passage's text, term
    offsets and which words its title or heading holds, a compound whole or written out
    (:func:`written_in`; read once a query: ``query.passages``)."""
    arrays, parsed = query.arrays, query.parsed
    listed = docnums.tolist()
    new = [docnum for docnum in listed if docnum not in query.passages]
    if new:
        concepts, terms = parsed.concepts(), parsed.terms()
        ids = np.array(new, dtype=np.int64)
        held = [_held_above(arrays, c, ids) for c in concepts]
        above = np.array(held, dtype=bool).reshape(len(concepts), len(new)).T.tolist()  # a passage's, each
        compounds = [i for i, concept in enumerate(concepts) if len(concept.parts) > 1]
        whole = {i: _held_above(arrays, replace(concepts[i], parts=()), ids) for i in compounds}
        for n, (docnum, its_above) in enumerate(zip(new, above, strict=True)):
            apart = [i for i in compounds if its_above[i] and not whole[i][n]]  # held by their parts only
            if apart:
                shown = arrays.shown_texts([docnum])[0]  # (kept: the trigram stage read it)
                head = shown[: head_end(shown)]
                for i in apart:
                    its_above[i] = written_in(head, concepts[i])
            fields = arrays.stored_fields(docnum)  # kept: the hits read them again
            text, packed = fields["text"], fields.get("offsets")
            offsets = unpack_offsets(packed, terms) if packed else term_offsets(text)
            query.passages[docnum] = text, offsets, its_above
    return query.weights, [query.passages[docnum] for docnum in listed]


#: Most characters between two neighbouring query words that count as next to each other (:func:`by_pairs`).
PAIR_GAP = 10
#: A run of three neighbouring query words held next to each other in the question's order
#: weighs this many times its lightest word (:func:`pair_shares`), in a question of at least
#: :data:`RUN_MIN` words.
RUN_WEIGHT = 1.0
RUN_MIN = 5


def pair_shares(
    passages: Sequence[tuple[TermOffsets, Sequence[bool]]],
    concepts: Sequence[Concept],
    weights: Sequence[float],
    together: Mask,
) -> list[float]:
    """For each passage (its term offsets, and which words its title or heading holds: ``above``),
    the weighted share of the query's pairs of neighbouring words that it holds next to each
    other, in either order: one word's start at most :data:`PAIR_GAP` characters after the
    other's end (a compound reaching from its first part to its last), or both ``above`` the
    text. ``together[i]`` says whether words ``i`` and ``i + 1`` make a pair (typed in one
    clause); a pair weighs its lighter word. In a question of :data:`RUN_MIN` words or more,
    three neighbouring words of one clause also count as one more pair when the text holds them
    next to each other in the question's order (an answer restating the question's clause).
    What every passage shares (the pairs, their weights and total) is found once.

    >>> import numpy as np
    >>> from mikke._query import parse_query
    >>> from mikke._snippets import term_offsets
    >>> concepts, together = parse_query("琵琶湖の面積").concepts(), np.array([True])
    >>> texts = ("面積で琵琶湖に勝る湖はない", "琵琶湖は滋賀県の中央にある。面積は広い")
    >>> pair_shares([(term_offsets(text), [False, False]) for text in texts], concepts, [1.0, 1.0], together)
    [1.0, 0.0]
    >>> pair_shares([({}, [True, True])], concepts, [1.0, 1.0], together)
    [1.0]
    """
    pairs = together.nonzero()[0].tolist()
    pair_weights = [min(weights[i], weights[i + 1]) for i in pairs]
    runs = []  # (first word, weight) of each run of three words of one clause
    if len(concepts) >= RUN_MIN:
        runs = [(i, RUN_WEIGHT * min(weights[i : i + 3])) for i in pairs if i + 1 in pairs]
    total = sum(pair_weights + [weight for _, weight in runs])
    if not total:
        return [0.0] * len(passages)
    words = sorted({word for i in pairs for word in (i, i + 1)})
    # A word is in a text when its whole or its first part is (else it has no spans: :func:`_spans`).
    keys = [(word, concepts[word].text, concepts[word].parts[:1]) for word in words]
    shares = []
    for offsets, above in passages:
        found = {
            word: _spans(offsets, concepts[word])
            for word, text, first in keys
            if text in offsets or (first and first[0] in offsets)
        }
        held = 0.0
        ahead = dict.fromkeys(pairs, False)  # pair i -> whether the text holds word i + 1 right after word i
        for i, weight in zip(pairs, pair_weights, strict=True):
            if i in found and i + 1 in found:
                (starts, ends), (next_starts, next_ends) = found[i], found[i + 1]
                ahead[i] = _near(ends, next_starts)
                if ahead[i] or _near(next_ends, starts):
                    held += weight
                    continue
            if above[i] and above[i + 1]:
                held += weight
        for i, weight in runs:
            if ahead[i] and ahead[i + 1]:  # three words held in the question's order
                held += weight
        shares.append(held / total)
    return shares


def _spans(offsets: TermOffsets, concept: Concept) -> tuple[list[int], list[int]]:
    """Where a query word starts and ends in a text of term ``offsets``: whole, or from its first
    part to its last. A compound ends only where its parts stand together (:func:`together`): its
    last part is its head, a word many others end in (国, 党, 者); it starts wherever its first part
    does, the part that names it (コンゴ, 司馬 in 父・司馬談)."""
    whole = offsets.get(concept.text, [])
    starts, ends = whole[::2], whole[1::2]
    if concept.parts:
        starts = starts + offsets.get(concept.parts[0], [])[::2]
        ends = ends + together(offsets, concept)[1]
    return starts, ends


def _near(ends: list[int], starts: list[int]) -> bool:
    """Whether one of ``starts`` is at most :data:`PAIR_GAP` characters after one of ``ends``."""
    return bool(ends and starts) and any(0 <= start - end <= PAIR_GAP for start in starts for end in ends)


def by_pairs(query: Query, docnums: Ints, scores: Floats, weight: float) -> Floats:
    """``scores`` re-ranked by the query's neighbouring words each passage holds next to each other.

    Each is multiplied by ``1 + weight * share`` (:func:`pair_shares`; never lowered): a passage
    that says what the question asks holds its words as close as the question does, in the
    question's order or the other way round (琵琶湖の面積, 面積で琵琶湖に), where one that only
    mentions them holds them apart. Words typed apart (a keyword query's) make no pair; a pair
    in the title or heading counts, as in :func:`by_sentences`.
    """
    parsed = query.parsed
    concepts = parsed.concepts()
    clause_of = np.array([n for n, clause in enumerate(parsed.clauses()) for _ in clause.concepts])
    together = clause_of[1:] == clause_of[:-1]
    if not together.any():
        return scores
    weights, passages = _evidence(query, docnums)
    shares = pair_shares([(offsets, above) for _, offsets, above in passages], concepts, weights, together)
    return np.asarray(scores * (1 + weight * np.array(shares)))


#: The re-ranking stages, in order: coverage of every match (its weight is a power), then the
#: best passages' trigrams, then the very best's sentences and neighbouring word pairs.
STAGES: tuple[Stage, ...] = (
    Stage("coverage", depth=None, weight=3.0, fn=by_coverage),
    Stage("trigrams", depth=50, weight=8.0, fn=by_trigrams),
    Stage("sentences", depth=10, weight=8.0, fn=by_sentences),
    Stage("pairs", depth=10, weight=1.5, fn=by_pairs),
)
