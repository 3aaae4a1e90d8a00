"""Score a parsed query in a few array operations: BM25F in numpy over whoosh's postings.

whoosh holds the index (postings, field lengths, stored fields, positions).
Walking its matcher tree in Python costs far more than the arithmetic, so a
query is scored here with array operations instead: the first time a query
needs a term, its postings are read into numpy arrays, from each segment's
postings copy (``_postings``; whoosh's blocks where a segment has none), and
kept for the life of the index generation (an :class:`IndexArrays`). The
scores are whoosh's own BM25F: ``idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B *
length / average length))`` per field, times the field's boost, summed over
the query's words (a compound's parts each count :data:`PARTS_WEIGHT` times
their mean: :data:`PARTS_ALONE`). A query's arrays cover only the
documents holding one of its words (``QueryScorer.docnums``).

>>> import tempfile, pathlib
>>> from mikke import Config, Searcher, update_index
>>> config = Config(index=pathlib.Path(tempfile.mkdtemp()))
>>> _ = update_index(config)
>>> from mikke._query import parse_query
>>> arrays = Searcher(config).current()
>>> scorer = QueryScorer(arrays, parse_query("液体冷却"), config.boosts)
>>> scores, matched = scorer.score(strict=True)
>>> int(matched.sum()) > 0 and bool((scores[matched] > 0).all()) and scorer.docnums.size < arrays.size
True
"""

from __future__ import annotations

import bisect
import functools
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray
from whoosh import query as wq
from whoosh.reading import TermNotFound
from whoosh.util.numeric import byte_to_length

from ._postings import SegmentPostings, postings_path
from ._query import Clause, Concept, Expansion, ParsedQuery, phrase_query
from ._schema import SEARCH_FIELDS
from ._whoosh_codec import columns_reader, length_bytes, read_matcher, stored_reader, term_matcher

#: BM25 term-frequency saturation and length normalization (fitted on held-out slices, docs/relevance.md).
K1 = 1.5
B = 0.9
#: Weight of a match on a compound's parts relative to the whole compound.
PARTS_WEIGHT = 0.6
#: A compound's parts each score alone (発明者 finds 発明), as Kuromoji's search mode splits them,
#: :data:`PARTS_WEIGHT` times their mean (トルコ共和国's 共和 and 国 do not outweigh トルコ);
#: else only where all of them are in one field, :data:`PARTS_WEIGHT` times their sum.
PARTS_ALONE = True
#: A word's weight in the coverage is its IDF to this power: the rarer words, the names, count more.
COVERAGE_IDF_POWER = 2.0
#: Postings kept in memory per index generation (16 bytes each), for the terms and again for the query words.
CACHE_POSTINGS = 10_000_000
#: Expansions whose words a query word weighs as (:func:`word_weight`).
BLENDED_KINDS = frozenset({"synonym"})
#: Query words' weights (:func:`word_weight`) kept per index generation.
CACHE_WORD_WEIGHTS = 100_000
#: Typo checks of runs of letters (``_expand.correct``) kept per index generation.
CACHE_CORRECTIONS = 10_000
#: Filter and phrase matches kept per index generation.
CACHE_MASKS = 64
#: Documents' stored fields kept per index generation (about 13 MB): the passages the sentence stage
#: and the hits of the last queries read, which recur across questions.
CACHE_FIELDS = 4096
#: Characters of passages' shown texts kept per index generation (``IndexArrays.shown_texts``; about
#: 11 MB): the passages the trigram stage reads for one question are often read for the next ones.
CACHE_SHOWN_CHARS = 4_000_000
#: Readings an index generation looks up in whoosh's terms file (about 0.5 ms each) before it copies
#: the reading lexicon to memory (``IndexArrays.readings``: 0.2 to 1 s on a large blog).
READINGS_ON_DISK = 64
#: ``_holding`` reads many documents (at least :data:`MASK_MIN_DOCS`) off a mask of a term's documents
#: when they are fewer than this many times as many, else looks each up (measured: the cheaper of the
#: two either side; the mask's zeroing costs more than looking up fewer documents).
MASK_IDS_PER_DOC = 16
MASK_MIN_DOCS = 128
#: ``_union`` sorts the documents of sorted lists that hold fewer than one in this many of the index's
#: (measured: a stable sort merges a few sorted lists faster than a mask of the index is read below that).
SORT_IDS_PER_DOC = 8

