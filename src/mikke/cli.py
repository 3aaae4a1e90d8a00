"""The ``mikke`` command: a thin click wrapper over the library.

Exit codes: 0 success; 1 error (message on stderr); 2 bad usage;
3 ``index`` finished but skipped malformed files; 4 another index job holds the lock.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import click

from ._analysis import analyze
from ._config import Config, load_config
from ._errors import IndexBusyError, MikkeError
from ._indexing import DEFAULT_WAIT, IndexReport, index_exists, update_index
from ._render import result_to_dict
from ._search import DEFAULT_LIMIT, Searcher
from ._snippets import to_ansi

EXIT_SKIPPED = 3
EXIT_BUSY = 4


class MikkeGroup(click.Group):
    """Turns library errors into one-line messages instead of tracebacks."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except IndexBusyError as error:
            click.echo(f"Error: {error}", err=True)
            ctx.exit(EXIT_BUSY)
        except MikkeError as error:
            raise click.ClickException(str(error)) from None


def _dump(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


@contextmanager
def _progress(label: str, quiet: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on stderr (hidden when quiet or not on a terminal)."""
    if quiet or not sys.stderr.isatty():
        yield None
        return
    bar = None
    try:

        def advance(done: int, total: int) -> None:
            nonlocal bar
            if bar is None:
                bar = click.progressbar(length=total, label=label, file=sys.stderr)
                bar.__enter__()
            bar.update(done - bar.pos)

        yield advance
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)


def _run_index(config: Config, full: bool, wait: float, quiet: bool, bar: bool = True) -> IndexReport:
    with _progress("Indexing", quiet or not bar) as progress:
        report = update_index(config, full=full, wait=wait, progress=progress)
    if report.rebuilt and not quiet:
        click.echo(f"Full rebuild: {report.rebuilt}.", err=True)
    for skipped in report.skipped:
        click.echo(f"skipped {skipped['path']}: {skipped['reason']}", err=True)
    return report


def _ensure_index(config: Config, quiet: bool) -> None:
    """Build the index when there is none yet (a job started meanwhile is waited for, not repeated)."""
    if not index_exists(config.index):
        click.echo(f"No index at {config.index}: building it from {config.corpus}.", err=True)
        _run_index(config, full=False, wait=DEFAULT_WAIT, quiet=quiet)


@click.group(cls=MikkeGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--corpus", type=click.Path(path_type=Path), help="Corpus directory [default: ./corpus; env MIKKE_CORPUS]."
)
@click.option(
    "--index", "index_dir", type=click.Path(path_type=Path), help="Index directory [default: ./index; env MIKKE_INDEX]."
)
@click.option("--config", "config_file", type=click.Path(path_type=Path), help="Settings file [default: ./mikke.toml].")
@click.version_option(package_name="mikke")
@click.pass_context
def main(ctx: click.Context, corpus: Path | None, index_dir: Path | None, config_file: Path | None) -> None:
    """mikke (みっけ): Japanese full-text search for a Markdown blog.

    \b
    Example:
      mikke search 液体冷却
      mikke index --full
    """
    try:
        ctx.obj = load_config(config_file).with_options(corpus=corpus, index=index_dir)
    except MikkeError as error:
        raise click.ClickException(str(error)) from None


@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("query", nargs=-1, required=True)
@click.option("--tag", "tags", multiple=True, help="Only posts with this tag (repeat for any of several).")
@click.option("--category", "categories", multiple=True, help="Only posts in this category (repeatable).")
@click.option("--since", help="Only posts dated on or after YYYY-MM-DD.")
@click.option("--until", help="Only posts dated on or before YYYY-MM-DD.")
@click.option("--limit", default=DEFAULT_LIMIT, show_default=True, help="Hits per page (1-100).")
@click.option("--offset", default=0, show_default=True, help="Hits to skip (for paging).")
@click.option("--per-post", is_flag=True, help="Keep only the best passage of each post.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (Japanese unescaped).")
@click.option("--explain", is_flag=True, help="Show how the query was understood.")
@click.option("--prefix", is_flag=True, help="The last word may be unfinished: also match the words it begins.")
@click.pass_obj
def search(
    config: Config,
    query: tuple[str, ...],
    tags: tuple[str, ...],
    categories: tuple[str, ...],
    since: str | None,
    until: str | None,
    limit: int,
    offset: int,
    per_post: bool,
    as_json: bool,
    explain: bool,
    prefix: bool,
) -> None:
    """Search the corpus and print ranked passages.

    Words are matched in any form (サーバ = サーバー, ＧＰＵ = gpu); use
    "quoted phrases", -excluded words and OR. The index is built first if missing.

    \b
    Example:
      mikke search 液体冷却
      mikke search '"データセンター" -冷却' --per-post --json
      mikke search GPU --tag AI --since 2025-01-01 --limit 5
      mikke search データセ --prefix --explain
    """
    unknown = [word for word in query if word.startswith("--")]
    if unknown:  # single-dash words are exclusions (-冷却); double-dash ones are mistyped options
        raise click.UsageError(f"no such option: {unknown[0]}")
    _ensure_index(config, quiet=as_json)
    searcher = Searcher(config)
    try:
        result = searcher.search(
            " ".join(query),
            limit=limit,
            offset=offset,
            tags=tags,
            categories=categories,
            since=since,
            until=until,
            per_post=per_post,
            prefix=prefix,
        )
    finally:
        searcher.close()
    if as_json:
        data = result_to_dict(result)
        if explain:
            data["explain"] = result.explain
        _dump(data)
        return
    if explain:
        click.echo(f"query: {result.explain['query']}")
        for expansion in result.expansions:
            click.echo(f"  {expansion['word']} ({expansion['kind']}): {', '.join(expansion['terms'])}")
    if result.suggestion:
        click.echo(f"Showing results for {result.suggestion!r} (no match for {result.query!r}).")
    if not result.hits:
        click.echo(f"No results for {result.query!r}.")
        return
    color = sys.stdout.isatty()
    for hit in result.hits:
        where = f"{hit.title} › {hit.heading}" if hit.heading and hit.heading != hit.title else hit.title
        click.echo(
            click.style(f"{hit.rank}. {where}", bold=True) + (f"  ({hit.date})" if hit.date else ""), color=color
        )
        click.echo(f"   {unquote(hit.section_url)}")
        click.echo(f"   {to_ansi(hit.snippet) if color else hit.snippet.text}\n", color=color)
    shown = f"{result.hits[0].rank}-{result.hits[-1].rank}"
    click.echo(f"{shown} of {result.total} results ({result.took_ms:.1f} ms)")


@main.command()
@click.option("--full", is_flag=True, help="Rebuild from scratch instead of updating.")
@click.option(
    "--wait", default=DEFAULT_WAIT, show_default=True, help="Seconds to wait for a running job (0: exit 4 at once)."
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or messages (skipped files are still listed).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_obj
def index(config: Config, full: bool, wait: float, quiet: bool, as_json: bool) -> None:
    """Build or update the index from the corpus (only changed posts are re-analysed).

    Searches keep working during the job and see the update once it commits.
    Exit codes: 0 done, 3 done but some posts were skipped, 4 another job holds the lock.

    \b
    Example:
      mikke index
      mikke --corpus ~/blog --index ~/blog/.mikke index --full --quiet
      mikke index --json --wait 0
    """
    report = _run_index(config, full=full, wait=wait, quiet=quiet, bar=not as_json)
    if as_json:
        _dump(report.to_dict())
    elif not quiet:
        click.echo(
            f"{report.added} added, {report.updated} updated, {report.deleted} deleted, "
            f"{report.unchanged} unchanged, {len(report.skipped)} skipped; "
            f"{report.passages} passages in {report.seconds:.2f}s"
        )
    if report.skipped:
        sys.exit(EXIT_SKIPPED)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@click.option(
    "--allow-origin",
    "origins",
    multiple=True,
    help="Origin whose pages may call the API, e.g. https://blog.example.jp (repeatable; * allows any).",
)
@click.option("--access-log/--no-access-log", default=True, show_default=True, help="Log every request.")
@click.pass_obj
def serve(config: Config, host: str, port: int, origins: tuple[str, ...], access_log: bool) -> None:
    """Serve the HTTP search API and the search box (GET /api/search, /api/facets, /widget.js).

    The index is built first if missing; a later `mikke index` is picked up
    without a restart.

    \b
    Example:
      mikke serve --allow-origin https://blog.example.jp
      mikke --index /srv/blog/index serve --port 8080 --no-access-log
    """
    import uvicorn

    from .web import create_app

    _ensure_index(config, quiet=False)
    app = create_app(config, origins)
    uvicorn.run(app, host=host, port=port, access_log=access_log, log_level="info")


@main.command("analyze")
@click.argument("text", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print the tokens as JSON.")
def analyze_command(text: tuple[str, ...], as_json: bool) -> None:
    """Show how text is analysed: surface, indexed term, part of speech, offsets.

    Parts of compounds are marked with +.

    \b
    Example:
      mikke analyze データセンターのサーバ
    """
    source = " ".join(text)
    tokens = analyze(source)
    if as_json:
        _dump(
            [
                {"surface": t.surface, "term": t.text, "pos": t.pos_tag, "start": t.start, "end": t.end, "part": t.part}
                for t in tokens
            ]
        )
        return
    for t in tokens:
        click.echo(f"{'+' if t.part else ' '} {t.surface}\t{t.text}\t{t.pos_tag}\t{t.start}-{t.end}")
