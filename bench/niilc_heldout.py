"""A held-out NIILC set: the test split's questions whose evidence sentence is in niilc's corpus.

``../shared/data/relevance/niilc`` asks only the dev split's questions, but its corpus holds the
evidence sentences of both splits. The test split's questions (``../shared/data/questions/niilc``)
whose evidence is one of the corpus's documents were never tuned on: this writes them as a
relevance set (queries.jsonl, qrels.tsv, the corpus linked) to a directory outside the repository,
to be measured with ``bench/tune.py --data DIR --sets niilc-q --slice all``.

Example:
    python bench/niilc_heldout.py /tmp/niilc-heldout
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tune import DATA

QUESTIONS = DATA.parent / "questions" / "niilc" / "questions.jsonl"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="the directory to write (DIR/niilc/...)")
    args = parser.parse_args()
    corpus = DATA / "niilc" / "corpus.jsonl"
    evidence: dict[str, list[str]] = {}
    with corpus.open(encoding="utf-8") as lines:
        for line in lines:
            doc = json.loads(line)
            if not doc["id"].startswith(("jsquad-", "jaquad-")):
                evidence.setdefault(doc["text"], []).append(doc["id"])
    out = args.out / "niilc"
    out.mkdir(parents=True, exist_ok=True)
    count = 0
    with (
        QUESTIONS.open(encoding="utf-8") as lines,
        (out / "queries.jsonl").open("w", encoding="utf-8") as queries,
        (out / "qrels.tsv").open("w", encoding="utf-8") as qrels,
    ):
        for line in lines:
            question = json.loads(line)
            if question["split"] == "test" and question.get("evidence") in evidence:
                queries.write(json.dumps({"id": question["id"], "text": question["text"]}, ensure_ascii=False) + "\n")
                for doc_id in evidence[question["evidence"]]:
                    qrels.write(f"{question['id']}\t{doc_id}\t1\n")
                count += 1
    (out / "corpus.jsonl").unlink(missing_ok=True)
    (out / "corpus.jsonl").symlink_to(corpus.resolve())
    print(f"{count} questions of the test split -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
