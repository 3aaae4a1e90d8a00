"""Run a parsed query: ranked, de-duplicated passages with snippets.

Ranking is BM25F over the weighted fields (scored in ``_scoring``); a word
also scores, at a lower weight, through what it expands to in the index
(``_expand``: prefix completions, readings, synonyms, a typo's correction). A short
query (at most :data:`STRICT_MAX_WORDS` words) runs strict: every word must
match; when that finds nothing, the relaxed query (any word) runs. A longer one,
a natural question mostly, runs relaxed at once, and each passage's score is
multiplied by its coverage: the share of the query's IDF-weighted words the
passage (and its post) holds, to the power :data:`COVERAGE_POWER` (a soft AND).
Either way the best passages are then re-ranked by the query's character
trigrams they hold (``_scoring.by_trigrams``), and by the share of the query's
words their best sentence holds (``_scoring.by_sentences``). Passages with identical text are
collapsed (and, with ``per_post``, all but the best passage of each post).
Stored fields are read for the re-ranked passages and the hits of the page only.

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
import re
import threading
import time
from collections.abc import Sequence

import numpy as np
from whoosh import query as wq

from ._config import Config
from ._errors import ConfigError, QueryError
from ._expand import expand
from ._indexing import open_index
from ._models import Hit, SearchResult
from ._query import ParsedQuery, is_relaxable, parse_query
from ._scoring import TRIGRAM_DEPTH, Floats, IndexArrays, Ints, QueryScorer, best, by_sentences, by_trigrams
from ._snippets import make_snippet
from ._synonyms import Synonyms, load_synonyms

#: Largest page a caller may ask for.
MAX_LIMIT = 100
DEFAULT_LIMIT = 10
#: Queries of at most this many words must match every word; longer ones rank by coverage.
STRICT_MAX_WORDS = 3
#: A relaxed hit's score is multiplied by its coverage to this power.
COVERAGE_POWER = 6.0
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
        self._arrays = IndexArrays(self._index.searcher(), config.index)
        self._retired: IndexArrays | None = None
        self._lock = threading.Lock()
        self._synonyms = load_synonyms(config.synonyms)  # raises ConfigError for a file that cannot be read

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
        """Release the index files."""
        self._arrays.searcher.close()
        if self._retired is not None:
            self._retired.searcher.close()

    def current(self) -> IndexArrays:
        """The newest committed index generation (its whoosh searcher is ``.searcher``)."""
        with self._lock:
            if not self._arrays.searcher.up_to_date():
                # A fresh reader, not whoosh's refresh(): that reuses segment readers with stale
                # deletions, so a reindexed post would also show its old passages. The previous
                # searcher stays open for one more generation, for searches still running on it.
                if self._retired is not None:
                    self._retired.searcher.close()
                self._retired, self._arrays = self._arrays, IndexArrays(self._index.searcher(), self.config.index)
            return self._arrays

    def matches(
        self, parsed: ParsedQuery, filter_query: wq.Query | None = None, *, rank: bool = True
    ) -> tuple[IndexArrays, Ints, Floats]:
        """The matching documents (sorted) and their scores, strict first for a short query
        (relaxed when nothing matches every word), relaxed for a long one; with ``rank``,
        re-ranked by coverage (relaxed), by trigrams and by sentences. Facets need the matches only."""
        arrays = self.current()
        scorer = QueryScorer(arrays, parsed, self.config.boosts)
        allowed = arrays.live[scorer.docnums]
        if filter_query is not None:
            allowed &= arrays.docs_for(filter_query)[scorer.docnums]
        scores, matched = np.zeros(scorer.docnums.size), np.zeros(scorer.docnums.size, dtype=bool)
        if runs_strict_first(parsed):
            scores, matched = scorer.score(strict=True)
            matched &= allowed
        if not matched.any() and is_relaxable(parsed):  # long, or no passage has every word: any word will do
            scores, matched = scorer.score(strict=False)
            matched &= allowed
            if rank:
                passage, post = scorer.coverage()
                found = np.flatnonzero(matched)
                share = (1 - POST_COVERAGE_WEIGHT) * passage[found] + POST_COVERAGE_WEIGHT * post[found]
                scores[found] *= share**COVERAGE_POWER
        docnums, scores = scorer.docnums[matched], scores[matched]
        if rank:
            # The re-ranking never lowers a score, so the sentences' best are among the trigrams' best.
            top = best(scores, arrays.order[docnums], TRIGRAM_DEPTH)
            reranked = by_trigrams(arrays, parsed.words(), scores[top], docnums[top])
            scores[top] = by_sentences(arrays, parsed, reranked, docnums[top])
        return arrays, docnums, scores

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
        prefix: bool = False,
    ) -> SearchResult:
        """Search and return one page of hits. Raises ``QueryError`` for bad input.

        With ``prefix``, the query's last word may be unfinished (``parse_query``)."""
        started = time.perf_counter()
        if not 1 <= limit <= MAX_LIMIT:
            raise QueryError(f"limit must be between 1 and {MAX_LIMIT}, not {limit}")
        if offset < 0:
            raise QueryError(f"offset must be 0 or more, not {offset}")
        parsed = query if isinstance(query, ParsedQuery) else parse_query(query, prefix=prefix)
        parsed, suggestion = self.understand(parsed)
        since_date, until_date = parse_date(since, "since"), parse_date(until, "until")
        if since_date and until_date and since_date > until_date:
            raise QueryError(f"since {since_date} is after until {until_date}")
        arrays, candidates, scores = self.matches(parsed, _filter(tags, categories, since_date, until_date))
        keys, key_count = (arrays.post_of, arrays.posts) if per_post else (arrays.passage_of, arrays.passages)
        counted = np.zeros(key_count, dtype=bool)
        counted[keys[candidates]] = True
        total = int(np.count_nonzero(counted))
        ranked = _best(arrays, candidates, scores, keys, offset + limit)
        terms = parsed.terms()
        hits = []
        for rank, (docnum, score) in enumerate(ranked[offset:], offset + 1):
            fields = arrays.stored_fields(docnum)
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
                    snippet=make_snippet(fields["text"], terms, offsets=fields.get("offsets")),
                )
            )
        took = (time.perf_counter() - started) * 1000
        expansions = tuple({"word": e.word, "kind": e.kind, "terms": e.terms} for e in parsed.expansions())
        explain = {"query": parsed.describe(), "expansions": [dict(e, terms=list(e["terms"])) for e in expansions]}
        return SearchResult(parsed.text, total, round(took, 2), tuple(hits), explain, suggestion, expansions)


def _best(arrays: IndexArrays, candidates: Ints, scores: Floats, keys: Ints, need: int) -> list[tuple[int, float]]:
    """The ``need`` best ``(docnum, score)`` of ``candidates``, one per key, best first
    (equal scores in ``arrays.order``: the same in any build)."""
    order = arrays.order[candidates]
    fetch = need * 2 + 10
    while True:
        picked: list[tuple[int, float]] = []
        taken: set[int] = set()
        for i in best(scores, order, fetch).tolist():
            docnum = int(candidates[i])
            key = int(keys[docnum])
            if key not in taken:
                taken.add(key)
                picked.append((docnum, float(scores[i])))
                if len(picked) == need:
                    return picked
        if fetch >= scores.size:
            return picked
        fetch *= 4
