"""Peer search systems that mikke is benchmarked against.

Every peer indexes documents ``{"id", "title", "text"}`` and answers a query
string with a ranked list of doc ids (best first).  ``PEERS`` maps a peer name
to a factory taking a scratch work directory; ``available_peers()`` lists the
peers whose system dependencies are present (``peer_status()`` gives the
reason for the others).
"""

from __future__ import annotations

import functools
import html
import importlib.util
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import threading
import unicodedata
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any, Protocol

import bm25s
import numpy as np
import sudachipy
from whoosh import index as whoosh_index
from whoosh.analysis import LowercaseFilter, Token, Tokenizer
from whoosh.fields import ID, TEXT, Schema
from whoosh.query import Or, Term


class Peer(Protocol):
    """A search system under comparison."""

    name: str

    def build(self, docs: list[dict[str, str]]) -> None: ...

    def search(self, query: str, k: int = 10) -> list[str]: ...

    def close(self) -> None: ...


# ---------------------------------------------------------------- Sudachi

# Top-level POS dropped for "content words": particles, auxiliaries, symbols, whitespace.
CONTENT_DROP = frozenset({"助詞", "助動詞", "補助記号", "空白"})
# Top-level POS dropped by the plain analyzer: only symbols and whitespace.
PLAIN_DROP = frozenset({"補助記号", "空白"})

_MAX_CHARS = 12_000  # Sudachi rejects inputs over 49,149 bytes; 12k chars * 4 bytes fits.


def _chunks(text: str) -> Iterator[tuple[int, str]]:
    """Split ``text`` into (offset, chunk) pieces short enough for Sudachi."""
    start = 0
    while len(text) - start > _MAX_CHARS:
        end = start + _MAX_CHARS
        cut = max(text.rfind("\n", start, end), text.rfind("。", start, end))
        end = cut + 1 if cut > start else end
        yield start, text[start:end]
        start = end
    yield start, text[start:]


class SudachiWords:
    """One shared Sudachi tokenizer (core dictionary, split mode C) with POS filtering."""

    def __init__(self) -> None:
        dictionary = sudachipy.Dictionary(dict="core")
        self._tok = dictionary.tokenizer(mode=sudachipy.SplitMode.C)
        self._pos0: dict[int, str] = {}

    def spans(
        self, text: str, drop: frozenset[str] = CONTENT_DROP, normalized: bool = False
    ) -> Iterator[tuple[str, int, int]]:
        """Yield (word, start, end) char spans of morphemes whose top POS is not in ``drop``."""
        for offset, chunk in _chunks(text):
            for m in self._tok.tokenize(chunk):
                pos_id = m.part_of_speech_id()
                pos0 = self._pos0.get(pos_id)
                if pos0 is None:
                    pos0 = self._pos0[pos_id] = m.part_of_speech()[0]
                if pos0 in drop:
                    continue
                word = m.normalized_form() if normalized else m.surface()
                if word.strip():
                    yield word, offset + m.begin(), offset + m.end()

    def morphemes(self, text: str) -> list[Any]:
        """Sudachi's morphemes of a short ``text`` (a query), all parts of speech."""
        return list(self._tok.tokenize(text))

    def words(self, text: str, drop: frozenset[str] = CONTENT_DROP, normalized: bool = False) -> list[str]:
        """Words of ``text`` (surface or normalized form) after POS filtering."""
        return [w for w, _, _ in self.spans(text, drop, normalized)]


@functools.cache
def sudachi() -> SudachiWords:
    """The process-wide Sudachi helper, created on first use."""
    return SudachiWords()


def _unique(words: list[str]) -> list[str]:
    """Deduplicate, keeping first-seen order."""
    return list(dict.fromkeys(words))


# ---------------------------------------------------------------- SQLite FTS5


