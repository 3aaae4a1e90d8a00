"""Run a parsed query: ranked, de-duplicated passages with snippets.

Ranking is BM25F over the weighted fields. A short query (at most
:data:`STRICT_MAX_WORDS` words) runs strict: every word must match; when that
finds nothing, the relaxed query (any word) runs. A longer one, a natural
question mostly, runs relaxed at once, and its best :data:`RERANK_DEPTH`
passages are re-ranked by coverage: the score times the share of the query's
IDF-weighted words the passage (and its post) holds, squared (a soft AND). Passages with
identical text are collapsed (and, with ``per_post``, all but the best passage
of each post). Stored fields are read for the hits of the page only.

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

import datetime as dt
import math
import re
import threading
import time
from collections.abc import Sequence
from typing import Any

from whoosh import query as wq
from whoosh import scoring

from ._config import Config
from ._errors import QueryError
from ._indexing import open_index
from ._matching import run_query
from ._models import Hit, SearchResult
from ._query import Concept, ParsedQuery, build_query, is_relaxable, parse_query
from ._schema import SEARCH_FIELDS
from ._snippets import make_snippet

#: Largest page a caller may ask for.
MAX_LIMIT = 100
DEFAULT_LIMIT = 10
#: Queries of at most this many words must match every word; longer ones rank by coverage.
STRICT_MAX_WORDS = 3
#: How many top passages of a relaxed query the coverage re-ranking looks at.
RERANK_DEPTH = 150
#: A relaxed hit's score is multiplied by its coverage to this power.
COVERAGE_POWER = 2.0
#: Share of the coverage taken from the passage's whole post rather than the passage alone.
POST_COVERAGE_WEIGHT = 0.5


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_date(value: str | dt.date | None, name: str) -> dt.date | None:
    """``YYYY-MM-DD`` (or a date) -> date; raises ``QueryError`` for anything else.

    >>> parse_date("2025-09-26", "since")
    datetime.date(2025, 9, 26)
    >>> parse_date("20250926", "since")
    Traceback (most recent call last):
    mikke._errors.QueryError: since must be a date like 2025-09-26, not '20250926'
    """
    if value is None or value == "":
        return None
    if isinstance(value, dt.date):
        return value
    try:
        if _ISO_DATE.fullmatch(value):
            return dt.date.fromisoformat(value)
    except ValueError:
        pass
    raise QueryError(f"{name} must be a date like 2025-09-26, not {value[:20]!r}")


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


def runs_strict_first(parsed: ParsedQuery) -> bool:
    """True for a short query (every word required first); False for a long one (any word).

    >>> runs_strict_first(parse_query("液体冷却"))
    True
    >>> runs_strict_first(parse_query("液体冷却を導入した会社はどこの国の企業か"))
    False
    """
    return len(parsed.concepts()) <= STRICT_MAX_WORDS or not is_relaxable(parsed)


class Searcher:
    """A reusable searcher over one index; picks up a committed reindex on the next search.

    Searches from several threads must take turns (the web app holds a lock):
    picking up a new index generation closes the reader of the one before it.
    """

    def __init__(self, config: Config) -> None:
        self.config = config
        self._index = open_index(config.index)
        self._searcher = self._index.searcher(weighting=scoring.BM25F())
        self._retired: Any = None
        self._lock = threading.Lock()

    def close(self) -> None:
        """Release the index files."""
        self._searcher.close()
        if self._retired is not None:
            self._retired.close()

    def current(self) -> Any:
        """The whoosh searcher of the newest committed index generation."""
        with self._lock:
            if not self._searcher.up_to_date():
                # A fresh reader, not whoosh's refresh(): that reuses segment readers with stale
                # deletions, so a reindexed post would also show its old passages. The previous
                # searcher stays open for one more generation, for searches still running on it.
                if self._retired is not None:
                    self._retired.close()
                self._retired, self._searcher = self._searcher, self._index.searcher(weighting=scoring.BM25F())
            return self._searcher

    def search(
        self,
        query: str | ParsedQuery,
        *,
        limit: int = DEFAULT_LIMIT,
        offset: int = 0,
        tags: Sequence[str] = (),
        categories: Sequence[str] = (),
        since: str | dt.date | None = None,
        until: str | dt.date | None = None,
        per_post: bool = False,
    ) -> SearchResult:
        """Search and return one page of hits. Raises ``QueryError`` for bad input."""
        started = time.perf_counter()
        if not 1 <= limit <= MAX_LIMIT:
            raise QueryError(f"limit must be between 1 and {MAX_LIMIT}, not {limit}")
        if offset < 0:
            raise QueryError(f"offset must be 0 or more, not {offset}")
        parsed = query if isinstance(query, ParsedQuery) else parse_query(query)
        since_date, until_date = parse_date(since, "since"), parse_date(until, "until")
        if since_date and until_date and since_date > until_date:
            raise QueryError(f"since {since_date} is after until {until_date}")
        filter_query = _filter(tags, categories, since_date, until_date)
        searcher = self.current()
        key_field = "path" if per_post else "digest"
        keys = searcher.reader().column_reader(key_field)
        need = offset + limit
        ranked: list[tuple[int, float]] = []
        matched = 0
        if runs_strict_first(parsed):
            strict = build_query(parsed, self.config.boosts, strict=True)
            ranked, matched = self._ranked(searcher, strict, filter_query, keys, need, ())
        if matched == 0 and is_relaxable(parsed):  # long, or no passage has every word: any word will do
            loose = build_query(parsed, self.config.boosts, strict=False)
            ranked, matched = self._ranked(searcher, loose, filter_query, keys, need, parsed.concepts())
        terms = parsed.terms()
        hits = []
        for rank, (docnum, score) in enumerate(ranked[offset:need], offset + 1):
            fields = searcher.stored_fields(docnum)
            post, section = fields["post"], fields["section"]
            hits.append(
                Hit(
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
                    snippet=make_snippet(fields["text"], terms),
                )
            )
        took = (time.perf_counter() - started) * 1000
        return SearchResult(parsed.text, matched, round(took, 2), tuple(hits), {"query": parsed.describe()})

    @staticmethod
    def _ranked(
        searcher: Any, q: wq.Query, filter_query: wq.Query | None, keys: Any, need: int, rerank: Sequence[Concept]
    ) -> tuple[list[tuple[int, float]], int]:
        """The best ``need`` hits (one per key), re-ranked by coverage of ``rerank`` when
        given, and the count of distinct keys among all matches."""
        fetch = max(need * 2 + 10, RERANK_DEPTH if rerank else 0)
        while True:
            results = run_query(searcher, q, fetch, filter_query)
            picked: list[tuple[int, float]] = []
            taken: set[Any] = set()
            for score, docnum in _by_coverage(searcher, results.top_n, rerank):
                key = keys[docnum]
                if key not in taken:
                    taken.add(key)
                    picked.append((docnum, score))
                    if len(picked) == need:
                        break
            if len(picked) == need or results.scored_length() < fetch:
                break
            fetch *= 4
        matched = len({keys[d] for d in results.docs()})
        return picked, matched


Span = tuple[int, int]


def _holding(searcher: Any, field: str, term: str, spans: list[Span]) -> set[Span]:
    """The spans of document numbers (sorted, inclusive) in which some ``field`` holds ``term``."""
    if (field, term) not in searcher.reader():
        return set()
    matcher = searcher.postings(field, term)
    found = set()
    for first, last in spans:
        if matcher.is_active() and matcher.id() < first:
            matcher.skip_to(first)
        if not matcher.is_active():
            break
        if matcher.id() <= last:
            found.add((first, last))
    return found


def _post_span(paths: Any, docnum: int, count: int) -> Span:
    """The document numbers of the post of ``docnum``: a post's documents are written together."""
    first = last = docnum
    while first > 0 and paths[first - 1] == paths[docnum]:
        first -= 1
    while last + 1 < count and paths[last + 1] == paths[docnum]:
        last += 1
    return first, last


