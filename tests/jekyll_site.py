"""A real Jekyll site built from the sample posts and fixture posts (a helper, not a test file).

``make_site(tmp, "defaults")`` writes a Jekyll source tree (the sample posts, the posts
in ``FIXTURE_POSTS``, a page, the ``_config.yml`` of one of ``CONFIGURATIONS`` and a
``_layouts/default.html`` with mikke's search include under the header) and builds it
with Debian's ``jekyll`` and the ``minima`` theme, offline. ``test_jekyll.py`` indexes the
same source with mikke and checks every URL and fragment against the built pages; the
browser tests serve the built site.

>>> sorted(CONFIGURATIONS)
['baseurl', 'defaults', 'kramdown']
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import yaml

REPO = Path(__file__).resolve().parent.parent
SAMPLE_POSTS = REPO / "corpus" / "_posts"
INCLUDE = REPO / "integrations" / "jekyll" / "_includes" / "mikke-search.html"
DEFAULT_ENDPOINT = "http://127.0.0.1:8000"
#: Seconds one ``jekyll build`` may take.
BUILD_TIMEOUT = 300

#: The three site configurations (``_config.yml`` minus the common part).
CONFIGURATIONS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "kramdown": {"kramdown": {"input": "kramdown"}},
    "baseurl": {
        "baseurl": "/blog",
        "permalink": "/:categories/:year/:month/:title/",
        "kramdown": {"auto_id_prefix": "h-"},
        "defaults": [{"scope": {"path": "_posts/notes", "type": "posts"}, "values": {"permalink": "/notes/:title/"}}],
    },
}

#: The layout: minima's default with the search box under the header.
DEFAULT_LAYOUT = """\
<!DOCTYPE html>
<html lang="{{ page.lang | default: site.lang | default: "ja" }}">
  {%- include head.html -%}
  <body>
    {%- include header.html -%}
    <div class="wrapper">{%- include mikke-search.html -%}</div>
    <main class="page-content" aria-label="Content">
      <div class="wrapper">
        {{ content }}
      </div>
    </main>
    {%- include footer.html -%}
  </body>
</html>
"""

#: Posts with the headings and passages that are hard to link to.
FIXTURE_POSTS: dict[str, str] = {
    "_posts/2025-10-01-heading-ids.md": """\
---
layout: post
title: "見出しのIDを確かめる"
date: 2025-10-01 09:00:00 +0900
categories: [検証]
tags: [見出し, kramdown]
---

見出しのIDを確かめる前に、この導入の段落が最初の見出しより前にあります。

## 概要

最初の概要の節です。液体冷却の話から始めます。

## 概要

二つ目の概要の節です。同じ見出しが続くと番号が付きます。

## 概要

三つ目の概要の節です。番号は二になります。

## GPUクラスタの設計 2025

英数字と日本語が混ざった見出しの本文です。

## `mikke index` の使い方

インラインコードを含む見出しの本文です。

## [液体冷却](https://example.com/cooling)の基礎

リンクを含む見出しの本文です。

## [空冷][ref]との比較

参照リンクを含む見出しの本文です。

## **太字**と*斜体*と_下線_の見出し

強調を含む見出しの本文です。

## 🚀 ローンチ準備 ✨

絵文字を含む見出しの本文です。

## 質問：なぜ？（補足）「引用」

全角の記号を含む見出しの本文です。

## ！？★☆

記号だけの見出しの本文です。

## ---

ハイフンだけの見出しの本文です。

## 独自の見出し {#custom-id}

明示したIDを持つ見出しの本文です。

## Hello World

ASCIIだけの見出しの本文です。

## 2025 Roadmap -- Q1 & Q2

数字で始まる見出しとダッシュの本文です。

## ＡＩとＧＰＵの全角英字

全角英字の見出しの本文です。

## snake_case_name の扱い

下線を含む識別子の見出しの本文です。

## AT&amp;T と R&D の &lt;比較&gt;

実体参照を含む見出しの本文です。

## 末尾の記号 ##

閉じる記号付きの見出しの本文です。

下線の見出し
------------

下線で書いた見出しの本文です。

[ref]: https://example.com/air
""",
    "_posts/2025-10-02-passages.md": """\