class SqliteTrigramPeer:
    """SQLite FTS5 with the trigram tokenizer.

    Configuration: ``fts5(title, text, tokenize='trigram')`` (case-insensitive),
    documents and queries NFKC-normalized, ranked by ``bm25(t, 5.0, 1.0)``
    (title weighted 5x).  The query becomes an OR of its distinct character
    trigrams (taken per whitespace-separated chunk, each quoted as an FTS5
    string).  Queries with no trigram (every chunk < 3 chars) fall back to a
    ``LIKE '%chunk%'`` scan on the longest chunk, title hits first.
    """

    name = "sqlite-fts5-trigram"

    def __init__(self, workdir: Path) -> None:
        self.dir = workdir / self.name
        self.conn: sqlite3.Connection | None = None
        self.ids: list[str] = []

    def build(self, docs: list[dict[str, str]]) -> None:
        self.close()
        self.dir.mkdir(parents=True, exist_ok=True)
        path = self.dir / "fts.db"
        path.unlink(missing_ok=True)
        self.conn = sqlite3.connect(path)
        self.conn.execute("CREATE VIRTUAL TABLE t USING fts5(title, text, tokenize='trigram')")
        self.ids = [d["id"] for d in docs]
        nfkc = functools.partial(unicodedata.normalize, "NFKC")
        rows = ((i + 1, nfkc(d["title"]), nfkc(d["text"])) for i, d in enumerate(docs))
        with self.conn:
            self.conn.executemany("INSERT INTO t(rowid, title, text) VALUES (?, ?, ?)", rows)

    def search(self, query: str, k: int = 10) -> list[str]:
        assert self.conn is not None, "build() first"
        chunks = unicodedata.normalize("NFKC", query).split()
        grams = _unique([c[i : i + 3] for c in chunks for i in range(len(c) - 2)])
        if grams:
            match = " OR ".join('"' + g.replace('"', '""') + '"' for g in grams)
            sql = "SELECT rowid FROM t WHERE t MATCH ? ORDER BY bm25(t, 5.0, 1.0) LIMIT ?"
            cur = self.conn.execute(sql, (match, k))
        elif chunks:
            esc = max(chunks, key=len).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            sql = (
                "SELECT rowid FROM t WHERE title LIKE ?1 ESCAPE '\\' OR text LIKE ?1 ESCAPE '\\' "
                "ORDER BY (title LIKE ?1 ESCAPE '\\') DESC, rowid LIMIT ?2"
            )
            cur = self.conn.execute(sql, (f"%{esc}%", k))
        else:
            return []
        return [self.ids[rowid - 1] for (rowid,) in cur]

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


# ---------------------------------------------------------------- Groonga

NFKC_NORMALIZERS = (
    "NormalizerNFKC150",
    "NormalizerNFKC130",
    "NormalizerNFKC121",
    "NormalizerNFKC100",
)


def _command_quote(value: str) -> str:
    """Quote a value as one argument of a Groonga command line."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _query_phrase(word: str) -> str:
    """Quote a word as a phrase in Groonga query syntax (neutralizes OR, -, :, ( ) etc.)."""
    word = " ".join(word.split())  # a newline would end the command line
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


class GroongaProcess:
    """A long-lived ``groonga`` standalone process; one command line in, one JSON line out."""

    def __init__(self, db: Path, create: bool) -> None:
        args = ["groonga", "--log-path", str(db.parent / "groonga.log")]
        args += ["-n", str(db)] if create else [str(db)]
        self._stderr: IO[bytes] = open(db.parent / "groonga.stderr", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            args,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            encoding="utf-8",
        )

    def call(self, command: str) -> Any:
        """Run one command (a ``load`` may carry its JSON on a following line); return its body."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"groonga exited (rc={self.proc.poll()}) on: {command[:200]}")
        response = json.loads(line)
        header = response[0]
        if header[0] != 0:
            raise RuntimeError(f"groonga error {header[0]}: {header[3]} on: {command[:200]}")
        return response[1] if len(response) > 1 else None

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._stderr.close()