Key = TypeVar("Key")
Value = TypeVar("Value")
Floats = NDArray[np.float64]
Ints = NDArray[np.int64]
Mask = NDArray[np.bool_]
#: A query word's key in ``IndexArrays.words``: its term, its parts, its expansions and the boosts.
WordKey = tuple[str, tuple[str, ...], tuple[Expansion, ...], tuple[tuple[str, float], ...]]
#: A query word's documents and scores, and the documents holding it (``QueryScorer._word``).
Word = tuple[Ints, Floats, Ints]
#: A mistyped run's correction, as it would be typed, and its index terms (``_expand.correct``).
Correction = tuple[str, tuple[str, ...]]

#: A term's postings where no segment holds it (read only: shared).
_NO_IDS, _NO_SCORES = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
_NO_IDS.flags.writeable = _NO_SCORES.flags.writeable = False
_BYTE_TO_LENGTH = np.array([byte_to_length(b) for b in range(256)], dtype=np.float64)
#: Each search field's bit in ``IndexArrays.fields_of``'s masks.
_FIELD_BITS = {field: 1 << n for n, field in enumerate(SEARCH_FIELDS)}


class SizedCache(dict[Key, Value]):
    """A dict (read with ``get``, at a dict's speed) filled with :meth:`put`, which empties it
    whenever what it holds would pass ``budget``, each entry counting ``size`` (at least 1, so
    entries of nothing count too).

    >>> cache = SizedCache[str, int](budget=3)
    >>> cache.put("a", 1, size=2), cache.put("b", 2, size=2), cache.get("a"), cache.get("b")
    (1, 2, None, 2)
    """

    def __init__(self, budget: int) -> None:
        super().__init__()
        self.budget, self.held = budget, 0

    def put(self, key: Key, value: Value, size: int = 1) -> Value:
        size = max(1, size)
        if self.held + size > self.budget:
            self.clear()
            self.held = 0
        self[key] = value
        self.held += size
        return value