---
layout: post
title: "**段落へのリンク**を確かめる"
date: 2025-10-02
categories: 検証 段落
tags: [テキストフラグメント]
---

**段落へのリンク**を確かめる記事です。タイトルと同じ言葉で始まる導入です。

段落へのリンクを確かめるための二つ目の段落で、**太字**や[リンク](https://example.com/)や`code`を含みます。

**太字だけの行は見出しになる**

太字の行の下の段落です。ここには「かぎかっこ」と全角の記号：も含まれます。

同じ文が繰り返されます。同じ文が繰り返されます。そして違う文で終わります。

- 箇条書きの一つ目の項目です。
- 箇条書きの二つ目の項目です。

| 項目 | 値 |
| --- | --- |
| 温度 | 三十度 |
| 湿度 | 六十パーセント |

```python
print("コードの段落")
```

"Quotes" and -- dashes ... are typographic; その後の日本語の文です。

**太字だけの行は見出しになる**

二回目の同じ太字の行の下の段落です。
""",
    "_posts/notes/2025-10-03-note.md": """\
---
layout: post
title: ノート
date: 2025-10-03
---

ノートの最初の段落です。別の場所に置かれた投稿です。

## メモ

メモの本文です。
""",
    "about.md": """\
---
layout: page
title: このブログについて
permalink: /about/
---

このブログについての固定ページの本文です。
""",
}


@dataclass(frozen=True)
class Site:
    """A built site: its Jekyll source (also mikke's corpus), ``_site`` and ``baseurl``."""

    source: Path
    site: Path
    baseurl: str
    config: dict[str, Any]

    def file_for(self, url: str) -> Path | None:
        """The built file a site URL (path, ``baseurl`` included) is served from, if any."""
        path = unquote(url.split("#", 1)[0].split("?", 1)[0])
        if self.baseurl:
            if not path.startswith(self.baseurl + "/"):
                return None
            path = path[len(self.baseurl) :]
        candidate = self.site / path.lstrip("/")
        for found in (candidate, candidate / "index.html", candidate.with_name(candidate.name + ".html")):
            if found.is_file():
                return found
        return None


def jekyll_missing() -> str:
    """Why a site cannot be built here ("" when ``jekyll`` is installed)."""
    if shutil.which("jekyll") is None:
        return "jekyll is not installed (apt-get install jekyll jekyll-theme-minima)"
    return ""


def write_source(source: Path, configuration: str, endpoint: str = DEFAULT_ENDPOINT) -> dict[str, Any]:
    """Write the Jekyll source tree of ``configuration`` into ``source``; returns its ``_config.yml``."""
    config: dict[str, Any] = {
        "title": "mikke テストブログ",
        "description": "mikke の検索を確かめるブログ",
        "theme": "minima",
        "lang": "ja",
        "mikke": {"endpoint": endpoint},
        "exclude": ["mikke.toml", ".mikke"],
        **CONFIGURATIONS[configuration],
    }
    shutil.copytree(SAMPLE_POSTS, source / "_posts", dirs_exist_ok=True)
    for name, text in FIXTURE_POSTS.items():
        path = source / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (source / "_includes").mkdir(parents=True, exist_ok=True)
    shutil.copy(INCLUDE, source / "_includes" / INCLUDE.name)
    (source / "_layouts").mkdir(exist_ok=True)
    (source / "_layouts" / "default.html").write_text(DEFAULT_LAYOUT, encoding="utf-8")
    (source / "_config.yml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return config


def build(source: Path, destination: Path) -> None:
    """``jekyll build`` offline; raises ``RuntimeError`` with Jekyll's output when it fails."""
    env = {**os.environ, "JEKYLL_ENV": "production", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
    done = subprocess.run(
        ["jekyll", "build", "--source", str(source), "--destination", str(destination), "--quiet"],
        capture_output=True,
        text=True,
        env=env,
        timeout=BUILD_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"jekyll build failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")


def make_site(directory: Path, configuration: str, endpoint: str = DEFAULT_ENDPOINT) -> Site:
    """Write and build the site of ``configuration`` under ``directory`` (``source/`` and ``_site/``)."""
    source = directory / "source"
    config = write_source(source, configuration, endpoint)
    build(source, directory / "_site")
    return Site(source, directory / "_site", str(config.get("baseurl", "")).rstrip("/"), config)
