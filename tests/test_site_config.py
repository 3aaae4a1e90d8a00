"""The blog's own ``_config.yml``: URLs and heading ids as Jekyll makes them, without Jekyll.

The expected ids are those Jekyll 4.3.1 with kramdown 2.4.0 and kramdown-parser-gfm 1.1.0
gave the headings of ``jekyll_site.FIXTURE_POSTS`` (``test_jekyll.py`` checks them on the
real build); these tests pin them where Jekyll is not installed.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml

from jekyll_site import FIXTURE_POSTS
from mikke import Config, ConfigError, load_config, update_index
from mikke._corpus import iter_post_paths, load_post
from mikke._markdown import parse_sections

HEADINGS = FIXTURE_POSTS["_posts/2025-10-01-heading-ids.md"].split("---\n", 2)[2]
GFM_IDS = [
    "概要", "概要-1", "概要-2", "gpuクラスタの設計-2025", "mikke-index-の使い方", "液体冷却の基礎",
    "空冷との比較", "太字と斜体と_下線_の見出し", "-ローンチ準備-", "質問なぜ補足引用", "", "-1",
    "custom-id", "hello-world", "2025-roadmap--q1--q2", "ａｉとｇｐｕの全角英字", "snake_case_name-の扱い",
    "att-と-rd-の-比較", "末尾の記号", "下線の見出し",
]  # fmt: skip
KRAMDOWN_IDS = [
    "section", "section-1", "section-2", "gpu-2025", "mikke-index-", "httpsexamplecomcooling", "ref",
    "section-3", "section-4", "section-5", "section-6", "section-7", "custom-id", "hello-world",
    "roadmap----q1--q2", "section-8", "snakecasename-", "atampt--rd--ltgt", "section-9", "section-10",
]  # fmt: skip


def _ids(config: Config) -> list[str]:
    return [s.anchor for s in parse_sections(HEADINGS, config.ids) if s.heading]


def test_gfm_ids_are_kramdown_parser_gfms() -> None:
    # Repeats, ASCII and Japanese, code, links (a reference link too), emphasis, emoji, full-width
    # marks, headings of symbols only (the first gets no id: its passages link by their text), {#id}.
    assert _ids(Config()) == GFM_IDS


def test_kramdown_ids_are_kramdowns_from_the_raw_heading() -> None:
    # kramdown's own parser builds ids from the raw Markdown: the reference link's label ("ref"),
    # the link's URL, entities as written.
    assert _ids(Config(anchor_scheme="kramdown")) == KRAMDOWN_IDS


def test_prefix_and_no_auto_ids() -> None:
    assert _ids(Config(auto_id_prefix="h-"))[:3] == ["h-概要", "h-概要-1", "h-概要-2"]
    assert _ids(Config(auto_id_prefix="h-"))[10] == "h-"  # a prefix alone is still an id
    assert set(_ids(Config(auto_ids=False))) == {"", "custom-id"}


def _site(tmp_path: Path, site: dict[str, Any], files: dict[str, str]) -> Config:
    corpus = tmp_path / "corpus"
    for name, text in {**files, "_config.yml": yaml.safe_dump(site, allow_unicode=True)}.items():
        (corpus / name).parent.mkdir(parents=True, exist_ok=True)
        (corpus / name).write_text(text, encoding="utf-8")
    return Config(corpus=corpus, index=tmp_path / "index")


POST = "---\ntitle: 記事\ncategories: [技術 ]\n---\n\n## 概要\n\n本文です。\n"


def test_config_yml_gives_urls_ids_and_which_files_are_pages(tmp_path: Path) -> None:
    site = {
        "baseurl": "/blog/",
        "permalink": "/:categories/:title/",
        "kramdown": {"input": "kramdown", "auto_id_prefix": "h-"},
        "defaults": [{"scope": {"path": "_posts/notes"}, "values": {"permalink": "/notes/:title/"}}],
        "exclude": ["drafts/"],
    }
    files = {
        "_posts/2025-01-02-hello world.md": POST,
        "_posts/notes/2025-01-03-note.md": POST,
        "drafts/x.md": POST,
        "_includes/part.md": POST,
        "blog/_posts/2025-01-04-deep.md": POST,
        "README.md": "# 説明\n\nJekyll はこのファイルをそのまま写す。\n",
        "_posts/2025-01-05-bare.md": "## 概要\n\n前付けのない記事も記事。\n",
    }
    config = _site(tmp_path, site, files).with_site()
    assert list(iter_post_paths(config)) == [
        "README.md",
        "_posts/2025-01-02-hello world.md",
        "_posts/2025-01-05-bare.md",
        "_posts/notes/2025-01-03-note.md",
        "blog/_posts/2025-01-04-deep.md",
    ]
    posts = [load_post(path, config) for path in iter_post_paths(config)]
    assert [p.url for p in posts if p.sections] == [  # README.md has no front matter: not a page
        "/blog/%E6%8A%80%E8%A1%93/hello-world/",
        "/blog/bare/",
        "/blog/notes/note/",
        "/blog/blog/%E6%8A%80%E8%A1%93/deep/",  # the folder above _posts is a category
    ]
    assert posts[1].sections[0].anchor == "h-section"


def test_mikke_toml_overrides_config_yml(tmp_path: Path) -> None:
    config = _site(tmp_path, {"baseurl": "/blog", "kramdown": {"input": "kramdown"}}, {"_posts/2025-01-02-a.md": POST})
    toml = tmp_path / "mikke.toml"
    toml.write_text('[mikke]\nanchor_scheme = "gfm"\nbase_url = "https://example.jp"\n', encoding="utf-8")
    loaded = load_config(toml, environ={}).with_options(corpus=config.corpus).with_site()
    post = load_post("_posts/2025-01-02-a.md", loaded)
    assert (post.url, post.sections[0].anchor) == ("https://example.jp/%E6%8A%80%E8%A1%93/2025/01/02/a.html", "概要")


def test_a_changed_config_yml_rebuilds_and_says_why(tmp_path: Path) -> None:
    config = _site(tmp_path, {}, {"_posts/2025-01-02-a.md": POST})
    assert update_index(config).added == 1
    (config.corpus / "_config.yml").write_text("kramdown:\n  auto_id_prefix: h-\n", encoding="utf-8")
    assert update_index(config).rebuilt == "auto_id_prefix changed from '' to 'h-'"
    (config.corpus / "_config.yml").write_text("kramdown:\n  auto_id_prefix: h-\nbaseurl: /b\n", encoding="utf-8")
    assert update_index(config).rebuilt == "base_url changed from '' to '/b'"
    assert update_index(config).rebuilt == ""


def test_a_broken_config_yml_is_a_one_line_error(tmp_path: Path) -> None:
    config = _site(tmp_path, {}, {})
    (config.corpus / "_config.yml").write_text("baseurl: [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"_config.yml: invalid YAML"):
        config.with_site()


def test_bad_settings_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="anchor_scheme must be one of gfm, kramdown, github"):
        Config(anchor_scheme="markdown")
    with pytest.raises(ConfigError, match="auto_ids must be true or false"):
        dataclasses.replace(Config(), auto_ids="yes")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="unknown setting"):
        Config().with_options(explicit=["x"])