class IndexArrays:
    """One index generation as arrays: live documents, post and passage keys, and
    each term's BM25 scores per document, read from whoosh on first use."""

    def __init__(self, searcher: Any, folder: str | Path) -> None:
        self.searcher = searcher
        # Segment readers and their first document numbers; an empty index has none.
        self._leaves: list[tuple[Any, int]] = [
            pair for pair in searcher.reader().leaf_readers() if pair[0].doc_count_all()
        ]
        self._offsets = [offset for _, offset in self._leaves]
        self._copies = [
            SegmentPostings.open(postings_path(folder, leaf.segment().segment_id())) for leaf, _ in self._leaves
        ]
        shown = [leaf.column_reader("shown", translate=False) for leaf, _ in self._leaves]
        self._shown = columns_reader(shown, self._offsets)
        self._stored = [stored_reader(leaf) for leaf, _ in self._leaves]
        self.size = searcher.doc_count_all()
        self.live = np.ones(self.size, dtype=bool)
        for leaf, offset in self._leaves:
            if leaf.has_deletions():
                self.live[np.fromiter(leaf.deleted_docs_set, dtype=np.int64) + offset] = False
        self.post_of, self.posts = self._key_ids("path")
        self.passage_of, self.passages = self._key_ids("digest")
        #: Each document's place in (passage text, post path) order, which breaks ties between equal
        #: scores: the same in any build, however it numbered the documents.
        self.order = np.empty(self.size, dtype=np.int64)
        self.order[np.lexsort((self.post_of, self.passage_of))] = np.arange(self.size)
        self._norms_of: dict[str, Floats] = {}
        self._scores = SizedCache[tuple[str, str], tuple[Ints, Floats]](CACHE_POSTINGS)
        self._masks: dict[wq.Query, Mask] = {}
        self._fields: dict[int, dict[str, Any]] = {}
        self._shown_kept = SizedCache[int, str](CACHE_SHOWN_CHARS)
        #: Each query word's documents, summed scores and documents holding it (``QueryScorer._word``),
        #: by word and boosts.
        self.words = SizedCache[WordKey, Word](CACHE_POSTINGS)
        self.word_weights = SizedCache[str, float](CACHE_WORD_WEIGHTS)  # word_weight's
        self.corrections = SizedCache[str, tuple[Correction | None]](CACHE_CORRECTIONS)  # _expand.correct's
        self._vocabulary: dict[str, int] | None = None
        self._fields_of: dict[str, int] = {}
        self._sorted_terms: list[str] | None = None
        self._readings: tuple[list[str], list[int]] | None = None
        self._reading_lookups = 0

    def vocabulary(self) -> dict[str, int]:
        """Every term of the search fields -> the most documents holding it in one field; read on
        first use (from the postings copies, or whoosh's lexicon), then kept."""
        if self._vocabulary is None:
            found: dict[tuple[str, str], int] = {}
            for (leaf, _), copy in zip(self._leaves, self._copies, strict=True):
                if copy is not None:
                    counts: Any = copy.doc_frequencies()
                else:
                    counts = (
                        (field, term.decode(), info.doc_frequency())
                        for field in SEARCH_FIELDS
                        if field in leaf.schema
                        for term, info in leaf.iter_field(field)
                    )
                for field, term, count in counts:
                    found[field, term] = found.get((field, term), 0) + count
            self._vocabulary = {}
            for (field, term), count in found.items():
                self._vocabulary[term] = max(count, self._vocabulary.get(term, 0))
                self._fields_of[term] = self._fields_of.get(term, 0) | _FIELD_BITS[field]
        return self._vocabulary

    def fields_of(self, term: str) -> int:
        """The search fields holding ``term``, as a mask of their bits (``_FIELD_BITS``): 0 for a term in none."""
        if self._vocabulary is None:
            self.vocabulary()
        return self._fields_of.get(term, 0)

    def sorted_terms(self) -> list[str]:
        """The :meth:`vocabulary`'s terms in order (where the words a prefix begins are a run):
        made on first use, then kept."""
        if self._sorted_terms is None:
            self._sorted_terms = sorted(self.vocabulary())
        return self._sorted_terms

    def readings(self) -> tuple[list[str], list[int]] | None:
        """The ``reading`` field's terms in order (``reading<TAB>word``: the words that read alike, and
        those whose reading a prefix begins, are runs) and the posts using each, read from whoosh's
        lexicon once the generation has been asked :data:`READINGS_ON_DISK` times (as long-lived a
        process as makes the copy worth it), then kept; None before (look them up on disk)."""
        self._reading_lookups += 1
        if self._readings is None and self._reading_lookups > READINGS_ON_DISK:
            counts: dict[str, int] = {}
            for leaf, _ in self._leaves:
                if "reading" in leaf.schema:
                    for term, info in leaf.iter_field("reading"):
                        key = term.decode() if isinstance(term, bytes) else term
                        counts[key] = counts.get(key, 0) + info.doc_frequency()
            terms = sorted(counts)
            self._readings = terms, [counts[term] for term in terms]
        return self._readings

    def term_scores(self, field: str, term: str) -> tuple[Ints, Floats]:
        """Sorted document numbers holding ``term`` in ``field`` and their BM25 scores (kept for the
        generation: read only)."""
        key = (field, term)
        found = self._scores.get(key)
        if found is None:
            if field in SEARCH_FIELDS and not self.fields_of(term) & _FIELD_BITS[field]:  # no segment is read
                ids, frequencies = _NO_IDS, _NO_SCORES
            else:
                ids, frequencies = self._postings(field, term)
            if ids.size:
                idf = math.log(self.size / (ids.size + 1)) + 1
                found = ids, idf * frequencies * (K1 + 1) / (frequencies + self._norms(field)[ids])
                found[0].flags.writeable = found[1].flags.writeable = False
            else:
                found = ids, frequencies
            self._scores.put(key, found, ids.size)
        return found

    def shown_text(self, docnum: int) -> str:
        """A passage as a reader sees it: its post's title, its heading and its text, folded (the
        ``shown`` column, which spares unpickling the stored fields)."""
        return str(self._shown([docnum])[0], "utf-8")

    def shown_texts(self, docnums: list[int]) -> list[str]:
        """The :meth:`shown_text` of each of ``docnums``, those not kept (:data:`CACHE_SHOWN_CHARS`)
        read and decoded together (one decode of many texts takes less than one of each)."""
        kept = self._shown_kept
        texts = [kept.get(docnum, "") for docnum in docnums]
        missing = [place for place, text in enumerate(texts) if not text]  # (an empty text would be read again)
        if missing:
            found = self._shown([docnums[place] for place in missing])
            read = str(b"\x00".join(found), "utf-8").split("\x00")  # UTF-8 holds a zero byte only for NUL
            if len(read) != len(found):  # a NUL in one
                read = [str(value, "utf-8") for value in found]
            for place, text in zip(missing, read, strict=True):
                texts[place] = kept.put(docnums[place], text, len(text))
        return texts

    def stored_fields(self, docnum: int) -> dict[str, Any]:
        """A document's stored fields, read from its segment (kept for the most recent :data:`CACHE_FIELDS`)."""
        found = self._fields.pop(docnum, None)
        if found is None:
            if len(self._fields) == CACHE_FIELDS:
                del self._fields[next(iter(self._fields))]
            index = bisect.bisect_right(self._offsets, docnum) - 1
            found = self._stored[index](docnum - self._offsets[index])
        self._fields[docnum] = found
        return found

    def docs_for(self, q: wq.Query) -> Mask:
        """The documents whoosh matches for ``q`` (phrases and filters), as a read-only mask."""
        if q not in self._masks:
            if len(self._masks) == CACHE_MASKS:
                del self._masks[next(iter(self._masks))]
            mask = np.zeros(self.size, dtype=bool)
            mask[np.fromiter(self.searcher.docs_for_query(q), dtype=np.int64)] = True
            mask.flags.writeable = False
            self._masks[q] = mask
        return self._masks[q]

    def _postings(self, field: str, term: str) -> tuple[Ints, Floats]:
        """A term's postings in every segment: from its postings file (``_postings``), or from whoosh."""
        ids: list[Ints] = []
        frequencies: list[Floats] = []
        for (leaf, offset), copy in zip(self._leaves, self._copies, strict=True):
            found = copy.get(field, term) if copy is not None else None
            if found is not None:
                if found[0].size:
                    leaf_ids = found[0].astype(np.int64)  # a copy: the file's are read only
                    if offset:  # (most terms are read from the first segment, at 0)
                        leaf_ids += offset
                    ids.append(leaf_ids)
                    frequencies.append(found[1].astype(np.float64))
                continue
            try:
                matcher = term_matcher(leaf, field, term)
            except TermNotFound:
                continue
            leaf_ids, leaf_frequencies = read_matcher(matcher)
            if leaf_ids.size:
                ids.append(leaf_ids + offset)
                frequencies.append(leaf_frequencies)
        if len(ids) < 2:  # most terms: held in one segment, or none
            return (ids[0], frequencies[0]) if ids else (_NO_IDS, _NO_SCORES)
        return np.concatenate(ids), np.concatenate(frequencies)

    def _key_ids(self, field: str) -> tuple[Ints, int]:
        """Each document's value of a sortable field as a small integer, numbered in the values'
        order, and the number of values.

        Read segment by segment: whoosh's multi-segment column leaves out segments without the column.
        """
        values = [value for leaf, _ in self._leaves for value in leaf.column_reader(field)]
        numbers = {value: i for i, value in enumerate(sorted(set(values)))}
        return np.fromiter(map(numbers.__getitem__, values), dtype=np.int64, count=len(values)), len(numbers)

    def _norms(self, field: str) -> Floats:
        """Every document's BM25 length normalization in ``field``, ``K1 * ((1 - B) + B * length / average)``:
        its length as whoosh stores it (one byte, log scale), the average as whoosh's BM25F takes it
        (whoosh sums every segment's at each call: kept)."""
        if field not in self._norms_of:
            lengths = np.zeros(self.size, dtype=np.uint8)
            for leaf, offset in self._leaves:
                data = length_bytes(leaf, field)
                if data is not None:
                    raw = np.frombuffer(data, dtype=np.uint8)
                    lengths[offset : offset + raw.size] = raw
            average = self.searcher.avg_field_length(field) or 1
            self._norms_of[field] = K1 * ((1 - B) + B * _BYTE_TO_LENGTH[lengths] / average)
        return self._norms_of[field]


