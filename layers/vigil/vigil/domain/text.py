"""Text normalization shared by classification and story clustering (pure, standard library).

Both read feed text through `fold`: Unicode compatibility forms folded (NFKC: full-width
letters, ligatures, CJK compatibility ideographs), `ё` read as `е` and traditional Chinese
characters as simplified ones, so one term list matches, and one story gathers, every
spelling of the same words. The classifier then lower-cases and splits words
(`normalize_text`, `tokenize`, `words`); the clusterer keeps case, since capitals mark
names, and builds its own terms. Headlines from both paths lose a trailing outlet name
through one function, `strip_outlet`.
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

# Traditional -> simplified for characters common in defence, politics and economy news,
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
說说 觀观 點点 錄录 係系 鐵铁 層层 義义 從从 於于 後后 當当 現现 開开 題题 給给
歷历 過过 還还 達达 適适 週周 閉闭 車车 轉转 輪轮 載载 輕轻 較较 陳陈 陽阳 際际
隨随 話话 語语 許许 設设 評评 論论 訴诉 詢询 該该 詳详 誤误 調调 請请 諾诺 謀谋
講讲 謝谢 變变 費费 賣卖 買买 質质 負负 財财 販贩 貧贫 賽赛 賠赔 錢钱 鋼钢 銷销
針针 鍵键 環环 氣气 漢汉 滅灭 溫温 澤泽 測测 濤涛 爭争 熱热 驗验 驅驱 鳥鸟 魚鱼
黃黄 齊齐 龍龙 醫医 圖图 團团 園园 場场 堅坚 壞坏 夠够 學学 孫孙 寧宁 審审 寫写
尋寻 屬属 嶼屿 師师 帥帅 帶带 幫帮 廣广 廳厅 強强 戲戏 擔担 擁拥 敵敌 數数 斷断
極极 構构 標标 樣样 檢检 歡欢 殺杀 滿满 牆墙 獲获 畫画 劃划 異异 盡尽 礎础 禮礼
種种 穩稳 競竞 節节 範范 紅红 組组 結结 絕绝 績绩 織织 繼继 續续 罰罚 聽听 職职
興兴 舊旧 葉叶 藝艺 號号 補补 複复 襲袭 見见 規规 親亲 覺觉 計计 討讨 診诊 諸诸
識识 讀读 貝贝 貢贡 貴贵 贏赢 趙赵 軌轨 軟软 輛辆 辦办 農农 違违 遺遗 鄰邻 鄉乡
釋释 鋒锋 錯错 鎮镇 鏡镜 鐘钟 鑑鉴 陰阴 階阶 隱隐 難难 雜杂 離离 雲云 韓韩 頁页
順顺 須须 頻频 願愿 類类 顧顾 駐驻 魯鲁 麗丽 幹干 麼么 裡里 隻只 佈布 傳传 僅仅
儲储 優优 償偿 傷伤 債债 兒儿 勞劳 勢势 勝胜 勵励 奪夺 獎奖 婦妇 寶宝 屆届 歲岁
燒烧 獻献 確确 禦御 筆笔 糧粮 紀纪 納纳 紛纷 細细 終终 綜综 緩缓 編编 縮缩 聞闻
臨临 艙舱 裝装 誰谁 譯译 豐丰 贊赞 跡迹 蹤踪 軸轴 辯辩 遞递 鄭郑 鈾铀 閱阅 靈灵
頒颁 頓顿 養养 驚惊 盧卢 烏乌 倫伦 鮮鲜 敘叙 亞亚 賓宾 漁渔 稅税 凍冻 夥伙 積积
輝辉 鴻鸿 鎵镓 鍺锗 銻锑 礦矿 餘余 員员 連连 採采 狀状 則则 頂顶 騷骚 並并 併并
惡恶 緝缉 啟启 況况 訊讯 駛驶 凱凯 減减 溝沟 執执 繫系 縣县 蕩荡 趨趋 轄辖 廢废
棄弃 塊块 眾众 撥拨 紹绍 敗败 蓮莲 戶户 觸触 築筑 潰溃 滬沪 漲涨 貸贷 匯汇 彙汇
殘残 紐纽 聖圣 憲宪 館馆 駁驳 郵邮 療疗 訂订 託托 詐诈 諜谍 諮咨 譴谴 貫贯 踐践
躍跃 輿舆 辭辞 邁迈 鄧邓 閃闪 雖虽 靜静 擋挡 擠挤 攜携 斃毙 晉晋 暫暂 榮荣 槍枪
毀毁 濃浓 犧牺 獄狱 畢毕 盜盗 盤盘 礙碍 窮穷 籌筹 籲吁 紙纸 絲丝 緬缅 縱纵 罵骂
臉脸 莊庄 薦荐 虧亏 詞词 賞赏 趕赶 輔辅 銅铜 鋁铝 鎳镍 鑽钻 閩闽 霧雾 頗颇 顆颗
馳驰 鷹鹰 龐庞 僑侨 陝陕 揮挥 擺摆
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


class PlacedWords:
    """`words(text)`, and where each word lies in `text` itself, placed lazily.

    For quoting an item in its own words ("Russia's army", 臺灣海峽) where matching saw
    normalized ones ("russia s army", 台湾海峡). Each word is found, in order, in a
    normalization of the text that keeps every character in place, so quoting the first
    words of a long summary reads no further; when normalization moved characters (a
    ligature), words are placed one by one, character by character. `spans` stops short
    at a word that cannot be placed: it and the words after it have no offsets.
    """

    __slots__ = ("_at", "_where", "spans", "text", "tokens")

    def __init__(self, text: str, tokens: list[str] | None = None) -> None:
        """`tokens`, when given, must be `words(text)` (the classifier has them already)."""
        self.text = text
        self.tokens = words(text) if tokens is None else tokens
        # Offsets of words 0, 1, ... placed so far (`through` places more).
        self.spans: list[tuple[int, int]] = []
        self._at = 0
        # Typographic punctuation becomes a space (NFKC would widen "…" to "..."); as in
        # `normalize_text`, replacing the marks present beats str.translate.
        plain = text
        if not plain.isascii():
            for mark in _TYPOGRAPHIC:
                if mark in plain:
                    plain = plain.replace(mark, " ")
        where = plain.lower() if plain.isascii() else fold(plain).lower()
        if len(where) == len(text):  # every character in place: the usual case
            self._where = where
        else:
            self._where = ""
            self.spans = _placed_slowly(text, self.tokens)

    def through(self, k: int) -> list[tuple[int, int]]:
        """The offsets of words 0, 1, ... placed so far, placing them through word `k`
        if they can be; a caller reading many offsets indexes this list (a method call
        per offset was most of the cost of quoting evidence)."""
        spans = self.spans
        if k < len(spans) or not self._where:
            return spans
        where, tokens, at = self._where, self.tokens, self._at
        for token in tokens[len(spans) : k + 1]:
            found = where.find(token, at)
            if found < 0:
                self._where = ""
                break
            at = found + len(token)
            spans.append((found, at))
        self._at = at
        return spans


def _placed_slowly(text: str, tokens: list[str]) -> list[tuple[int, int]]:
    """Word offsets when folding moved characters: normalized character by character,
    each piece remembering where it came from; as far as the words can be placed."""
    pieces: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        piece = normalize_text(ch)
        pieces.append(piece)
        origin.extend([i] * len(piece))
    flat = "".join(pieces)
    spans: list[tuple[int, int]] = []
    at = 0
    for token in tokens:
        found = flat.find(token, at)
        if found < 0:
            break
        at = found + len(token)
        spans.append((origin[found], origin[at - 1] + 1))
    return spans


# ---------------------------------------------------------------- outlet names in headlines

# Exactly how aggregators (Google News) append the outlet: "<headline> - <outlet>".
_OUTLET_SEPARATORS = (" - ", " | ", " – ", " — ")
# Any separator before a trailing segment that may be an outlet name.
_SEGMENT_SEPARATOR = re.compile(r"\s+[-–—|:]\s+|\s*[|]\s*")
_OUTLET_MAX_WORDS = 5


def strip_outlet(title: str, outlet: str = "", *, guess: bool = True) -> str:
    """The headline without a trailing " - Reuters" / " | SCMP" style outlet name.

    The outlet's own name goes when the title ends with it after a separator and
    more than ten characters remain. With `guess` (for comparing headlines, not for
    showing them), a short capitalized tail also goes when at least three words
    remain ("Xi meets Putin - what we know" and "Taiwan - China" stay whole).
    """
    if outlet:
        for sep in _OUTLET_SEPARATORS:
            suffix = f"{sep}{outlet}"
            if title.endswith(suffix) and len(title) > len(suffix) + 10:
                return title[: -len(suffix)].rstrip()
    if not guess:
        return title
    title = title.strip()
    parts = _SEGMENT_SEPARATOR.split(title)
    if len(parts) < 2:
        return title
    tail = parts[-1].strip()
    head = title[: len(title) - len(tail)].rstrip(" -–—|:")
    if _looks_like_outlet(tail, outlet) and len(head.split()) >= 3:
        return head
    return title


def _looks_like_outlet(segment: str, outlet: str) -> bool:
    # Outlet names are short and capitalized ("Reuters", "The Moscow Times", "SCMP");
    # a lowercase tail ("- what we know") is part of the headline.
    segment_words = segment.split()
    if not segment_words or len(segment_words) > _OUTLET_MAX_WORDS:
        return False
    if outlet and segment.lower() in outlet.lower():
        return True
    return all(w[0].isupper() or not w[0].isalpha() or w.lower() in {"the", "of", "and"} for w in segment_words)


# ---------------------------------------------------------------- datelines in leads

# A wire-style dateline opening a lead: where the story was filed and by whom, not what
# it is about ("TAIPEI (CNA) –", "Taipei, Taiwan (Focus Taiwan) --", "MOSCOW, March 3
# (Reuters) -", "BEIJING —"). Either a news agency in parentheses (a known name or an
# acronym in capitals) follows the place and an optional ", country/date", or the place
# is written in capitals and followed by a long dash. A lead that merely starts with a
# name ("Taiwan - China talks", "Xi Jinping (left) - shakes hands", "PLA — ") is left alone.
_AGENCY = (
    r"[A-Z]{2,6}|Focus Taiwan|Taiwan News|Taipei Times|Reuters|Xinhua|Kyodo|Yonhap|Bloomberg"
    r"|Interfax|RIA Novosti|Sputnik|Global Times|dpa|Anadolu|Bernama|Antara|Nikkei"
)
_PLACE = r"(?!The )[A-Z][A-Za-z.'\u2019]*(?:[ -][A-Z][A-Za-z.'\u2019]*){0,3}"
_CAPS_PLACE = r"(?=[A-Z]{4}|[A-Z]+[ -][A-Z]{2})[A-Z][A-Z.'\u2019]+(?:[ -][A-Z][A-Z.'\u2019]+){0,3}"
_DATELINE_RE = re.compile(
    rf"\s*(?:{_PLACE}(?:,\s*[^()\n,]{{1,30}}){{0,2}}\s*\((?:{_AGENCY})\)\s*(?:--|[-\u2010-\u2015:])"
    rf"|{_CAPS_PLACE}(?:,\s*[^()\n,]{{1,30}}){{0,2}}\s*(?:--|[\u2013\u2014]))\s+"
)


def strip_dateline(text: str) -> str:
    """The lead without a leading wire dateline (see `_DATELINE_RE`); otherwise unchanged.

    A dateline says where a report was filed, so "TAIPEI (CNA) –" over a story about
    Seoul is no evidence that the story is about Taiwan.
    """
    head = text[:90]
    if "(" not in head and "\u2014" not in head and "\u2013" not in head and "--" not in head:
        return text  # no agency and no long dash near the start: the usual case, one look
    found = _DATELINE_RE.match(text)
    if found is None or found.end() >= len(text):
        return text
    return text[found.end():]
