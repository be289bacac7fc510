"""Text normalization shared by classification and story clustering (pure, standard library).

Both read feed text through `fold`: Unicode compatibility forms folded (NFKC: full-width
letters, ligatures, CJK compatibility ideographs), `ё` read as `е` and traditional Chinese
characters as simplified ones, so one term list matches, and one story gathers, every
spelling of the same words. The classifier then lower-cases and splits words
(`normalize_text`, `tokenize`, `words`); the clusterer keeps case, since capitals mark
names, and builds its own terms.
"""

from __future__ import annotations

import re
import unicodedata

# Han and kana. Every such character is a word of its own for the classifier; the
# clusterer turns runs of them into bigrams.
CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
CJK_RE = re.compile(f"[{CJK}]")
# Words: every CJK character alone; other words are runs of letters/digits.
TOKEN_RE = re.compile(rf"[{CJK}]|[^\W_{CJK}]+")
WORD_RE = re.compile(r"[^\W_]+")

# Traditional -> simplified for characters common in defence and politics news,
# so Taiwan/Hong Kong (traditional) and mainland (simplified) text read the same. Only
# characters whose simplified form does not depend on the word (so not 乾, 著, 瞭, 徵);
# several traditional characters may share one simplified form (臺, 颱 -> 台). No
# simplified character is itself a key, so folding twice changes nothing.
_TRADITIONAL_SIMPLIFIED = """
灣湾 臺台 軍军 戰战 區区 習习 聯联 艦舰 機机 導导 彈弹 兩两 獨独 國国 對对 單单
實实 體体 華华 進进 關关 東东 陸陆 鬥斗 飛飞 衛卫 擊击 協协 與与 為为 發发 動动
邊边 島岛 峽峡 統统 選选 舉举 黨党 總总 務务 門门 廈厦 馬马 蘭兰 羅罗 爾尔 維维
護护 訓训 練练 輸输 製制 資资 貿贸 歐欧 擴扩 產产 業业 鏈链 術术 將将 領领 緊紧
張张 線线 隊队 無无 衝冲 條条 約约 價价 網网 絡络 電电 腦脑 圓圆 議议 會会 長长
書书 記记 處处 報报 稱称 據据 時时 間间 權权 責责 內内 閣阁 經经 濟济 貨货 幣币
銀银 雙双 擾扰 亂乱 遠远 監监 視视 偵侦 邏逻 轟轰 殲歼 潛潜 陣阵 營营 聲声 談谈
訪访 問问 賴赖 罷罢 運运 嚴严 備备 脅胁 壓压 藥药 蘇苏 劍剑 認认 讓让 證证 鎖锁
險险 態态 參参 圍围 簽签 購购 億亿 萬万 專专 項项 準准 應应 顯显 試试 幾几 蔣蒋
歸归 復复 頭头 響响 擬拟 廠厂 額额 級级 災灾 颱台 風风 預预 們们 個个 來来 這这
說说 觀观 點点 錄录 係系 鐵铁 層层
"""
TRADITIONAL_TO_SIMPLIFIED: dict[str, str] = {pair[0]: pair[1] for pair in _TRADITIONAL_SIMPLIFIED.split()}
_CHINESE_FOLD = str.maketrans(TRADITIONAL_TO_SIMPLIFIED)

# Typographic punctuation common in English news (curly quotes, dashes, ellipsis,
# no-break spaces). `tokenize` drops punctuation anyway, so turning these into spaces
# changes no word, and lets most English text take the ASCII fast path instead of
# Unicode normalization and a regex (about 8x slower). Chained `str.replace` is used
# because `str.translate` with a non-ASCII table is slower than the regex itself.
_TYPOGRAPHIC = (
    "\u2019\u2018\u201c\u201d\u2014\u2013\u2026\u00a0\u201a\u201e\u2010\u2011\u2012\u2015\u2009\u202f\u00ab\u00bb"
)

# ASCII bytes: letters and digits kept, everything else a space (the fast path for
# plain English text, about 3x quicker than the regex).
_ASCII_WORDS = bytes(c if chr(c).isalnum() else 32 for c in range(128)) + bytes(range(128, 256))
# Lower-cases as it splits (A-Z to a-z), for raw item text on the hot path.
_ASCII_LOWER_WORDS = _ASCII_WORDS.translate(
    bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", b"abcdefghijklmnopqrstuvwxyz")
)


def fold(text: str) -> str:
    """NFKC, `ё` as `е` and traditional Chinese as simplified; case and punctuation kept."""
    text = unicodedata.normalize("NFKC", text)
    if "ё" in text:
        text = text.replace("ё", "е")
    if "Ё" in text:
        text = text.replace("Ё", "Е")
    if CJK_RE.search(text):
        text = text.translate(_CHINESE_FOLD)
    return text


def normalize_text(text: str) -> str:
    """`fold`, lower-cased: the form the classifier matches (for matching only).

    Quotes, dashes and other punctuation need no folding: `tokenize` drops them all.
    """
    if text.isascii():
        return text.lower()
    folded = text
    for mark in _TYPOGRAPHIC:  # most frequent first: usually one or two are present
        if mark in folded:
            folded = folded.replace(mark, " ")
            if folded.isascii():
                return folded.lower()
    return fold(text).lower()


def tokenize(text: str) -> list[str]:
    """Words of already-normalized text; each CJK character is a word of its own."""
    if text.isascii():
        return text.encode("ascii").translate(_ASCII_WORDS).decode("ascii").split()
    if CJK_RE.search(text):
        return TOKEN_RE.findall(text)
    return WORD_RE.findall(text)


def words(text: str) -> list[str]:
    """`tokenize(normalize_text(text))`, in one pass for ASCII text."""
    if text.isascii():
        return text.encode("ascii").translate(_ASCII_LOWER_WORDS).decode("ascii").split()
    return tokenize(normalize_text(text))