class QueryScorer:
    """Scores of one parsed query over one :class:`IndexArrays`; each word is scored once.

    Only the documents holding one of the query's words (``docnums``, sorted) can score
    or match, so every array here is over them, not over the whole index.
    ``score(strict)`` gives their scores and whether each matches: every item when
    ``strict``, any item otherwise; quoted phrases are always required and excluded words
    always excluded.
    """

    def __init__(self, arrays: IndexArrays, parsed: ParsedQuery, boosts: Mapping[str, float]) -> None:
        self.arrays = arrays
        self.parsed = parsed
        self.boosts = boosts
        self._boosts_key = tuple(boosts.items())
        self._fields = [(field, boosts[field]) for field in SEARCH_FIELDS if boosts.get(field, 0.0) > 0]
        self._words = {c: self._word(c) for c in (*parsed.concepts(), *parsed.excluded)}
        self.docnums: Ints = _union([holding for _, _, holding in self._words.values()], arrays.size)
        self._position = np.empty(arrays.size, dtype=np.int64)
        self._position[self.docnums] = np.arange(self.docnums.size)
        self._concepts: dict[Concept, Floats] = {}
        self._holds: dict[Concept, Mask] = {}
        self._places: dict[Concept, Ints] = {}

    @functools.cached_property
    def _inside(self) -> Mask:
        """Whether each document of the index is one of :attr:`docnums` (made when first needed: for a
        compound whose parts score alone)."""
        inside = np.zeros(self.arrays.size, dtype=bool)
        inside[self.docnums] = True
        return inside

    def at(self, docnums: Ints) -> Ints:
        """The places of ``docnums`` (some of :attr:`docnums`) in the scorer's arrays."""
        return self._position[docnums]

    def concept(self, concept: Concept) -> Floats:
        """Each of ``docnums``' score for one word: whole or (for less) its parts, in every field."""
        if concept not in self._concepts:
            ids, summed, _ = self._words[concept]
            scores = np.zeros(self.docnums.size)
            if PARTS_ALONE and concept.parts:  # some documents hold only a part: maybe no other word
                inside = self._inside[ids]
                scores[self._position[ids[inside]]] = summed[inside]
            else:  # it scores where it is held (``_holding_ids`` gives ``ids``): among ``docnums``
                scores[self._held_at(concept)] = summed
            self._concepts[concept] = scores
        return self._concepts[concept]

    def holds(self, concept: Concept) -> Mask:
        """Whether each of ``docnums`` holds one word: whole, all its parts in one field, or what it
        expands to. A part alone (:data:`PARTS_ALONE`) adds to a match's score, but is no match:
        脆弱性 does not find every passage saying 重要性."""
        if concept not in self._holds:
            mask = np.zeros(self.docnums.size, dtype=bool)
            mask[self._held_at(concept)] = True
            self._holds[concept] = mask
        return self._holds[concept]

    def held_by(self, concept: Concept, docnum: int) -> bool:
        """Whether the document ``docnum`` holds one word (:meth:`holds`): looked up in the documents
        holding it, without a mask of them."""
        ids = self._words[concept][2]
        place = int(ids.searchsorted(docnum))
        return place < ids.size and int(ids[place]) == docnum

    def _held_at(self, concept: Concept) -> Ints:
        """The places of the documents holding one word (:meth:`holds`) in the scorer's arrays, found
        once: most words score only where they are held (:meth:`concept` reads them too)."""
        if concept not in self._places:
            self._places[concept] = self._position[self._words[concept][2]]
        return self._places[concept]

    def _holding_ids(self, concept: Concept, scored: Ints) -> Ints:
        """The documents holding one word (see :meth:`holds`), sorted, of those where it scores (``scored``)."""
        if not (PARTS_ALONE and concept.parts):
            return scored
        found = self._ids(concept.text, ())
        found += [self._all_parts(field, concept.parts)[0] for field, _ in self._fields]
        for expansion in concept.expansions:
            for word in expansion.terms:
                terms = word.split(" ")
                found += self._ids(terms[0], tuple(terms[1:]))
        return _union(found, self.arrays.size)

    def _ids(self, text: str, parts: tuple[str, ...]) -> list[Ints]:
        """The documents of :meth:`_term_postings` not ``whole`` (holding ``text`` and all ``parts`` in one
        field), without their scores."""
        found = []
        for field, _ in self._fields:
            ids = self._all_parts(field, (text, *parts))[0] if parts else self.arrays.term_scores(field, text)[0]
            if ids.size:
                found.append(ids)
        return found

    def _word(self, concept: Concept) -> Word:
        """The documents holding one word (whole, or all its parts in one field) or one of its
        expansions, its scores there (summed over the fields, the best of the word and its
        expansions, each ``weight`` times its own) and the documents holding it (:meth:`holds`);
        kept for the index generation."""
        key = (concept.text, concept.parts, concept.expansions, self._boosts_key)
        found = self.arrays.words.get(key)
        if found is None:
            ids, summed = _summed(self._term_postings(concept.text, concept.parts), self.arrays.size)
            for expansion in concept.expansions:
                for word in expansion.terms:
                    terms = word.split(" ")
                    postings = self._term_postings(terms[0], tuple(terms[1:]), whole=False)
                    word_ids, word_scores = _summed(postings, self.arrays.size)
                    ids, summed = _best_of(ids, summed, word_ids, expansion.weight * word_scores)
            holding = self._holding_ids(concept, ids)
            found = self.arrays.words.put(key, (ids, summed, holding), ids.size + holding.size)
        return found

    def _term_postings(self, text: str, parts: tuple[str, ...], whole: bool = True) -> list[tuple[Ints, Floats]]:
        """The documents holding one word, whole and all its parts (or, not ``whole``, only all of
        ``text`` and ``parts`` together), in each field where there are some, and their boosted scores."""
        found = []
        for field, boost in self._fields:
            if whole or not parts:
                ids, term = self.arrays.term_scores(field, text)
                if ids.size:  # (a boost of 1 leaves the scores as they are: read only, never changed)
                    found.append((ids, term if boost == 1.0 else boost * term))
            if parts and whole and PARTS_ALONE:
                for part in parts:
                    ids, term = self.arrays.term_scores(field, part)
                    if ids.size:
                        found.append((ids, boost * PARTS_WEIGHT / len(parts) * term))
            elif parts:
                ids, term = self._all_parts(field, parts if whole else (text, *parts))
                if ids.size:
                    found.append((ids, boost * (PARTS_WEIGHT if whole else 1.0) * term))
        return found

    def _all_parts(self, field: str, parts: Sequence[str]) -> tuple[Ints, Floats]:
        """The documents whose ``field`` holds every one of ``parts``, and the parts' summed scores there."""
        ids, summed = self.arrays.term_scores(field, parts[0])
        for part in parts[1:]:
            if not ids.size:  # most fields hold none of a compound's parts
                break
            part_ids, part_scores = self.arrays.term_scores(field, part)
            here, there = _common(ids, part_ids)
            ids, summed = ids[here], summed[here] + part_scores[there]
        return ids, summed

    def _clause(self, clause: Clause, strict: bool) -> tuple[Floats, Mask]:
        """A clause's scores (a phrase's only where it matches; a word's also where it holds only a
        part), and which documents it matches."""
        each = [self.concept(c) for c in clause.concepts]
        scores = each[0] if len(each) == 1 else each[0] + each[1]
        for more in each[2:]:  # added in place, in the same order
            scores += more
        if strict or clause.phrase:
            matched = np.logical_and.reduce([self.holds(c) for c in clause.concepts])
        else:  # held by any of them: marked at once, without a mask of each
            matched = np.zeros(self.docnums.size, dtype=bool)
            for concept in clause.concepts:
                matched[self._held_at(concept)] = True
        if not clause.phrase:
            return scores, matched
        matched &= self.arrays.docs_for(phrase_query(clause, self.boosts))[self.docnums]
        return np.where(matched, scores, 0.0), matched

    def score(self, strict: bool) -> tuple[Floats, Mask]:
        """Each of ``docnums``' score, and whether it matches (see the class); a document a reindex
        deleted never matches."""
        size = self.docnums.size
        scores = np.zeros(size)
        matched = np.ones(size, dtype=bool) if strict else np.zeros(size, dtype=bool)
        required = self.arrays.live[self.docnums]
        for clause in self.parsed.required:
            clause_scores, clause_matched = self._clause(clause, strict)
            scores += clause_scores
            matched = matched & clause_matched if strict else matched | clause_matched
            if clause.phrase:
                required &= clause_matched
        for slot in self.parsed.alternatives:
            slot_matched = np.zeros(size, dtype=bool)
            for clause in slot:
                clause_scores, clause_matched = self._clause(clause, strict)
                scores += clause_scores
                slot_matched |= clause_matched
            matched = matched & slot_matched if strict else matched | slot_matched
        matched &= required
        for concept in self.parsed.excluded:
            matched &= ~self.holds(concept)
        return scores, matched

    def held(self, concept: Concept) -> Floats:
        """How much of ``concept`` each of ``docnums`` holds: 1 where it scores, except where a
        compound's parts score alone (:data:`PARTS_ALONE`) and only some are there (and nothing it
        expands to): their share, each part weighing its IDF to the power :data:`COVERAGE_IDF_POWER`
        (トルコ is most of トルコ共和国)."""
        held = (self.concept(concept) > 0).astype(np.float64)
        if not concept.parts or not PARTS_ALONE:
            return held
        weights = np.array(
            [word_weight(self.arrays, Concept(part, (), 0)) ** COVERAGE_IDF_POWER for part in concept.parts]
        )
        holding = np.array([self._anywhere(part) for part in concept.parts])
        parts = weights @ holding / weights.sum() if weights.sum() > 0 else holding.mean(axis=0)
        whole = self._anywhere(concept.text) | holding.all(axis=0) | ~holding.any(axis=0)  # (none: by an expansion)
        for expansion in concept.expansions:  # held through what it expands to: held whole
            for word in expansion.terms:
                whole |= np.logical_and.reduce([self._anywhere(term) for term in word.split(" ")])
        return np.where(whole, held, parts)

    def _anywhere(self, term: str) -> Mask:
        """Whether each of ``docnums`` holds ``term`` in some field (its fields' documents marked at once)."""
        held = np.zeros(self.docnums.size, dtype=bool)
        found = [ids for field, _ in self._fields if (ids := self.arrays.term_scores(field, term)[0]).size]
        if found:
            ids = found[0] if len(found) == 1 else np.concatenate(found)
            held[self._position[ids[self._inside[ids]]]] = True
        return held

    def coverage(self) -> tuple[Floats, Floats]:
        """The weighted share of the query's words each of ``docnums`` holds, and the share its
        whole post holds, each word weighing its IDF to the power :data:`COVERAGE_IDF_POWER`.
        A word is held where it scores: whole, all its parts, or what it expands to; a compound
        whose parts score alone (:data:`PARTS_ALONE`) is held in part where only some are.
        """
        arrays = self.arrays
        passage = np.zeros(self.docnums.size)
        post = np.zeros(arrays.posts)
        post_of = arrays.post_of[self.docnums]
        total = 0.0
        for concept in dict.fromkeys(self.parsed.concepts()):
            weight = word_weight(arrays, concept) ** COVERAGE_IDF_POWER
            total += weight
            # Once a post, however many of its passages hold the word: the most one of them holds.
            if not (concept.parts and PARTS_ALONE):  # held whole where it scores (held), else not
                places = self._held_at(concept)  # where it scores: every score is above 0
                passage[places] += weight
                post[post_of[places]] += weight  # a post listed more than once: added once
                continue
            held = self.held(concept)
            passage += weight * held
            share = np.zeros(arrays.posts)
            partly = (held > 0) & (held < 1)
            if partly.any():
                np.maximum.at(share, post_of[partly], held[partly])
            share[post_of[held == 1]] = 1.0
            post += weight * share
        if total == 0:
            return passage, passage
        return passage / total, post[post_of] / total


