"""Build ``src/mikke/data/synonyms.tsv.gz``, the compact Sudachi synonym dictionary mikke ships.

The source is Sudachi's ``synonyms.txt`` (Apache-2.0, WorksApplications/SudachiDict): one
headword a CSV line, ``group, 体言/用言, 展開制御, 語彙素番号, 語形種別, 略語, 表記揺れ, 分野,
見出し``. Each headword is analysed as mikke analyses text (so it is written as the index
writes it: サーバ -> サーバー, ＡＩ -> ai: its terms, space-separated). The output has one line
per word that expands: the word, then the words it expands to, tab-separated, honouring the
expansion-control flags:

* 展開制御 2 (never used): left out;
* 展開制御 1 (not a trigger): expanded to; it expands to its group only when it triggers in no
  group and is in no other group (マガジン -> 雑誌; not AI, in several groups): a reader who
  types it means its group's words;
* a misuse (語形種別 4), a misspelling (表記揺れ 3) or an offensive word (分野 不快): it
  expands to its group, but no word is expanded to it;
* a word that triggers in several groups is ambiguous (ソフト: software, soft serve,
  softball) and expands nothing;
* a headword whose analysis leaves some of its letters out is left out: what remains is
  another word (お日さま -> 日, おつり -> ツル).

Usage: python scripts/build_synonyms.py ../shared/data/sudachi-synonyms/synonyms.txt
"""

from __future__ import annotations

import argparse
import csv
import gzip
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from mikke._analysis import analyze  # noqa: E402

TARGET = ROOT / "src" / "mikke" / "data" / "synonyms.tsv.gz"


def index_words(headword: str) -> str:
    """A headword as the index writes it (its terms, space-separated), or "" when the analysis
    leaves some of its letters out: what remains is another word (お日さま -> 日, おつり -> ツル).

    >>> index_words("ＧＰＵサーバ"), index_words("United Nations"), index_words("お日さま")
    ('gpu サーバー', 'united nations', '')
    """
    tokens = [t for t in analyze(headword) if not t.part]
    covered = {n for t in tokens for n in range(t.start, t.end)}
    if any(letter.isalnum() and n not in covered for n, letter in enumerate(headword)):
        return ""
    return " ".join(t.text for t in tokens)


def group_words(rows: list[list[str]]) -> tuple[list[str], list[str], list[str]]:
    """One group's triggers, its words that are not triggers (展開制御 1) and its targets (words as
    the index writes them), in the source's order."""
    triggers: dict[str, None] = {}
    others: dict[str, None] = {}
    targets: dict[str, None] = {}
    for row in rows:
        control, form, variant, domain, headword = row[2], row[4], row[6], row[7], row[8]
        word = index_words(headword)
        if control == "2" or not word:
            continue
        (others if control == "1" else triggers)[word] = None
        if form != "4" and variant != "3" and domain != "(不快)":
            targets[word] = None
    return list(triggers), list(others), list(targets)


def expansions(groups: list[tuple[list[str], list[str], list[str]]]) -> dict[str, list[str]]:
    """Each word -> the words it expands to (not itself). A word that triggers in no group but is
    in one as a non-trigger (マガジン, 雑誌's) expands to that group too; words that trigger (or,
    triggering nowhere, are) in several groups are left out."""
    found: dict[str, list[str]] = {}
    seen: dict[str, int] = {}
    for triggers, _, targets in groups:
        for trigger in triggers:
            seen[trigger] = seen.get(trigger, 0) + 1
            found[trigger] = [t for t in targets if t != trigger]
    for _, others, targets in groups:
        for other in others:
            if other not in found or seen.get(other, 0) < 0:
                seen[other] = seen.get(other, 0) - 1
                found[other] = [t for t in targets if t != other]
    return {word: targets for word, targets in found.items() if seen[word] in (1, -1) and targets}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="Sudachi's synonyms.txt")
    args = parser.parse_args()
    groups: dict[str, list[list[str]]] = {}
    with open(args.source, encoding="utf-8", newline="") as file:
        for row in csv.reader(file):
            if len(row) >= 9:
                groups.setdefault(row[0], []).append(row)
    found = expansions([group_words(rows) for rows in groups.values()])
    lines = ["\t".join((word, *targets)) for word, targets in sorted(found.items())]
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    with gzip.GzipFile(TARGET, "wb", mtime=0) as out:  # the same bytes from the same source
        out.write(("\n".join(lines) + "\n").encode())
    shutil.copyfile(args.source.parent / "LICENSE-2.0.txt", TARGET.parent / "LICENSE-2.0.txt")
    print(f"{len(lines)} words -> {TARGET.relative_to(ROOT)} ({TARGET.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
