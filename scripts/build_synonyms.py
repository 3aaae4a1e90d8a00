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
  softball) and expands nothing; a group naming a company (分野 企業名) counts only for a word
  in no other (UN: 国際連合, not a consultancy of that name);
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
from dataclasses import dataclass
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


@dataclass
class Group:
    """One group's words (as the index writes them), in the source's order: its triggers, its words
    that are not triggers (展開制御 1), the words it expands to, and whether it names a company."""

    triggers: list[str]
    others: list[str]
    targets: list[str]
    company: bool


def group_words(rows: list[list[str]]) -> Group:
    """One group of the source's lines."""
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
    return Group(list(triggers), list(others), list(targets), any("企業名" in row[7] for row in rows))


def expansions(groups: list[Group]) -> dict[str, list[str]]:
    """Each word -> the words it expands to (not itself): those of the group it triggers in.

    A word that triggers in no group expands to the group it is in as a non-trigger (マガジン,
    雑誌's); a group naming a company counts only for a word in no other (ライオン, UN). A word
    with several such groups is ambiguous and left out.

    >>> expansions([Group(["雑誌"], ["マガジン"], ["雑誌", "マガジン"], False)])
    {'雑誌': ['マガジン'], 'マガジン': ['雑誌']}
    >>> lion, company = ["ライオン", "獅子"], ["ライオン", "lion"]
    >>> expansions([Group(["ライオン"], [], lion, False), Group(["ライオン"], [], company, True)])
    {'ライオン': ['獅子']}
    """
    best: dict[str, tuple[tuple[bool, bool], list[list[str]]]] = {}
    for group in groups:
        for word in dict.fromkeys((*group.triggers, *group.others)):
            rank = (word not in group.triggers, group.company)
            targets = [t for t in group.targets if t != word]
            if word not in best or rank < best[word][0]:
                best[word] = (rank, [targets])
            elif rank == best[word][0]:
                best[word][1].append(targets)
    return {word: found[0] for word, (_, found) in best.items() if len(found) == 1 and found[0]}


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