def _summed(postings: list[tuple[Ints, Floats]], size: int) -> tuple[Ints, Floats]:
    """The documents (of ``size``) in any of ``postings``, sorted, and their scores summed in the
    postings' order (the same sums to the last bit, whether the documents are sorted or read off the index).

    >>> postings = [(np.array([1, 4]), np.array([1.0, 2.0])), (np.array([4]), np.array([0.5]))]
    >>> [(ids.tolist(), scores.tolist()) for ids, scores in (_summed(postings, 5), _summed(postings, 100))]
    [([1, 4], [1.0, 2.5]), ([1, 4], [1.0, 2.5])]
    """
    if len(postings) == 1:  # a word in one field
        return postings[0]
    if not postings:
        return _NO_IDS, _NO_SCORES
    every = np.concatenate([found for found, _ in postings])
    if every.size * SORT_IDS_PER_DOC < size:  # a few documents: as ``_union``, sorted
        ids = _unique(every)
        summed = np.zeros(ids.size)
        # Added one by one in the postings' order: the sums of the scores in that order.
        np.add.at(summed, ids.searchsorted(every), np.concatenate([scores for _, scores in postings]))
        return ids, summed
    added = np.zeros(size)  # many: summed over the index, where they are read off
    for found, scores in postings:
        added[found] += scores
    held = np.zeros(size, dtype=bool)
    held[every] = True
    ids = held.nonzero()[0]
    return ids, added[ids]