class GroongaPeer:
    """Groonga 13 (Debian ``groonga-bin`` + ``groonga-tokenizer-mecab``) driven through one process.

    Configuration: table ``Docs`` (TABLE_HASH_KEY, ``title``/``text`` Text
    columns) loaded with a single ``load`` batch; lexicon ``Terms``
    (TABLE_PAT_KEY) with ``TokenMecab`` or ``TokenBigram`` and the newest
    ``NormalizerNFKC*`` available, index column WITH_POSITION|WITH_SECTION over
    title and text (built after loading).  Search: ``--match_columns
    'scorer_tf_idf(title) * 5 || scorer_tf_idf(text)'``, the query an OR of the
    query's Sudachi content words (surface forms, split mode C, particles /
    auxiliaries / symbols / whitespace dropped), each quoted as a phrase;
    sorted by ``-_score,_id``; the select cache is disabled (``--cache no``)
    so repeated timing runs are not served from Groonga's result cache.
    The same ``groonga`` process builds and then serves all queries.
    """

    def __init__(self, workdir: Path, name: str, tokenizer: str) -> None:
        self.name = name
        self.tokenizer = tokenizer
        self.dir = workdir / name
        self.normalizer = ""
        self.groonga: GroongaProcess | None = None
        self._match_columns = _command_quote("scorer_tf_idf(title) * 5 || scorer_tf_idf(text)")

    def build(self, docs: list[dict[str, str]]) -> None:
        self.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True)
        g = self.groonga = GroongaProcess(self.dir / "db", create=True)
        self.normalizer = next((n for n in NFKC_NORMALIZERS if g.call(f"object_exist {n}")), "NormalizerAuto")
        g.call("table_create Docs TABLE_HASH_KEY ShortText")
        g.call("column_create Docs title COLUMN_SCALAR Text")
        g.call("column_create Docs text COLUMN_SCALAR Text")
        values = [{"_key": d["id"], "title": d["title"], "text": d["text"]} for d in docs]
        g.call("load --table Docs\n" + json.dumps(values, ensure_ascii=False))
        g.call(
            "table_create Terms TABLE_PAT_KEY ShortText "
            f"--default_tokenizer {self.tokenizer} --normalizer {self.normalizer}"
        )
        g.call("column_create Terms doc_index COLUMN_INDEX|WITH_POSITION|WITH_SECTION Docs title,text")

    def search(self, query: str, k: int = 10) -> list[str]:
        assert self.groonga is not None, "build() first"
        words = _unique(sudachi().words(query))
        if not words:
            return []
        q = " OR ".join(_query_phrase(w) for w in words)
        body = self.groonga.call(
            f"select --table Docs --match_columns {self._match_columns}"
            f" --query {_command_quote(q)} --output_columns _key"
            f" --sort_keys -_score,_id --limit {int(k)} --cache no"
        )
        return [row[0] for row in body[0][2:]]

    def close(self) -> None:
        if self.groonga is not None:
            self.groonga.close()
            self.groonga = None


# ---------------------------------------------------------------- bm25s


class Bm25sSudachiPeer:
    """bm25s (method "lucene", k1=1.5, b=0.75) over Sudachi content words.

    Configuration: normalized forms, split mode C, particles / auxiliaries /
    symbols / whitespace dropped, for documents and queries alike.  Each
    document is its title prepended once to its body (no extra title weight).
    Scores come from ``get_scores`` + numpy top-k; zero-score docs are dropped.
    """

    name = "bm25s-sudachi"

    def __init__(self, workdir: Path) -> None:
        self.retriever: bm25s.BM25 | None = None
        self.ids: list[str] = []

    def _tokens(self, text: str) -> list[str]:
        return sudachi().words(text, normalized=True)

    def build(self, docs: list[dict[str, str]]) -> None:
        self.ids = [d["id"] for d in docs]
        corpus = [self._tokens(d["title"] + "\n" + d["text"]) for d in docs]
        self.retriever = bm25s.BM25()
        self.retriever.index(corpus, show_progress=False)

    def search(self, query: str, k: int = 10) -> list[str]:
        assert self.retriever is not None, "build() first"
        tokens = [t for t in _unique(self._tokens(query)) if t in self.retriever.vocab_dict]
        if not tokens or not self.ids:
            return []
        scores = self.retriever.get_scores(tokens)
        n = min(k, len(scores))
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.lexsort((top, -scores[top]))]
        return [self.ids[i] for i in top if scores[i] > 0]

    def close(self) -> None:
        self.retriever = None


