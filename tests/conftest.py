"""Shared fixtures: the sample blog copied to a temp dir and indexed once per session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mikke import Config, Searcher, update_index

REPO = Path(__file__).resolve().parent.parent
SAMPLE_POSTS = REPO / "corpus" / "_posts"
FUTURE_POST = "_posts/2025-09-26-nscale-funding-ai-infrastructure-future.md"
IMPACT_POST = "_posts/2025-09-26-nscale-funding-ai-infrastructure-impact.md"


def copy_sample(target: Path) -> Path:
    """Copy the sample posts into ``target/_posts`` and return ``target``."""
    shutil.copytree(SAMPLE_POSTS, target / "_posts")
    return target


@pytest.fixture(scope="session")
def sample_config(tmp_path_factory: pytest.TempPathFactory) -> Config:
    """A config whose corpus is a copy of the sample blog and whose index is built."""
    root = tmp_path_factory.mktemp("sample")
    config = Config(corpus=copy_sample(root / "corpus"), index=root / "index")
    update_index(config)
    return config


@pytest.fixture(scope="session")
def searcher(sample_config: Config) -> Searcher:
    """One searcher over the sample index, shared by the read-only tests."""
    return Searcher(sample_config)


@pytest.fixture
def make_corpus(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Write ``{relative path: text}`` into a fresh corpus; returns a Config for it."""

    def make(files: dict[str, str | bytes]) -> Config:
        corpus = tmp_path / "corpus"
        for name, content in files.items():
            path = corpus / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
        corpus.mkdir(exist_ok=True)
        return Config(corpus=corpus, index=tmp_path / "index")

    return make
