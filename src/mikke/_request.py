"""The search parameters, declared once: a frozen :class:`SearchRequest` and its validation.

Each field says how it is given as text: its HTTP query parameter (``api``), its
``mikke search`` option (``cli``) and its help. The library takes the request
(``Searcher.search(request)``); the CLI makes its options from these fields and
the API its query parameters, and both turn the strings they receive into a
request with :meth:`SearchRequest.parse`. So the bounds and their messages are
the same everywhere, and a new parameter is one field here plus its use in the
search.

>>> request = SearchRequest.parse({"query": "GPU", "limit": "5", "tags": ["AI"]})
>>> request.limit, request.tags, request.group
(5, ('AI',), 'passage')
>>> SearchRequest.parse({"query": "GPU", "offset": "5000"})
Traceback (most recent call last):
mikke._errors.QueryError: offset must be a whole number from 0 to 1000, not '5000'
>>> SearchRequest("GPU", offset=5000)
Traceback (most recent call last):
mikke._errors.QueryError: offset must be a whole number from 0 to 1000, not '5000'
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import field
from typing import Any

from ._errors import QueryError
from ._query import ParsedQuery, parse_query

#: Hits per page, and the largest page a caller may ask for.
DEFAULT_LIMIT = 10
MAX_LIMIT = 100
#: Deepest page a caller may ask for (``offset`` cap).
MAX_OFFSET = 1000
#: Most ``tag`` (or ``category``) values in one request, and the longest value.
MAX_FILTER_VALUES = 20
MAX_FILTER_CHARS = 100
#: How hits are listed: one per passage, or one per post with its best sections.
GROUPS = ("passage", "post")

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_WHOLE = re.compile(r"\d{1,6}")
_TRUE, _FALSE = {"", "1", "true", "yes", "on"}, {"0", "false", "no", "off"}

#: What a field is given as, in text: a value, a flag, a repeatable value.
Raw = str | bool | Sequence[str] | None


def _param(kind: str, api: str, help: str, cli: str = "", **bounds: int) -> dict[str, Any]:
    """A field's metadata: its ``kind`` (text, whole, flag, list, date, choice), its API parameter,
    its CLI option (``--`` and the API's name, ``-`` for ``_``, unless given), its help, its bounds."""
    return {"kind": kind, "api": api, "cli": cli or "--" + api.replace("_", "-"), "help": help, **bounds}


@dataclasses.dataclass(frozen=True)
class SearchRequest:
    """One search: the query and every option, checked on creation (raises ``QueryError``).

    ``since``/``until`` may be given as ``YYYY-MM-DD`` text and ``tags``/``categories`` as any
    sequence; the request holds them as dates and tuples.
    """

    query: str = field(default="", metadata=_param("text", "q", "The query.", cli="QUERY"))
    limit: int = field(
        default=DEFAULT_LIMIT, metadata=_param("whole", "limit", "Hits per page.", low=1, high=MAX_LIMIT)
    )
    offset: int = field(
        default=0, metadata=_param("whole", "offset", "Hits to skip, for paging.", low=0, high=MAX_OFFSET)
    )
    tags: tuple[str, ...] = field(
        default=(), metadata=_param("list", "tag", "Only posts with this tag (repeat for any of several).")
    )
    categories: tuple[str, ...] = field(
        default=(), metadata=_param("list", "category", "Only posts in this category (repeatable).")
    )
    since: dt.date | None = field(
        default=None, metadata=_param("date", "since", "Only posts dated on or after YYYY-MM-DD.")
    )
    until: dt.date | None = field(
        default=None, metadata=_param("date", "until", "Only posts dated on or before YYYY-MM-DD.")
    )
    group: str = field(
        default="passage", metadata=_param("choice", "group", "List passages, or posts with their best sections.")
    )
    per_post: bool = field(
        default=False, metadata=_param("flag", "per_post", "Keep only the best passage of each post.")
    )
    prefix: bool = field(
        default=False, metadata=_param("flag", "prefix", "Let the last word match the start of longer words.")
    )
    explain: bool = field(
        default=False, metadata=_param("flag", "explain", "Show how the query was understood and each score's parts.")
    )

    def __post_init__(self) -> None:
        for attribute, kind, name, low, high in _CHECKS:
            value = getattr(self, attribute)
            if kind == "whole" and (type(value) is not int or not low <= value <= high):
                raise QueryError(f"{name} must be a whole number from {low} to {high}, not {_shown(value)}")
            if kind == "flag" and not isinstance(value, bool):
                raise QueryError(f"{name} must be true or false, not {_shown(value)}")
            if kind == "choice" and value not in GROUPS:
                raise QueryError(f"{name} must be one of {', '.join(GROUPS)}, not {_shown(value)}")
            if kind == "list" and value != ():  # () is the default, as checked
                object.__setattr__(self, attribute, _values(name, value))
            if kind == "date" and value is not None:
                object.__setattr__(self, attribute, parse_date(value, name))
        if not isinstance(self.query, str):
            raise QueryError(f"q must be text, not {_shown(self.query)}")
        if self.since and self.until and self.since > self.until:
            raise QueryError(f"since {self.since} is after until {self.until}")

    @classmethod
    def parse(cls, values: Mapping[str, Raw]) -> SearchRequest:
        """A request from text, by field name, as the CLI and the API receive it (absent: None or left out).

        >>> SearchRequest.parse({"query": "GPU", "group": "post", "explain": "1", "since": "2025-01-01"}).since
        datetime.date(2025, 1, 1)
        >>> SearchRequest.parse({"query": "GPU", "limit": "ten"})
        Traceback (most recent call last):
        mikke._errors.QueryError: limit must be a whole number from 1 to 100, not 'ten'
        """
        known = {each.name: each for each in dataclasses.fields(cls)}
        typed: dict[str, Any] = {}
        for name, raw in values.items():
            if raw is None:
                continue
            meta = known[name].metadata
            if meta["kind"] == "whole" and isinstance(raw, str):
                whole = raw.strip()
                typed[name] = int(whole) if _WHOLE.fullmatch(whole) else raw
            elif meta["kind"] == "flag" and isinstance(raw, str):
                typed[name] = raw.strip().lower() in _TRUE if raw.strip().lower() in _TRUE | _FALSE else raw
            else:
                typed[name] = raw
        return cls(**typed)

    def parsed(self) -> ParsedQuery:
        """The query, parsed (raises ``QueryError`` when it holds nothing to search for)."""
        return parse_query(self.query, prefix=self.prefix)


def _shown(value: object) -> str:
    """A bad value in a message: as text, quoted, cut short, whatever its type.

    >>> _shown(5000), _shown("x" * 30)
    ("'5000'", "'xxxxxxxxxxxxxxxxxxxx'")
    """
    return repr(str(value)[:20])


def _values(name: str, values: object) -> tuple[str, ...]:
    """Filter values, stripped: at most :data:`MAX_FILTER_VALUES`, each 1 to :data:`MAX_FILTER_CHARS` characters."""
    if isinstance(values, str) or not isinstance(values, Sequence):
        values = (values,)
    if len(values) > MAX_FILTER_VALUES:
        raise QueryError(f"at most {MAX_FILTER_VALUES} {name} values")
    stripped = tuple(str(v).strip() for v in values)
    if any(not v or len(v) > MAX_FILTER_CHARS for v in stripped):
        raise QueryError(f"each {name} must be 1 to {MAX_FILTER_CHARS} characters")
    return stripped


def parse_date(value: object, name: str) -> dt.date | None:
    """``YYYY-MM-DD`` (or a date) -> date; raises ``QueryError`` for anything else.

    >>> parse_date("2025-09-26", "since")
    datetime.date(2025, 9, 26)
    >>> parse_date("20250926", "since")
    Traceback (most recent call last):
    mikke._errors.QueryError: since must be a date like 2025-09-26, not '20250926'
    """
    if value is None or value == "":
        return None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            if _ISO_DATE.fullmatch(value):
                return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise QueryError(f"{name} must be a date like 2025-09-26, not {_shown(value)}")


def fields() -> tuple[dataclasses.Field[Any], ...]:
    """The request's fields, each with its ``metadata``: ``kind``, ``api``, ``cli``, ``help`` (and bounds)."""
    return dataclasses.fields(SearchRequest)


#: What :meth:`SearchRequest.__post_init__` checks of each field: its name, kind, API name and bounds.
_CHECKS = tuple(
    (each.name, each.metadata["kind"], each.metadata["api"], each.metadata.get("low", 0), each.metadata.get("high", 0))
    for each in fields()
)

#: The HTTP API's query parameters.
API_PARAMS = frozenset(each.metadata["api"] for each in fields())