# ---------------------------------------------------------------- Whoosh


class SudachiWhooshTokenizer(Tokenizer):  # type: ignore[misc]
    """Whoosh tokenizer yielding Sudachi surface forms (mode C), dropping only symbols/whitespace.

    The Sudachi helper is looked up lazily and kept out of pickled state
    (whoosh pickles the schema, analyzer included, into the index).
    """

    def __init__(self) -> None:
        self._words: SudachiWords | None = None

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_words"] = None
        return state

    def __call__(
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs: Any,
    ) -> Iterator[Token]:
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            spans: Iterator[tuple[str, int, int]] = iter([(value, 0, len(value))])
        else:
            if self._words is None:
                self._words = sudachi()
            spans = self._words.spans(value, PLAIN_DROP)
        for i, (word, start, end) in enumerate(spans):
            t.text = word
            t.boost = 1.0
            t.stopped = False
            if keeporiginal:
                t.original = word
            if positions:
                t.pos = start_pos + i
            if chars:
                t.startchar = start_char + start
                t.endchar = start_char + end
            yield t


class WhooshPlainPeer:
    """Whoosh (whoosh-reloaded) as a straightforward build of this design.

    Configuration: one TEXT field holding title + "\\n" + text, analyzed by
    Sudachi surface forms (mode C) + lowercasing, no other normalization and
    no POS filtering beyond symbols/whitespace; default BM25F scoring, no
    boosts.  The query is the OR of its analyzed words (what QueryParser with
    OrGroup yields).  One searcher is kept open across queries.
    """

    name = "whoosh-plain"

    def __init__(self, workdir: Path) -> None:
        self.dir = workdir / self.name
        self.analyzer = SudachiWhooshTokenizer() | LowercaseFilter()
        self.ix: Any = None
        self.searcher: Any = None

    def build(self, docs: list[dict[str, str]]) -> None:
        self.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True)
        schema = Schema(id=ID(stored=True), body=TEXT(analyzer=self.analyzer))
        self.ix = whoosh_index.create_in(str(self.dir), schema)
        writer = self.ix.writer(limitmb=256)
        for d in docs:
            writer.add_document(id=d["id"], body=d["title"] + "\n" + d["text"])
        writer.commit()
        self.searcher = self.ix.searcher()

    def search(self, query: str, k: int = 10) -> list[str]:
        assert self.searcher is not None, "build() first"
        words = _unique([t.text for t in self.analyzer(query)])
        if not words:
            return []
        hits = self.searcher.search(Or([Term("body", w) for w in words]), limit=k)
        return [hit["id"] for hit in hits]

    def close(self) -> None:
        if self.searcher is not None:
            self.searcher.close()
            self.searcher = None
        if self.ix is not None:
            self.ix.close()
            self.ix = None


# ---------------------------------------------------------------- Lucene (Kuromoji)

ANSERINI_JAR = "anserini-*-fatjar.jar"
_PYSERINI_HINT = "pip install --no-deps pyserini==0.25.0 pyjnius, and Java 11+ (openjdk-17-jre-headless)"


def anserini_jar() -> Path | None:
    """The Anserini fat jar that pyserini bundles (it holds Lucene with Kuromoji), if installed.

    Only the jar is used: pyserini itself is never imported (installed without its dependencies).
    """
    spec = importlib.util.find_spec("pyserini")
    if spec is None or spec.origin is None:
        return None
    return next(iter(sorted((Path(spec.origin).parent / "resources" / "jars").glob(ANSERINI_JAR))), None)