def _by_coverage(searcher: Any, top: list[tuple[float, int]], concepts: Sequence[Concept]) -> list[tuple[float, int]]:
    """``(score, docnum)`` best first, each score times its coverage ** COVERAGE_POWER.

    Coverage is the IDF-weighted share of ``concepts`` held in any searched field
    (a compound counts when held whole or all its parts), the mean of the share
    the passage holds and the share its whole post holds, weighted by
    :data:`POST_COVERAGE_WEIGHT`: a long post splits its evidence over passages.
    """
    if not concepts:
        return top
    count = searcher.doc_count_all()
    paths = searcher.reader().column_reader("path")
    span_of = {docnum: ((docnum, docnum), _post_span(paths, docnum, count)) for _, docnum in top}
    spans = sorted({span for pair in span_of.values() for span in pair})
    held = dict.fromkeys(spans, 0.0)
    weights = 0.0
    for concept in dict.fromkeys(concepts):
        frequency = max(searcher.doc_frequency(field, concept.text) for field in SEARCH_FIELDS)
        weight = math.log(1 + (count - frequency + 0.5) / (frequency + 0.5))
        weights += weight
        holding: set[Span] = set()
        for field in SEARCH_FIELDS:
            holding |= _holding(searcher, field, concept.text, spans)
            if concept.parts:
                holding |= set.intersection(*(_holding(searcher, field, p, spans) for p in concept.parts))
        for span in holding:
            held[span] += weight
    if not weights:
        return top
    rescored = []
    for score, docnum in top:
        passage, post = span_of[docnum]
        coverage = (1 - POST_COVERAGE_WEIGHT) * held[passage] + POST_COVERAGE_WEIGHT * held[post]
        rescored.append((score * (coverage / weights) ** COVERAGE_POWER, docnum))
    return sorted(rescored, key=lambda pair: (-pair[0], pair[1]))
