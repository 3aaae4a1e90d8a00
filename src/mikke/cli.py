"""The ``mikke`` command: a thin click wrapper over the library.

Exit codes: 0 success; 1 error (message on stderr; a damaged index for ``check``); 2 bad usage;
3 ``index`` finished but skipped malformed files, names that are not UTF-8 or
unreadable directories; 4 another index job holds the lock.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import click

from ._analysis import analyze
from ._config import Config, load_config
from ._errors import IndexBusyError, IndexCorruptError, MikkeError
from ._indexing import DEFAULT_WAIT, IndexReport, update_index
from ._models import Hit, Snippet
from ._render import result_to_dict
from ._request import GROUPS, SearchRequest, fields
from ._search import Searcher
from ._snippets import to_ansi
from ._store import META_FILE, check, index_exists

EXIT_SKIPPED = 3
EXIT_BUSY = 4


class MikkeGroup(click.Group):
    """Turns library errors into one-line messages instead of tracebacks, and a closed
    pipe (``mikke search … | head``) into a quiet exit 0."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            done = super().invoke(ctx)
            sys.stdout.flush()
            return done
        except BrokenPipeError:
            # The reader is gone: the rest of the output has nowhere to go (Python's documented
            # way: point stdout at devnull so the flush at exit does not fail again).
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(0)
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


def _run_index(
    config: Config, full: bool, wait: float, quiet: bool, bar: bool = True, allow_mass_delete: bool = False
) -> IndexReport:
    with _progress("Indexing", quiet or not bar) as progress:
        report = update_index(config, full=full, wait=wait, progress=progress, allow_mass_delete=allow_mass_delete)
    if report.rebuilt and not quiet:
        click.echo(f"Full rebuild: {report.rebuilt}.", err=True)
    if report.repaired and not quiet:
        click.echo(f"Repaired: {report.repaired}.", err=True)
    for skipped in report.skipped:
        click.echo(f"skipped {skipped['path']}: {skipped['reason']}", err=True)
    return report


def _ensure_index(config: Config, quiet: bool) -> None:
    """Build the index when there is none yet (a job started meanwhile is waited for, not repeated);
    one whose table of contents is gone is reported as damaged instead."""
    if not index_exists(config.index) and not (config.index / META_FILE).exists():
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


