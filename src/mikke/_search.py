"""Run a parsed query: ranked, de-duplicated passages with snippets.

Every query matches the passages holding any of its words (quoted phrases are
required, excluded words excluded); a word also matches, at a lower weight, what
it expands to in the index (``_expand``: prefix completions, readings, synonyms, a
typo's correction). They are scored by BM25F over the weighted
fields (``_scoring``), then re-ranked by the stages of ``_ranking.STAGES`` in
order: coverage (the share of the query's words a passage holds, a soft AND),
character trigrams, best sentence, neighbouring word pairs. Passages with identical text are
collapsed (and, with ``per_post``, all but the best passage of each post).
Grouped by post (``group="post"``), each post of the page comes once with its
best passages of distinct sections. A short query whose best match misses one
of its words says which words the matches miss (``SearchResult.matched``). Stored fields are read
for the re-ranked passages and the hits of the page only (and, grouped, at most
:data:`SECTION_READS` passages of each post of the page).

>>> import tempfile, pathlib
>>> from mikke import Config, update_index
>>> config = Config(index=pathlib.Path(tempfile.mkdtemp()))
>>> _ = update_index(config)
>>> result = Searcher(config).search("液体冷却")
>>> snippet = result.hits[0].snippet
>>> "液体冷却" in [snippet.text[start:end] for start, end in snippet.highlights]
True
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, TypeVar, cast

import numpy as np
from whoosh import query as wq
from whoosh.reading import ReaderClosed

from ._analysis import analyze
from ._config import Config
from ._errors import ConfigError, IndexCorruptError
from ._expand import expand
from ._explain import explain_scores
from ._models import Explanation, Hit, SearchResult
from ._query import Clause, Concept, ParsedQuery
from ._ranking import Passage, Query, rerank
from ._request import SearchRequest
from ._scoring import Floats, IndexArrays, Ints, Mask, QueryScorer, best
from ._snippets import highlight_spans, make_snippet
from ._store import DECODE_ERRORS, Stamp, open_generation, stamp
from ._synonyms import Synonyms, load_synonyms

#: A query of at most this many words says whether its best match holds every word (``matched``).
LABEL_MAX_WORDS = 3


def _filter(
    tags: Sequence[str], categories: Sequence[str], since: dt.date | None, until: dt.date | None
) -> wq.Query | None:
    """Any of the tags, any of the categories, and the date range, all together."""
    parts: list[wq.Query] = []
    if tags:
        parts.append(wq.Or([wq.Term("tag", t.lower()) for t in tags]))
    if categories:
        parts.append(wq.Or([wq.Term("category", c.lower()) for c in categories]))
    if since or until:
        start = dt.datetime.combine(since, dt.time.min) if since else None
        end = dt.datetime.combine(until, dt.time.max) if until else None
        parts.append(wq.DateRange("date", start, end))
    return wq.And(parts) if parts else None


Method = TypeVar("Method", bound=Callable[..., Any])


def _close(searcher: Any) -> None:
    """Close a whoosh searcher that may be closed already."""
    with contextlib.suppress(ReaderClosed):
        searcher.close()


def _reading(method: Method) -> Method:
    """A :class:`Searcher` method that reads the index: a failure that a file changed or damaged
    since it was verified explains becomes ``IndexCorruptError``."""

    @functools.wraps(method)
    def reading(self: Searcher, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except DECODE_ERRORS:
            self.verify_again()
            raise

    return cast(Method, reading)


class Searcher:
    """A reusable searcher over one index; picks up a committed reindex on the next search.

    Each generation is verified when it is opened (``_store.open_generation``); every search
    first checks that its files are still the ones verified, and that the index is still
    the same one (a new generation, or an index deleted and built again). While the index
    is damaged, each search raises ``IndexCorruptError``; once it is repaired, searches
    work again. Searches from several threads must take turns (the web app holds a lock):
    picking up a new index generation closes the reader of the one before it.
    """

    def __init__(self, config: Config) -> None:
        self.config = config
        self._arrays: IndexArrays | None = None
        self._retired: IndexArrays | None = None
        self._files: list[str] | None = None
        self._stamp: Stamp | None = None
        self._error: IndexCorruptError | None = None
        self._lock = threading.Lock()
        self._synonyms = load_synonyms(config.synonyms)  # raises ConfigError for a file that cannot be read
        with contextlib.suppress(IndexCorruptError):  # reported by each search until it is repaired
            self.current()

    def synonyms(self) -> Synonyms:
        """Sudachi's synonyms and the blog's, re-read when its file changes (the last good one kept)."""
        with contextlib.suppress(ConfigError):
            self._synonyms = load_synonyms(self.config.synonyms)
        return self._synonyms

    def understand(self, parsed: ParsedQuery) -> tuple[ParsedQuery, str | None]:
        """``parsed`` with what its words also match in the current index (``_expand``), and the
        corrected query when a word was a typo."""
        return expand(parsed, self.current(), self.synonyms())

    def close(self) -> None:
        """Release the index files (also done when a generation's arrays are garbage collected)."""
        for arrays in (self._arrays, self._retired):
            if arrays is not None:
                arrays.searcher.close()
        self._arrays = self._retired = None
        self._stamp = None  # a later search opens the index again

    def current(self) -> IndexArrays:
        """The newest committed index generation (its whoosh searcher is ``.searcher``); raises
        ``IndexMissingError`` or ``IndexCorruptError`` when there is none that can be searched."""
        with self._lock:
            now = stamp(self.config.index, self._files)
            if now != self._stamp:
                if self._files is not None:
                    stamp(self.config.index)  # raises, for an index or a table of contents gone
                self._open()
            if self._error is not None:
                raise self._error
            assert self._arrays is not None
            return self._arrays

    def _open(self) -> None:
        try:
            generation = open_generation(self.config.index)
            try:
                arrays = IndexArrays(generation.searcher, self.config.index)
            except DECODE_ERRORS as error:
                generation.searcher.close()
                raise IndexCorruptError(self.config.index / generation.files[-1], "does not decode") from error
            weakref.finalize(arrays, _close, generation.searcher)
        except IndexCorruptError as error:
            # Tried again when any file of the index changes (a repair).
            self._error, self._files = error, None
            self._stamp = stamp(self.config.index)
            return
        # A fresh reader, not whoosh's refresh(): that reuses segment readers with stale
        # deletions, so a reindexed post would also show its old passages. The previous
        # searcher stays open for one more generation, for searches still running on it.
        if self._retired is not None:
            self._retired.searcher.close()
        self._retired, self._arrays = self._arrays, arrays
        self._error, self._files, self._stamp = None, generation.files, generation.stamp

    def verify_again(self) -> None:
        """After a failure reading the index: raise ``IndexCorruptError`` if a file changed or was
        damaged since it was verified (the files are verified again), else return."""
        with self._lock:
            self._stamp = None
        self.current()

    @_reading
    def matches(
        self, parsed: ParsedQuery, filter_query: wq.Query | None = None, *, rank: bool = True
    ) -> tuple[IndexArrays, Ints, Floats]:
        """The matching documents (sorted) and their first-stage scores; with ``rank``, re-ranked
        by ``_ranking.STAGES``. Facets need the matches only."""
        query, docnums, scores = self._matches(self.current(), parsed, filter_query, rank)
        return query.arrays, docnums, scores

    def _matches(
        self, arrays: IndexArrays, parsed: ParsedQuery, filter_query: wq.Query | None, rank: bool = True
    ) -> tuple[Query, Ints, Floats]:
        """:meth:`matches` in one index generation, with what the stages read (the first stage's
        scorer, and the passages the word-level stages read: the hits read them again)."""
        scorer = QueryScorer(arrays, parsed, self.config.boosts)
        scores, matched = scorer.score(strict=False)  # live documents only
        if filter_query is not None:
            matched &= arrays.docs_for(filter_query)[scorer.docnums]
        docnums, scores = scorer.docnums[matched], scores[matched]
        query = Query(arrays, parsed, scorer)
        if rank:
            scores = rerank(query, docnums, scores)
        return query, docnums, scores

    @_reading
    def search(self, request: SearchRequest | str, **options: Any) -> SearchResult:
        """Search and return one page of hits: ``search(SearchRequest(...))``, or the query and
        the request's fields as keywords (``search("GPU", limit=5)``). Raises ``QueryError`` for bad input."""
        started = time.perf_counter()
        if isinstance(request, str):
            request = SearchRequest(request, **options)
        elif options:
            raise TypeError("options go in the SearchRequest")
        parsed = request.parsed()
        arrays = self.current()  # one generation for the whole search (each look checks the index's files)
        parsed, suggestion = expand(parsed, arrays, self.synonyms())
        filter_query = _filter(request.tags, request.categories, request.since, request.until)
        query, candidates, scores = self._matches(arrays, parsed, filter_query)
        scorer, read = query.scorer, query.passages
        grouped = request.group == "post"
        by_post = grouped or request.per_post
        keys, key_count = (arrays.post_of, arrays.posts) if by_post else (arrays.passage_of, arrays.passages)
        counted = np.zeros(key_count, dtype=bool)
        counted[keys[candidates]] = True
        total = int(np.count_nonzero(counted))
        above = query.above[0] if query.above else None
        ranked = _best(arrays, candidates, scores, keys, request.offset + request.limit, above)[request.offset :]
        terms = parsed.terms()
        shown = list(ranked)
        sections: dict[int, list[tuple[int, float]]] = {}
        if grouped and ranked:
            sections = _sections(arrays, candidates, scores, [docnum for docnum, _ in ranked])
            shown = [pair for docnum, _ in ranked for pair in sections[docnum]]
        matched, matched_words, missing_words = _matched(scorer, candidates, ranked)
        trees = {}
        if request.explain and shown:
            _, base_docnums, base_scores = self.matches(parsed, filter_query, rank=False)
            query = Query(arrays, parsed, QueryScorer(arrays, parsed, self.config.boosts))
            trees = explain_scores(
                query, self.config.boosts, (base_docnums, base_scores), [docnum for docnum, _ in shown]
            )
        hits = []
        for rank, (docnum, score) in enumerate(ranked, request.offset + 1):
            if grouped:  # the post's best passage, its first section, with the others under it
                below = tuple(_hit(arrays, d, s, terms, trees.get(d), found=read.get(d)) for d, s in sections[docnum])
                hits.append(replace(below[0], rank=rank, sections=below))
            else:
                hits.append(_hit(arrays, docnum, score, terms, trees.get(docnum), rank, read.get(docnum)))
        took = (time.perf_counter() - started) * 1000
        expansions = tuple({"word": e.word, "kind": e.kind, "terms": e.terms} for e in parsed.expansions())
        explain = {"query": parsed.describe(), "expansions": [dict(e, terms=list(e["terms"])) for e in expansions]}
        return SearchResult(
            parsed.text,
            total,
            round(took, 2),
            tuple(hits),
            explain,
            suggestion=suggestion,
            expansions=expansions,
            group=request.group,
            matched=matched,
            matched_words=matched_words,
            missing_words=missing_words,
        )


def _matched(
    scorer: QueryScorer, candidates: Ints, ranked: list[tuple[int, float]]
) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """``"all"`` or ``"some"``, the words the matches hold and those they miss (see ``SearchResult``).

    A query of at most :data:`LABEL_MAX_WORDS` words matched only some of them when its best
    match does not hold every word; then a word is matched when some match holds it whole
    (all its concepts), and otherwise missing, with those of its concepts that some match
    holds listed as matched, as typed. A concept is held as the first stage's scorer holds it
    (``QueryScorer.holds``: as typed, all its parts in one field, or what it expands to).
    """
    parsed = scorer.parsed
    words = tuple(clause.text for clause in parsed.clauses())

    def held(concept: Concept, places: Ints) -> Mask:  # places: of documents in the scorer's arrays
        return scorer.holds(concept)[places]

    def whole(clause: Clause, places: Ints) -> Mask:
        return np.asarray(np.logical_and.reduce([held(concept, places) for concept in clause.concepts]))

    if len(parsed.concepts()) > LABEL_MAX_WORDS:
        return "all", words, ()  # a long query, a question mostly, ranks by how much of it a match covers
    if ranked:
        top = ranked[0][0]

        def at_top(clause: Clause) -> bool:
            return all(scorer.held_by(concept, top) for concept in clause.concepts)

        if all(at_top(clause) for clause in parsed.required) and all(
            any(at_top(clause) for clause in slot) for slot in parsed.alternatives
        ):
            return "all", words, ()  # the best match holds every word
    matched: list[str] = []
    missing: list[str] = []
    places = scorer.at(candidates)
    for clause in parsed.clauses():
        if whole(clause, places).any():
            matched.append(clause.text)
            continue
        missing.append(clause.text)
        surfaces = [token.surface for token in analyze(clause.text) if not token.part]
        if len(surfaces) != len(clause.concepts):
            surfaces = [concept.text for concept in clause.concepts]
        matched += [s for s, c in zip(surfaces, clause.concepts, strict=True) if held(c, places).any()]
    return "some", tuple(dict.fromkeys(matched)), tuple(dict.fromkeys(missing))


def _best(
    arrays: IndexArrays, candidates: Ints, scores: Floats, keys: Ints, need: int, above: Ints | None = None
) -> list[tuple[int, float]]:
    """The ``need`` best ``(docnum, score)`` of ``candidates``, one per key, best first
    (equal scores in ``arrays.order``: the same in any build); ``above``: the places of candidates
    ranked above every other (``Query.above``), among which as many best as they hold are found."""
    fetch = need * 2 + 10
    while True:
        picked: list[tuple[int, float]] = []
        taken: set[int] = set()
        if above is not None and fetch <= above.size:
            top = above[best(scores[above], arrays.order, fetch, candidates[above])]
        else:
            top = best(scores, arrays.order, fetch, candidates)
        docnums = candidates[top]
        for docnum, key, score in zip(docnums.tolist(), keys[docnums].tolist(), scores[top].tolist(), strict=True):
            if key not in taken:
                taken.add(key)
                picked.append((docnum, score))
                if len(picked) == need:
                    return picked
        if fetch >= scores.size:
            return picked
        fetch *= 4


#: Most sections shown under a post in a grouped result, and most of a post's passages read to find them.
SECTIONS_PER_POST = 3
SECTION_READS = 8


def _sections(
    arrays: IndexArrays, candidates: Ints, scores: Floats, heads: list[int]
) -> dict[int, list[tuple[int, float]]]:
    """For each post's best passage in ``heads``, its post's best passages of distinct sections
    (itself first; identical texts once): up to :data:`SECTIONS_PER_POST`, reading the stored
    fields of at most :data:`SECTION_READS` passages a post."""
    posts = {int(arrays.post_of[docnum]): docnum for docnum in heads}
    inside = np.flatnonzero(np.isin(arrays.post_of[candidates], np.fromiter(posts, dtype=np.int64)))
    found: dict[int, list[tuple[int, float]]] = {docnum: [] for docnum in heads}
    seen: dict[int, set[object]] = {docnum: set() for docnum in heads}
    reads = dict.fromkeys(heads, 0)
    for i in best(scores[inside], arrays.order[candidates[inside]], inside.size).tolist():
        docnum = int(candidates[inside[i]])
        head = posts[int(arrays.post_of[docnum])]
        if len(found[head]) == SECTIONS_PER_POST or reads[head] == SECTION_READS:
            continue
        passage = ("passage", int(arrays.passage_of[docnum]))
        if passage in seen[head]:
            continue
        reads[head] += 1
        section = arrays.stored_fields(docnum)["section"]
        place = (section["heading"], section["anchor"])
        if place not in seen[head]:
            found[head].append((docnum, float(scores[inside[i]])))
        seen[head] |= {passage, place}
    return found


def _hit(
    arrays: IndexArrays,
    docnum: int,
    score: float,
    terms: frozenset[str],
    tree: Explanation | None,
    rank: int = 0,
    found: Passage | None = None,
) -> Hit:
    """A passage as a hit (a section of a grouped hit: no rank), with its snippet and heading
    highlights; ``found``: the passage as the word-level stages read it (its terms' offsets are ``terms``')."""
    fields = arrays.stored_fields(docnum)
    post, section = fields["post"], fields["section"]
    return Hit(
        rank=rank,
        score=round(score, 4),
        path=fields["path"],
        title=post["title"],
        url=post["url"],
        date=post["date"],
        tags=tuple(post["tags"]),
        categories=tuple(post["categories"]),
        heading=section["heading"],
        anchor=section["anchor"],
        snippet=make_snippet(fields["text"], terms, offsets=found[1] if found else fields.get("offsets")),
        kind=fields.get("kind") or "text",
        heading_highlights=tuple(highlight_spans(section["heading"], terms, section.get("offsets")))
        if section["heading"]
        else (),
        explanation=tree,
        fragment=section.get("fragment", ""),
    )