@functools.cache
def lucene() -> Any:
    """Lucene's classes through pyjnius; the JVM starts on first use, with the jar on its class path."""
    jar = anserini_jar()
    if jar is None:
        raise RuntimeError(f"Anserini jar not found ({_PYSERINI_HINT})")
    os.environ["CLASSPATH"] = str(jar)  # read when jnius starts the JVM, on its first import
    from jnius import autoclass

    names = {
        "JapaneseAnalyzer": "org.apache.lucene.analysis.ja.JapaneseAnalyzer",
        "CharTermAttribute": "org.apache.lucene.analysis.tokenattributes.CharTermAttribute",
        "BM25Similarity": "org.apache.lucene.search.similarities.BM25Similarity",
        "ByteBuffersDirectory": "org.apache.lucene.store.ByteBuffersDirectory",
        "IndexWriter": "org.apache.lucene.index.IndexWriter",
        "IndexWriterConfig": "org.apache.lucene.index.IndexWriterConfig",
        "DirectoryReader": "org.apache.lucene.index.DirectoryReader",
        "IndexSearcher": "org.apache.lucene.search.IndexSearcher",
        "Document": "org.apache.lucene.document.Document",
        "TextField": "org.apache.lucene.document.TextField",
        "StoredField": "org.apache.lucene.document.StoredField",
        "FieldStore": "org.apache.lucene.document.Field$Store",
        "Term": "org.apache.lucene.index.Term",
        "TermQuery": "org.apache.lucene.search.TermQuery",
        "BooleanQueryBuilder": "org.apache.lucene.search.BooleanQuery$Builder",
        "Occur": "org.apache.lucene.search.BooleanClause$Occur",
        "Version": "org.apache.lucene.util.Version",
    }
    return type("Lucene", (), {name: autoclass(cls) for name, cls in names.items()})


class LuceneKuromojiPeer:
    """Lucene 9.9 (the Anserini jar bundled by pyserini 0.25) through pyjnius: Elasticsearch's stock Japanese.

    Configuration: ``JapaneseAnalyzer()`` as Elasticsearch's ``kuromoji`` analyzer has it
    (Kuromoji search mode, base forms, part-of-speech stop filter, width folding, stop words, katakana
    stemming, lowercasing), ``BM25Similarity(1.2, 0.75)`` at index and search time, one
    ``body`` field holding title + "\\n" + text (no title boost), in a ``ByteBuffersDirectory``.
    The query is the OR (``BooleanQuery`` SHOULD clauses) of a ``TermQuery`` per term the same
    analyzer makes of it, repeated terms included, as a ``match`` query sends it.
    """

    name = "lucene-kuromoji"
    FIELD = "body"

    def __init__(self, workdir: Path) -> None:
        self.lucene = lucene()
        self.analyzer = self.lucene.JapaneseAnalyzer()
        self.directory: Any = None
        self.reader: Any = None
        self.searcher: Any = None

    def terms(self, text: str) -> list[str]:
        """The terms the analyzer makes of ``text``."""
        stream = self.analyzer.tokenStream(self.FIELD, text)
        term = stream.addAttribute(self.lucene.CharTermAttribute)
        stream.reset()
        out = []
        while stream.incrementToken():
            out.append(term.toString())
        stream.end()
        stream.close()
        return out

    def build(self, docs: list[dict[str, str]]) -> None:
        self.close()
        L = self.lucene
        self.directory = L.ByteBuffersDirectory()
        config = L.IndexWriterConfig(self.analyzer).setSimilarity(L.BM25Similarity(1.2, 0.75))
        writer = L.IndexWriter(self.directory, config)
        for d in docs:
            doc = L.Document()
            doc.add(L.StoredField("id", d["id"]))
            doc.add(L.TextField(self.FIELD, d["title"] + "\n" + d["text"], L.FieldStore.NO))
            writer.addDocument(doc)
        writer.close()
        self.reader = L.DirectoryReader.open(self.directory)
        # pyjnius would pick the IndexReaderContext overload: name the constructor's signature.
        self.searcher = L.IndexSearcher(self.reader, signature="(Lorg/apache/lucene/index/IndexReader;)V")
        self.searcher.setSimilarity(L.BM25Similarity(1.2, 0.75))

    def search(self, query: str, k: int = 10) -> list[str]:
        assert self.searcher is not None, "build() first"
        L = self.lucene
        terms = self.terms(query)
        if not terms:
            return []
        builder = L.BooleanQueryBuilder()
        for t in terms:
            builder.add(L.TermQuery(L.Term(self.FIELD, t)), L.Occur.SHOULD)
        hits = self.searcher.search(builder.build(), k).scoreDocs
        stored = self.searcher.storedFields()
        return [stored.document(hit.doc).get("id") for hit in hits]

    def close(self) -> None:
        if self.reader is not None:
            self.reader.close()
            self.reader = None
        self.searcher = None
        if self.directory is not None:
            self.directory.close()
            self.directory = None