def request_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The ``search`` options, one per ``SearchRequest`` field but the query (the argument).

    Every value is taken as text and checked by ``SearchRequest.parse``, as the API's are:
    the same bounds and the same messages.
    """
    for field in reversed(fields()):
        meta = field.metadata
        if field.name == "query":
            continue
        help = meta["help"]
        if meta["kind"] == "flag":
            command = click.option(meta["cli"], field.name, is_flag=True, default=None, help=help)(command)
        elif meta["kind"] == "list":
            command = click.option(meta["cli"], field.name, multiple=True, help=help)(command)
        else:
            if meta["kind"] == "whole":
                help = f"{help.rstrip('.')} ({meta['low']}-{meta['high']}). [default: {field.default}]"
                metavar = "N"
            elif meta["kind"] == "choice":
                help += f" [default: {field.default}]"
                metavar = "[" + "|".join(GROUPS) + "]"
            else:
                metavar = "YYYY-MM-DD" if meta["kind"] == "date" else "TEXT"
            command = click.option(meta["cli"], field.name, metavar=metavar, help=help)(command)
    return command


@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("query", nargs=-1, required=True)
@request_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON (Japanese unescaped).")
@click.pass_obj
def search(config: Config, /, query: tuple[str, ...], as_json: bool, **options: Any) -> None:
    """Search the corpus and print ranked passages (or posts, with --group post).

    Words are matched in any form (サーバ = サーバー, ＧＰＵ = gpu); use
    "quoted phrases", -excluded words and OR. The index is built first if missing.
    --explain prints each hit's score as a tree of its parts.

    \b
    Example:
      mikke search 液体冷却
      mikke search '"データセンター" -冷却' --group post --json
      mikke search GPU --tag AI --since 2025-01-01 --limit 5 --explain
      mikke search データセ --prefix --explain
    """
    unknown = [word for word in query if word.startswith("--")]
    if unknown:  # single-dash words are exclusions (-冷却); double-dash ones are mistyped options
        raise click.UsageError(f"no such option: {unknown[0]}")
    request = SearchRequest.parse({"query": " ".join(query), **options})
    _ensure_index(config, quiet=as_json)
    searcher = Searcher(config)
    try:
        result = searcher.search(request)
    finally:
        searcher.close()
    if as_json:
        _dump(result_to_dict(result))
        return
    if request.explain:
        click.echo(f"query: {result.explain['query']}")
        for expansion in result.expansions:
            click.echo(f"  {expansion['word']} ({expansion['kind']}): {', '.join(expansion['terms'])}")
    if result.suggestion:
        click.echo(f"Did you mean {result.suggestion!r}? Its matches are included, below those of {result.query!r}.")
    if not result.hits:
        click.echo(f"No results for {result.query!r}.")
        return
    color = sys.stdout.isatty()
    if result.matched == "some":
        missing = "、".join(f"「{word}」" for word in result.missing_words)
        click.echo(f"No result holds every word ({missing} missing); results with some of them:\n")
    for hit in result.hits:
        _echo_hit(hit, color, grouped=result.group == "post")
    shown = f"{result.hits[0].rank}-{result.hits[-1].rank}"
    counted = "posts" if result.group == "post" else "results"
    click.echo(f"{shown} of {result.total} {counted} ({result.took_ms:.1f} ms)")


def _echo_hit(hit: Hit, color: bool, grouped: bool) -> None:
    """One hit as text: its title (and heading), its URL, its snippet; grouped, the post once and its sections."""

    def heading(section: Hit) -> str:
        return to_ansi(Snippet(section.heading, section.heading_highlights)) if color else section.heading

    def explain(section: Hit, indent: str) -> None:
        if section.explanation is not None:
            click.echo("\n".join(indent + line for line in section.explanation.lines()))

    date = f"  ({hit.date})" if hit.date else ""
    if grouped:
        click.echo(click.style(f"{hit.rank}. {hit.title}", bold=True) + date, color=color)
        click.echo(f"   {unquote(hit.url)}")
        for section in hit.sections:
            code = " [code]" if section.kind == "code" else ""
            click.echo(f"   › {heading(section) or '(top)'}{code}", color=color)
            click.echo(f"     {unquote(section.section_url)}")
            click.echo(f"     {to_ansi(section.snippet) if color else section.snippet.text}", color=color)
            explain(section, "       ")
        click.echo()
        return
    where = f"{hit.title} › {heading(hit)}" if hit.heading and hit.heading != hit.title else hit.title
    click.echo(click.style(f"{hit.rank}. ", bold=True) + click.style(where, bold=True) + date, color=color)
    click.echo(f"   {unquote(hit.section_url)}")
    click.echo(f"   {to_ansi(hit.snippet) if color else hit.snippet.text}", color=color)
    explain(hit, "   ")
    click.echo()


@main.command()
@click.option("--full", is_flag=True, help="Rebuild from scratch instead of updating.")
@click.option(
    "--wait", default=DEFAULT_WAIT, show_default=True, help="Seconds to wait for a running job (0: exit 4 at once)."
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or messages (skipped files are still listed).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--allow-mass-delete",
    is_flag=True,
    help="Delete the posts gone from the corpus even when they are more than half of the index.",
)
@click.pass_obj
def index(config: Config, full: bool, wait: float, quiet: bool, as_json: bool, allow_mass_delete: bool) -> None:
    """Build or update the index from the corpus (only changed posts are re-analysed).

    Searches keep working during the job and see the update once it commits.
    Posts under a directory that cannot be read stay in the index. A run that
    would delete more than half of the index (an empty or unmounted corpus)
    stops with exit 1 unless --allow-mass-delete is given.
    Exit codes: 0 done; 1 error (nothing changed); 3 done, but some files or
    directories were skipped (listed on stderr); 4 another job holds the lock.

    \b
    Example:
      mikke index
      mikke --corpus ~/blog --index ~/blog/.mikke index --full --quiet
      mikke index --json --wait 0
    """
    report = _run_index(config, full=full, wait=wait, quiet=quiet, bar=not as_json, allow_mass_delete=allow_mass_delete)
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
    without a restart. A request head over 64 KiB gets 414 or 431, a client
    gets 10 s to send one, and idle connections are closed after 5 s.

    \b
    Example:
      mikke serve --allow-origin https://blog.example.jp
      mikke --index /srv/blog/index serve --port 8080 --no-access-log
    """
    from ._server import serve as run_server
    from .web import create_app

    _ensure_index(config, quiet=False)
    app = create_app(config, origins)
    run_server(app, host=host, port=port, access_log=access_log)


@main.command("check")
@click.pass_obj
def check_command(config: Config) -> None:
    """Verify the index: every file's checksum, and that every segment decodes.

    Prints one line: clean (exit 0) or the damaged file (exit 1; `mikke index` repairs it).

    \b
    Example:
      mikke check
      mikke --index /srv/blog/index check
    """
    try:
        verdict = check(config.index)
    except IndexCorruptError as error:
        click.echo(f"corrupt: {error}")
        sys.exit(1)
    click.echo(verdict)


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
