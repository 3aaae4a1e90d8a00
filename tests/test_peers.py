"""Each available peer finds the obvious document for simple Japanese queries; the query variants."""

from __future__ import annotations

import random
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import variants
from peers import PEERS, LuceneKuromojiPeer, Peer, peer_status

TOPICS = [
    ("富士山", "富士山は静岡県と山梨県にまたがる日本最高峰の山で、標高は3776メートルある。"),
    ("寿司", "寿司は酢飯に魚介類などを組み合わせた料理で、江戸時代に握り寿司が広まった。"),
    ("桜", "桜の花は春に咲き、各地で花見が行われる。ソメイヨシノが代表的な品種である。"),
    ("新幹線", "東海道新幹線は1964年に東京と新大阪の間で開業した高速鉄道である。"),
    ("将棋", "将棋は二人で対局する盤上遊戯で、取った駒を自分の持ち駒として使える。"),
    ("柔道", "柔道は嘉納治五郎が創始した武道で、オリンピックの正式競技にもなっている。"),
    ("味噌汁", "味噌汁は出汁に味噌を溶かした汁物で、豆腐やわかめを具にすることが多い。"),
    ("京都", "京都は千年以上にわたり都が置かれた古都で、金閣寺や清水寺などの寺院がある。"),
    ("北海道", "北海道は日本の最北に位置する島で、冬は雪が多く、酪農やじゃがいもの生産が盛んだ。"),
    ("沖縄", "沖縄は亜熱帯の島々からなる県で、美しいサンゴ礁と独自の琉球文化で知られる。"),
    ("温泉", "温泉は地中から湧き出る湯で、箱根や草津などの温泉地には多くの観光客が訪れる。"),
    ("俳句", "俳句は五七五の十七音からなる短い詩で、季語を一つ入れる。松尾芭蕉が有名だ。"),
    ("歌舞伎", "歌舞伎は江戸時代に発展した演劇で、隈取りの化粧や見得を切る演技が特徴である。"),
    ("茶道", "茶道は抹茶を点ててもてなす作法で、千利休が侘び茶を大成した。"),
    ("漫画", "日本の漫画は世界中で読まれており、週刊誌に連載された作品が単行本になる。"),
    ("地震", "日本はプレートの境界に位置するため地震が多く、建物の耐震化が進められている。"),
    ("台風", "台風は熱帯の海上で発生する低気圧で、夏から秋にかけて強風と大雨をもたらす。"),
    ("梅雨", "梅雨は六月から七月にかけて雨の多い時期で、紫陽花が見頃を迎える。"),
    ("ラーメン", "ラーメンは中華麺をスープに入れた料理で、醤油や豚骨など地域ごとに味が異なる。"),
    ("野球", "野球は九人ずつの二チームが攻守を交代して得点を競う球技で、甲子園が人気だ。"),
    ("相撲", "相撲は土俵の上で力士が組み合う競技で、横綱が最高位の番付である。"),
    ("着物", "着物は日本の伝統的な衣服で、成人式や結婚式で振袖や留袖が着られる。"),
    ("折り紙", "折り紙は一枚の紙を折って鶴などの形を作る遊びで、海外でもORIGAMIとして知られる。"),
    ("東京タワー", "東京タワーは1958年に完成した高さ333メートルの電波塔で、港区芝公園にある。"),
    ("大阪城", "大阪城は豊臣秀吉が築いた城で、現在の天守閣は昭和に再建されたものである。"),
    ("紅葉", "秋になるとカエデなどの葉が赤や黄色に色づき、紅葉狩りを楽しむ人が山に集まる。"),
    ("盆踊り", "盆踊りはお盆の時期に櫓の周りで輪になって踊る行事で、浴衣姿の人々が集まる。"),
    ("忍者", "忍者は戦国時代に諜報活動を行った者たちで、伊賀と甲賀が忍術の里として知られる。"),
    ("納豆", "納豆は大豆を納豆菌で発酵させた食品で、独特の粘りと匂いがある。"),
    ("囲碁", "囲碁は白と黒の石を交互に置いて陣地の広さを争う盤上遊戯である。"),
]
DOCS = [{"id": f"d{i:02d}", "title": title, "text": text} for i, (title, text) in enumerate(TOPICS)]
DOC_ID = {title: f"d{i:02d}" for i, (title, _) in enumerate(TOPICS)}

QUERIES = [
    ("日本で一番高い山は富士山ですか", "富士山"),
    ("東海道新幹線が開業した年", "新幹線"),
    ("納豆菌で発酵させた食品", "納豆"),
    ("侘び茶を大成したのは誰", "茶道"),
    ("琉球文化とサンゴ礁の島", "沖縄"),
    ("origami", "折り紙"),  # case folding
    ("将棋", "将棋"),  # 2 chars: the trigram peer's LIKE fallback
]

# Pagefind returns only the pages holding every word of the query; each of these questions
# has a word (一番, 年, 誰) that its page lacks.
NOT_EVERY_WORD = {"日本で一番高い山は富士山ですか", "東海道新幹線が開業した年", "侘び茶を大成したのは誰"}


@pytest.fixture(scope="module", params=list(PEERS))
def peer(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Peer]:
    reason = peer_status()[request.param]
    if reason is not None:
        pytest.skip(f"{request.param} skipped: {reason}")
    p = PEERS[request.param](tmp_path_factory.mktemp(request.param))
    p.build(DOCS)
    yield p
    p.close()


