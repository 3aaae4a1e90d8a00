"""The whoosh schema: one document per passage, with its post's and section's fields.

Searchable fields and their query-time weights (``Config.boosts``):
``title`` > ``heading`` > ``tags`` (tags and categories) > ``excerpt`` > ``body``.
``tag``/``category``/``date`` serve the filters; the stored fields carry what a
hit shows, read for the top hits only. A post's marker document holds ``reading``:
``reading<TAB>term`` for each of its words with a kanji or a Latin letter
(``_analysis.reading_pairs``), a lexicon that query expansion reads (``_expand``).

>>> sorted(SEARCH_FIELDS)
['body', 'excerpt', 'heading', 'tags', 'title']
"""

from __future__ import annotations

from whoosh.analysis import RegexTokenizer
from whoosh.fields import COLUMN, DATETIME, ID, KEYWORD, STORED, TEXT, Schema

from ._analysis import analyzer

#: Bump when the schema or the analysis changes in a way that needs a rebuild.
SCHEMA_VERSION = 10

#: Fields a query searches, in boost order.
SEARCH_FIELDS = ("title", "heading", "tags", "excerpt", "body")

#: Fields that can hold phrases (positions are recorded).
PHRASE_FIELDS = ("title", "heading", "body")


def build_schema() -> Schema:
    """A fresh schema (the analyzer is pickled into the index)."""
    japanese = analyzer()
    return Schema(
        id=ID(unique=True),  # a post's marker document: its path (passages have no id)
        path=ID(stored=True, sortable=True),
        digest=COLUMN(),  # a passage's text identity (Passage.digest, ASCII): results keep one of each
        content_hash=STORED(),
        title=TEXT(analyzer=japanese, phrase=True),
        heading=TEXT(analyzer=japanese, phrase=True),
        tags=TEXT(analyzer=japanese, phrase=False),
        excerpt=TEXT(analyzer=japanese, phrase=False),
        body=TEXT(analyzer=japanese, phrase=True),
        tag=KEYWORD(lowercase=True, commas=True, scorable=False),
        category=KEYWORD(lowercase=True, commas=True, scorable=False),
        date=DATETIME(),
        post=STORED(),
        section=STORED(),
        text=STORED(),
        offsets=STORED(),  # the text's term offsets (_snippets.pack_offsets): highlights without Sudachi
        kind=STORED(),
        reading=KEYWORD(analyzer=RegexTokenizer(r"[^\n]+")),  # one "reading<TAB>term" a line, in marker documents
        shown=COLUMN(),  # the passage as a reader sees it, folded, UTF-8: the trigram re-ranking reads it
    )