# ---------------------------------------------------------------- Pagefind

REPO = Path(__file__).resolve().parents[1]
PAGEFIND_VERSION = "1.6.0"
PAGEFIND_PREFIX = REPO / ".cache" / "pagefind"  # where .ci/run installs the npm package
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
_PAGEFIND_HINT = f"npm install --prefix .cache/pagefind pagefind@{PAGEFIND_VERSION}"

# Query from the page as a site's search box does: pagefind.js, then each top result's data().
_PAGEFIND_INIT = "async () => { window.pf = await import('/pagefind/pagefind.js'); await window.pf.init(); }"
_PAGEFIND_SEARCH = """async ([query, k]) => {
  const found = await window.pf.search(query);
  const top = await Promise.all(found.results.slice(0, k).map((r) => r.data()));
  return top.map((d) => d.url);
}"""


def pagefind_binary() -> Path | None:
    """The extended ``pagefind`` binary of npm's ``@pagefind/<platform>`` package, if installed."""
    found = sorted(PAGEFIND_PREFIX.glob("node_modules/@pagefind/*/bin/pagefind_extended"))
    return found[0] if found else None


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class PagefindPeer:
    """Pagefind 1.6 (npm ``pagefind``, its extended build for Japanese), searched in headless Chromium.

    Configuration: one HTML page per document (``<html lang="ja">``, ``<main data-pagefind-body>``
    holding the title as ``<h1>`` and the text as ``<p>``), indexed by ``pagefind_extended
    --site`` with its defaults; the site is served over HTTP on 127.0.0.1 and one Chromium page
    (Playwright, ``/usr/bin/chromium``) imports the site's own ``/pagefind/pagefind.js`` and, per
    query, calls ``pagefind.search(query)`` and ``data()`` on the top ``k`` results, as a static
    site's search box does. Result URLs map back to document ids.
    """

    name = "pagefind"

    def __init__(self, workdir: Path) -> None:
        self.site = workdir / self.name / "site"
        self.server: ThreadingHTTPServer | None = None
        self.playwright: Any = None
        self.browser: Any = None
        self.page: Any = None

    def build(self, docs: list[dict[str, str]]) -> None:
        self.close()
        binary = pagefind_binary()
        if binary is None:
            raise RuntimeError(f"pagefind not installed ({_PAGEFIND_HINT})")
        shutil.rmtree(self.site, ignore_errors=True)
        self.site.mkdir(parents=True)
        (self.site / "index.html").write_text(
            '<!doctype html><html lang="ja"><meta charset="utf-8"><title>search</title></html>'
        )
        for d in docs:
            title, text = html.escape(d["title"]), html.escape(d["text"])
            page = (
                f'<!doctype html><html lang="ja"><head><meta charset="utf-8"><title>{title}</title></head>'
                f"<body><main data-pagefind-body><h1>{title}</h1><p>{text}</p></main></body></html>\n"
            )
            (self.site / f"{d['id']}.html").write_text(page, encoding="utf-8")
        subprocess.run([str(binary), "--site", str(self.site), "--silent"], check=True)
        handler = functools.partial(_QuietHandler, directory=str(self.site))
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        from playwright.sync_api import sync_playwright

        self.playwright = sync_playwright().start()
        self.browser = self.playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        self.page = self.browser.new_page()
        self.page.goto(f"http://127.0.0.1:{self.server.server_address[1]}/index.html")
        self.page.evaluate(_PAGEFIND_INIT)

    def search(self, query: str, k: int = 10) -> list[str]:
        assert self.page is not None, "build() first"
        if not query.strip():
            return []
        urls: list[str] = self.page.evaluate(_PAGEFIND_SEARCH, [query, k])
        return [url.rsplit("/", 1)[-1].removesuffix(".html") for url in urls]

    def close(self) -> None:
        if self.browser is not None:
            self.browser.close()
            self.browser = self.page = None
        if self.playwright is not None:
            self.playwright.stop()
            self.playwright = None
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


