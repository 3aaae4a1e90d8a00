"""A hit's score broken into its parts, as a tree (``--explain``, ``explain=true``).

The score of a passage is its BM25F (the sum over the query's words of each
field's boosted BM25, a compound's parts counting less), times the factor of
each re-ranking stage of ``_ranking.STAGES`` that read it. The explanation
recomputes each part for the few hits shown: BM25F per word and field from the
index arrays, and the factors by running the ranking's own stages on the
unranked matches, so their product is the hit's score.

>>> import tempfile, pathlib
>>> from mikke import Config, Searcher, update_index
>>> config = Config(index=pathlib.Path(tempfile.mkdtemp()))
>>> _ = update_index(config)
>>> hit = Searcher(config).search("液体冷却", explain=True).hits[0]
>>> tree = hit.explanation
>>> round(tree.value, 4) == hit.score and tree.description
'score, product of:'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ._models import Explanation
from ._query import Clause, Concept, ParsedQuery, phrase_query
from ._ranking import STAGES, Query, rerank
from ._schema import SEARCH_FIELDS
from ._scoring import PARTS_ALONE, PARTS_WEIGHT, Floats, IndexArrays, Ints


def explain_scores(
    query: Query, boosts: Mapping[str, float], matches: tuple[Ints, Floats], shown: Sequence[int]
) -> dict[int, Explanation]:
    """The explanation of each of the ``shown`` documents, by document number.

    ``matches`` are the matching documents (sorted) and their unranked BM25F scores
    (``Searcher.matches(rank=False)``).
    """
    docnums, scores = matches
    factors = np.full((len(STAGES), docnums.size), np.nan)
    rerank(query, docnums, scores, factors=factors)
    found = {int(docnum): i for i, docnum in enumerate(docnums.tolist())}
    trees = {}
    for docnum in shown:
        i = found[docnum]
        parts = [_bm25f(query.arrays, query.parsed, boosts, docnum)]
        for row, stage in enumerate(STAGES):
            depth = "every match" if stage.depth is None else f"the best {stage.depth}"
            read = not np.isnan(factors[row, i])
            what = f"weight {stage.weight:g}, over {depth}" + ("" if read else ": not among them")
            parts.append(Explanation(float(factors[row, i]) if read else 1.0, f"{stage.name} ({what})"))
        value = float(np.prod([part.value for part in parts]))
        trees[docnum] = Explanation(value, "score, product of:", tuple(parts))
    return trees


def _term_score(arrays: IndexArrays, field: str, term: str, docnum: int) -> float:
    """A term's BM25 in one field of one document (0 when the document does not hold it)."""
    ids, scores = arrays.term_scores(field, term)
    at = int(np.searchsorted(ids, docnum))
    return float(scores[at]) if at < ids.size and ids[at] == docnum else 0.0


def _concept(arrays: IndexArrays, concept: Concept, boosts: Mapping[str, float], docnum: int) -> Explanation:
    """One word's score: the word's own (:func:`_word`), or, where higher, one of its expansions'
    (a prefix's completion, a reading, a synonym) times the expansion's weight, as the scorer takes it."""
    chosen = _word(arrays, concept.text, concept.parts, boosts, docnum, whole=True)
    for expansion in concept.expansions:
        for word in expansion.terms:
            terms = word.split(" ")
            found = _word(arrays, terms[0], tuple(terms[1:]), boosts, docnum, whole=False)
            if expansion.weight * found.value > chosen.value:
                weight = Explanation(expansion.weight, f"weight of a {expansion.kind}")
                what = f"{concept.text} as its {expansion.kind} {word!r}, product of:"
                chosen = Explanation(expansion.weight * found.value, what, (weight, found))
    return chosen


def _word(
    arrays: IndexArrays, text: str, parts: tuple[str, ...], boosts: Mapping[str, float], docnum: int, whole: bool
) -> Explanation:
    """A word's score per field: the whole word's boosted BM25 plus its parts' (each alone, their
    mean, or all in the field: :data:`~mikke._scoring.PARTS_ALONE`);
    not ``whole`` (an expansion of several words), only all of ``text`` and ``parts`` together."""
    fields = []
    for field in SEARCH_FIELDS:
        boost = boosts.get(field, 0.0)
        if boost <= 0:
            continue
        details = []
        score = _term_score(arrays, field, text, docnum) if whole or not parts else 0.0
        if score:
            details.append(Explanation(boost * score, f"{field}:{text}, boost {boost:g} × BM25 {score:.4f}"))
        if parts and whole and PARTS_ALONE:
            share = PARTS_WEIGHT / len(parts)
            for part in parts:
                part_score = _term_score(arrays, field, part, docnum)
                if part_score:
                    name = f"{field}:{part} (part), boost {boost:g} × {share:g} × BM25 {part_score:.4f}"
                    details.append(Explanation(boost * share * part_score, name))
        elif parts:
            together = parts if whole else (text, *parts)
            scores = [_term_score(arrays, field, part, docnum) for part in together]
            if all(scores):
                names = "+".join(together)
                weight = boost * (PARTS_WEIGHT if whole else 1.0)
                details.append(
                    Explanation(
                        weight * sum(scores),
                        f"{field}:{names} (parts), boost {boost:g} × {weight / boost:g} × BM25 {sum(scores):.4f}",
                    )
                )
        if details:
            fields.append(Explanation(sum(d.value for d in details), f"{field}, sum of:", tuple(details)))
    return Explanation(sum(f.value for f in fields), f"{text}, sum of:", tuple(fields))


def _clause(arrays: IndexArrays, clause: Clause, boosts: Mapping[str, float], docnum: int) -> Explanation | None:
    """A query item's score, or None where it does not match (as ``QueryScorer._clause`` decides)."""
    concepts = [_concept(arrays, concept, boosts, docnum) for concept in clause.concepts]
    held = [concept.value > 0 for concept in concepts]
    matched = all(held) if clause.phrase else any(held)
    if clause.phrase:
        matched = matched and bool(arrays.docs_for(phrase_query(clause, boosts))[docnum])
    if not matched:
        return None
    kept = tuple(concept for concept in concepts if concept.value > 0)
    if len(clause.concepts) == 1:
        return kept[0]  # a one-word item is its word
    return Explanation(sum(c.value for c in kept), f"{clause.text!r}, sum of:", kept)


def _bm25f(arrays: IndexArrays, parsed: ParsedQuery, boosts: Mapping[str, float], docnum: int) -> Explanation:
    """The BM25F part: the sum of the matched items' scores."""
    found = [_clause(arrays, clause, boosts, docnum) for clause in parsed.clauses()]
    clauses = tuple(clause for clause in found if clause is not None)
    return Explanation(sum(c.value for c in clauses), "BM25F, sum of:", clauses)