def _union(found: list[Ints], size: int) -> Ints:
    """The documents (of ``size``) in any of ``found`` (each sorted and distinct), sorted.

    >>> _union([np.array([1, 4]), np.array([0, 4])], 5).tolist(), _union([], 5).tolist()
    ([0, 1, 4], [])
    """
    if len(found) == 1:
        return found[0]
    count = sum(ids.size for ids in found)
    if count * SORT_IDS_PER_DOC < size:  # a few documents: sorted, rather than found in a mask of the index
        return _unique(np.concatenate(found)) if count else np.zeros(0, dtype=np.int64)
    held = np.zeros(size, dtype=bool)
    for ids in found:
        held[ids] = True
    return held.nonzero()[0]


def _common(ids: Ints, other: Ints) -> tuple[Ints, Ints]:
    """The places in ``ids`` and in ``other`` (each sorted and distinct) of the documents both hold:
    ``np.intersect1d``'s indices, found by a binary search (faster).

    >>> [places.tolist() for places in _common(np.array([1, 4, 6, 9]), np.array([0, 4, 9]))]
    [[1, 3], [1, 2]]
    """
    if not other.size:
        return other, other
    found = other.searchsorted(ids)
    np.minimum(found, other.size - 1, out=found)
    both = other[found] == ids
    return both.nonzero()[0], found[both]