@pytest.mark.parametrize(("query", "title"), QUERIES)
def test_obvious_query_ranks_right_doc_first(peer: Peer, query: str, title: str) -> None:
    hits = peer.search(query, k=5)
    if peer.name == "pagefind" and query in NOT_EVERY_WORD:
        assert hits == []
        return
    assert hits, f"{peer.name}: no hits for {query!r}"
    assert hits[0] == DOC_ID[title], f"{peer.name}: {query!r} -> {hits}"


def test_k_and_empty_query(peer: Peer) -> None:
    assert len(peer.search("日本の伝統的な文化", k=3)) <= 3
    assert peer.search("", k=3) == []
    assert peer.search("。、", k=3) == []


# ---------------------------------------------------------------- lucene-kuromoji


@pytest.fixture(scope="module")
def lucene(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LuceneKuromojiPeer]:
    reason = peer_status()[LuceneKuromojiPeer.name]
    if reason is not None:
        pytest.skip(f"lucene-kuromoji skipped: {reason}")
    peer = LuceneKuromojiPeer(tmp_path_factory.mktemp("lucene"))
    peer.build(DOCS)
    yield peer
    peer.close()


def test_lucene_analyzes_as_kuromoji(lucene: LuceneKuromojiPeer) -> None:
    # JapaneseAnalyzer: particles, auxiliaries and 。？ stopped, the verb to its base form.
    assert lucene.terms("ワールドカップは何年に一度開催されるの？") == ["ワールドカップ", "何", "年", "一度", "開催"]
    assert lucene.terms("咲いた") == ["咲く"]
    assert lucene.lucene.Version.LATEST.toString() == "9.9.1"


def test_lucene_finds_an_inflected_verb_by_its_base_form(lucene: LuceneKuromojiPeer) -> None:
    # Only the 桜 document says 咲き; the query says 咲いた: both are 咲く once analysed.
    assert lucene.search("咲いた", k=3) == [DOC_ID["桜"]]
    assert lucene.search("咲いたのはいつ", k=3)[0] == DOC_ID["桜"]


# ---------------------------------------------------------------- variants (real NIILC queries)

NIILC_WORLD_CUP = ("NIILC-ECQA2015-00001-01", "ワールドカップは何年に一度開催されるの？")
NIILC_TOKAI = ("NIILC-ECQA2015-00002-01", "東海地方に含まれる県はどこ？")
NIILC_YELLOW = ("NIILC-ECQA2015-00006-01", "サッカーのイエローカードはいつ出るの？")
needs_synonyms = pytest.mark.skipif(
    not variants.SYNONYMS.is_file(), reason=f"Sudachi synonyms not found at {variants.SYNONYMS} (set MIKKE_SYNONYMS)"
)


def test_kana_writes_one_word_in_its_hiragana_reading() -> None:
    assert variants.rewrite("kana", *NIILC_TOKAI) == "東海ちほうに含まれる県はどこ？"
    assert variants.rewrite("kana", NIILC_TOKAI[0], "東海地方 県") == "とうかい地方 県"
    assert variants.rewrite("kana", "q", "サッカー イエローカード") is None  # nothing to write in kana


def test_prefix_cuts_the_last_word_mid_way() -> None:
    assert variants.rewrite("prefix", *NIILC_WORLD_CUP) == "ワールドカップは何年に一度開"
    assert variants.rewrite("prefix", NIILC_YELLOW[0], "サッカー イエローカード") == "サッカー イエロー"
    assert variants.rewrite("prefix", "q", "県") is None  # no word of two characters


def test_typo_drops_a_long_vowel_mark_or_swaps_two_letters() -> None:
    assert variants.rewrite("typo", *NIILC_YELLOW) == "サッカのイエローカードはいつ出るの？"
    assert variants.rewrite("typo", "NIILC-ECQA2015-00047-01", "クリスマスは何月何日？") == "クスリマスは何月何日？"
    assert variants.rewrite("typo", *NIILC_TOKAI) is None  # only kanji and kana particles


def test_rewrites_are_deterministic_per_query_id() -> None:
    first = [variants.rewrite(v, *NIILC_WORLD_CUP) for v in variants.VARIANTS]
    assert first == [variants.rewrite(v, *NIILC_WORLD_CUP) for v in variants.VARIANTS]


@needs_synonyms
def test_synonym_replaces_one_word_by_a_sudachi_synonym() -> None:
    assert variants.rewrite("synonym", *NIILC_YELLOW) == "サッカーの警告はいつ出るの？"
    assert variants.rewrite("synonym", *NIILC_WORLD_CUP) == "ワールドカップは何年に一回開催されるの？"


@needs_synonyms
def test_synonym_honours_the_expansion_flags() -> None:
    table = variants.synonym_table()
    # Group 000008: 支払い (flag 0) expands to 勘定 (flag 1); 勘定 never triggers expansion.
    assert "勘定" in table["支払い"] and "勘定" not in table
    assert variants.synonym("勘定", random.Random(0)) is None
    # Group 000086: イエローカード (0) -> 警告 (1), never to イエロー (2, "never expand"), nor to
    # "yellow card" (its original spelling); イエロー is flag 1 in 018746 (黄色 -> イエロー).
    assert table["イエローカード"] == ["警告"]
    assert "イエロー" in table["黄色"] and "イエロー" not in table
    # A noun is replaced by a noun (体言), not by the group's verb 支払う (用言).
    assert "支払う" not in table["支払い"]


def test_variants_doctests() -> None:
    import doctest

    assert doctest.testmod(variants).failed == 0