# ---------------------------------------------------------------- registry

PEERS: dict[str, Callable[[Path], Peer]] = {
    SqliteTrigramPeer.name: SqliteTrigramPeer,
    "groonga-mecab": lambda workdir: GroongaPeer(workdir, "groonga-mecab", "TokenMecab"),
    "groonga-bigram": lambda workdir: GroongaPeer(workdir, "groonga-bigram", "TokenBigram"),
    Bm25sSudachiPeer.name: Bm25sSudachiPeer,
    WhooshPlainPeer.name: WhooshPlainPeer,
    LuceneKuromojiPeer.name: LuceneKuromojiPeer,
    PagefindPeer.name: PagefindPeer,
}

_GROONGA_HINT = "apt-get install groonga-bin groonga-tokenizer-mecab"


@functools.cache
def _groonga_has(objects: tuple[str, ...]) -> tuple[bool, ...]:
    """Probe a throwaway Groonga database for the named objects (tokenizers etc.)."""
    with tempfile.TemporaryDirectory() as tmp:
        g = GroongaProcess(Path(tmp) / "db", create=True)
        try:
            return tuple(bool(g.call(f"object_exist {o}")) for o in objects)
        finally:
            g.close()


def peer_status() -> dict[str, str | None]:
    """Peer name -> None if runnable here, else the reason it is skipped."""
    status: dict[str, str | None] = dict.fromkeys(PEERS)
    try:
        conn = sqlite3.connect(":memory:")
        conn.execute("CREATE VIRTUAL TABLE p USING fts5(x, tokenize='trigram')")
        conn.close()
    except sqlite3.Error as e:
        status[SqliteTrigramPeer.name] = f"sqlite {sqlite3.sqlite_version} lacks FTS5 trigram: {e}"
    if shutil.which("groonga") is None:
        reason = f"groonga binary not found ({_GROONGA_HINT})"
        status["groonga-mecab"] = status["groonga-bigram"] = reason
    else:
        has_mecab, has_bigram = _groonga_has(("TokenMecab", "TokenBigram"))
        if not has_mecab:
            status["groonga-mecab"] = f"Groonga has no TokenMecab ({_GROONGA_HINT})"
        if not has_bigram:
            status["groonga-bigram"] = "Groonga has no TokenBigram"
    if anserini_jar() is None or importlib.util.find_spec("jnius") is None:
        status[LuceneKuromojiPeer.name] = f"pyserini's Anserini jar or pyjnius not installed ({_PYSERINI_HINT})"
    elif shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        status[LuceneKuromojiPeer.name] = f"no Java runtime ({_PYSERINI_HINT})"
    if pagefind_binary() is None:
        status[PagefindPeer.name] = f"pagefind {PAGEFIND_VERSION} not installed ({_PAGEFIND_HINT})"
    elif not CHROMIUM.exists() or importlib.util.find_spec("playwright") is None:
        status[PagefindPeer.name] = f"pagefind is searched in Chromium: needs {CHROMIUM} and playwright"
    return status


def available_peers() -> list[str]:
    """Names of the peers whose system dependencies are present."""
    return [name for name, reason in peer_status().items() if reason is None]