def _unique(ids: Ints) -> Ints:
    """The distinct ``ids``, sorted: ``np.unique``, which hashes integers first and takes many times as long
    on a few thousand of them. The sort is numpy's stable one, which merges sorted runs (``ids`` are
    mostly a few sorted arrays joined) in a third of the time of the default.

    >>> _unique(np.array([4, 1, 4, 2])).tolist()
    [1, 2, 4]
    """
    ids = np.sort(ids, kind="stable")
    distinct = np.empty(ids.size, dtype=bool)
    distinct[:1] = True
    np.not_equal(ids[1:], ids[:-1], out=distinct[1:])
    return ids[distinct]


def _best_of(ids: Ints, scores: Floats, other_ids: Ints, other_scores: Floats) -> tuple[Ints, Floats]:
    """The documents of both (sorted) with the higher of their two scores.

    >>> ids, scores = _best_of(np.array([1, 4]), np.array([1.0, 2.0]), np.array([4, 7]), np.array([3.0, 0.5]))
    >>> ids.tolist(), scores.tolist()
    ([1, 4, 7], [1.0, 3.0, 0.5])
    """
    if not other_ids.size:
        return ids, scores
    merged = _unique(np.concatenate((ids, other_ids)))
    best_scores = np.zeros(merged.size)
    best_scores[merged.searchsorted(ids)] = scores
    where = merged.searchsorted(other_ids)
    best_scores[where] = np.maximum(best_scores[where], other_scores)
    return merged, best_scores


