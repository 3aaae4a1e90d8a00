"""Build ``src/mikke/data/synonyms.tsv.gz``, the compact Sudachi synonym dictionary mikke ships.

The source is Sudachi's ``synonyms.txt`` (Apache-2.0, WorksApplications/SudachiDict): one
headword a CSV line, ``group, 体言/用言, 展開制御, 語彙素番号, 語形種別, 略語, 表記揺れ, 分野,
見出し``. Each headword is analysed as mikke analyses text (so it is written as the index
writes it: サーバ -> サーバー, ＡＩ -> ai: its terms, space-separated). The output has one line
per word that expands: the word, then the words it expands to, tab-separated, honouring the
expansion-control flags:

* 展開制御 2 (never used): left out;
* 展開制御 1 (not a trigger): expanded to, but it expands nothing (AI, in several groups);
* a misuse (語形種別 4), a misspelling (表記揺れ 3) or an offensive word (分野 不快): it
  expands to its group, but no word is expanded to it;
* a word that triggers in several groups is ambiguous (ソフト: software, soft serve,
  softball) and expands nothing.

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


def group_words(rows: list[list[str]]) -> tuple[list[str], list[str]]:
    """One group's triggers and targets (words as the index writes them), in the source's order."""
    triggers: dict[str, None] = {}
    targets: dict[str, None] = {}
    for row in rows:
        control, form, variant, domain, headword = row[2], row[4], row[6], row[7], row[8]
        word = " ".join(t.text for t in analyze(headword) if not t.part)
        if control == "2" or not word:
            continue
        if control != "1":
            triggers[word] = None
        if form != "4" and variant != "3" and domain != "(不快)":
            targets[word] = None
    return list(triggers), list(targets)


def expansions(groups: list[tuple[list[str], list[str]]]) -> dict[str, list[str]]:
    """Each word -> the words it expands to (not itself); words that trigger in several groups left out."""
    found: dict[str, list[str]] = {}
    ambiguous: set[str] = set()
    for triggers, targets in groups:
        for trigger in triggers:
            if trigger in found:
                ambiguous.add(trigger)
            found[trigger] = [t for t in targets if t != trigger]
    return {word: targets for word, targets in found.items() if word not in ambiguous and targets}


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
