"""One exception tree for everything a user can get wrong or run into.

MikkeError                  base: a one-line message meant for the user
├── ConfigError             bad mikke.toml, environment variable or option
├── CorpusError             the corpus directory is missing or unreadable
├── PostError               one post cannot be read or parsed (it is skipped)
│   └── PostUnreadableError   its file is there but cannot be read now (its indexed version is kept)
├── QueryError              empty, all-stopword, too long or malformed query
├── IndexMissingError       no index yet where one is expected
└── IndexBusyError          another reindex job holds the lock
"""

from __future__ import annotations


class MikkeError(Exception):
    """Base class: ``str(error)`` is a one-line message for the user."""


class ConfigError(MikkeError):
    """A configuration value is invalid."""


class CorpusError(MikkeError):
    """The corpus directory is missing or cannot be read."""


class PostError(MikkeError):
    """A single post is malformed; the indexer reports it and goes on."""


class PostUnreadableError(PostError):
    """A post's file is there but cannot be read now (permissions, I/O): the index keeps its last version."""


class QueryError(MikkeError):
    """The query cannot be searched (empty, only stopwords, too long, bad filter)."""


class IndexMissingError(MikkeError):
    """There is no index at the configured location."""


class IndexBusyError(MikkeError):
    """Another reindex job holds the index lock."""