def best(scores: Floats, order: Ints, k: int, ids: Ints | None = None) -> Ints:
    """The positions of the ``k`` highest ``scores``, best first, equal scores in ``order`` (or,
    with ``ids``, in ``order[ids]``: only the best's are looked up).

    >>> best(np.array([1.0, 3.0, 3.0, 2.0]), np.array([0, 2, 1, 3]), 2).tolist()
    [2, 1]
    >>> best(np.array([1.0, 3.0, 3.0, 2.0]), np.array([9, 9, 0, 2, 1, 3]), 2, np.arange(2, 6)).tolist()
    [2, 1]
    """
    if k < scores.size:
        kth = np.partition(scores, scores.size - k)[scores.size - k]
        chosen: Ints = (scores >= kth).nonzero()[0]
    else:
        chosen = np.arange(scores.size)
    ties = order[chosen] if ids is None else order[ids[chosen]]
    return chosen[np.lexsort((ties, -scores[chosen]))][:k]


def word_weight(arrays: IndexArrays, concept: Concept) -> float:
    """A query word's weight in the coverage and the sentence re-ranking: its BM25 IDF (Lucene's,
    never negative), from the field where it is most frequent; kept for the index generation.
    A word with synonyms weighs as the most frequent of them and itself (as Lucene's
    ``SynonymQuery`` blends them): アニマル, rare, weighs as 動物, which it stands for."""
    words = [concept.text]
    for expansion in concept.expansions:
        if expansion.kind in BLENDED_KINDS:
            words += expansion.terms
    key = "\t".join(words)
    weight = arrays.word_weights.get(key)
    if weight is None:
        frequency = max(_frequency(arrays, word) for word in words)
        idf = math.log(1 + (arrays.size - frequency + 0.5) / (frequency + 0.5))
        weight = arrays.word_weights.put(key, idf)
    return weight


def _frequency(arrays: IndexArrays, word: str) -> int:
    """The most documents holding ``word`` (terms, space-separated: the fewest of its terms') in one field."""
    vocabulary = arrays.vocabulary()
    return min(vocabulary.get(term, 0) for term in word.split(" "))


def held_in(arrays: IndexArrays, field: str, concept: Concept, docnums: Ints) -> Mask:
    """Whether each of ``docnums`` holds ``concept`` in ``field``: whole, or all its parts.

    Read from the postings the scorer has already read, so nothing is analysed again.
    """
    held = _holding(arrays.term_scores(field, concept.text)[0], docnums)
    if concept.parts:
        held |= np.logical_and.reduce([_holding(arrays.term_scores(field, p)[0], docnums) for p in concept.parts])
    return held


def _holding(ids: Ints, docnums: Ints) -> Mask:
    """Which of ``docnums`` are in the sorted ``ids`` (``np.isin``, faster): each of a few documents
    looked up, or, for many (:data:`MASK_MIN_DOCS`) against fewer than :data:`MASK_IDS_PER_DOC` times as
    many ``ids``, read off a mask of ``ids``.

    >>> _holding(np.array([2, 5, 9]), np.array([5, 1, 9, 10])).tolist()
    [True, False, True, False]
    >>> _holding(np.array([2, 5, 9]), np.arange(200)).nonzero()[0].tolist()
    [2, 5, 9]
    """
    if not ids.size or not docnums.size:
        return np.zeros(docnums.size, dtype=bool)
    if docnums.size >= MASK_MIN_DOCS and ids.size < MASK_IDS_PER_DOC * docnums.size:
        mask = np.zeros(max(int(ids[-1]), int(docnums.max())) + 1, dtype=bool)
        mask[ids] = True
        return mask[docnums]
    found = ids.searchsorted(docnums)
    np.minimum(found, ids.size - 1, out=found)
    return np.asarray(ids[found] == docnums)
