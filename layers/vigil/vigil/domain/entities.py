"""Named things and figures in English, Russian and Chinese news, as canonical ids (pure, stdlib).

Story clustering compares reports across outlets and languages: "Shoigu", "Шойгу" and
"绍伊古" are one person, "$2bn", "$2 billion", "2 млрд долларов" and "20亿美元" one
figure, "17th", "17-й" and "第十七" one ordinal. `mentions` finds them in a text:

- **Entities** from `ALIASES`: people, countries, places (seas, straits, regions), forces
  and organisations, weapons, companies, programmes (named exercises, lists, agreements)
  and the kinds of action news in this domain is about (sanctions, drills, transits, an
  entry ban), each with its surface forms in the three languages. English and Russian
  forms are word sequences, where `*` ends a word prefix (Russian inflects endings);
  Chinese forms are character strings matched inside the text. Longest match wins, so
  "不可靠实体清单" is the unreliable entity list, not the entity list, and "Sea of Japan"
  is a sea, not Japan.
- **Figures**: amounts of money (`M:2e+09`), other counts (`N:500`), ordinals (`O:17`),
  years (`Y:2015`) and dates (`D:6-12`), in digits or in words.

Every id is `<kind>:<name>`; the kind decides how much sharing it says about two reports
sharing an event (`WEIGHTS`). The table is written from the domain (who and what this
news is about), not from single reports.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Iterable

from vigil.domain.text import CJK, fold

# ---------------------------------------------------------------- the alias table
#
# One entity per line: `kind:name | english forms | russian forms | chinese forms`, forms
# separated by commas; an indented line continues the one above. Kinds: country, place,
# region (a theatre several places belong to), person, org, force, weapon, company,
# programme, act (what happened: the event's type). `a+b` names two ids at once (中俄:
# China and Russia; an agency and its country); `skip:` forms only keep shorter forms
# from matching inside them. Forms are matched on folded, lower-cased text (a leading `=`
# keeps case: "=US" is not "us"); hyphens and apostrophes split words ("tu-95" is "tu 95").

_TABLE = """
# --- countries and blocs (the two main actors and the US are in almost every report)
country:russia | russia, russian*, moscow, kremlin, russian federation, rf | росси*, рф, москв*, кремл*,
    российск* федерац*, русск* | 俄罗斯, 俄国, 俄方, 俄军, 莫斯科, 克里姆林宫, 俄
country:china | china, chinese, beijing, prc, people s republic of china, mainland, sino, ccp,
    communist party of china, chinese communist party | кита*, кнр, пекин*, поднебесн*, кпк | 中国, 中方,
    中华人民共和国, 北京, 大陆, 陆方, 中共
country:taiwan | taiwan*, taipei, republic of china, formosa | тайван*, тайбэ* | 台湾, 台北, 台, 中华民国
country:us | =US, u s, usa, united states, america, american*, washington, white house | сша, соединенн* штат*,
    америк*, американск*, вашингтон*, белый дом, белого дома | 美国, 美方, 美军, 华盛顿, 白宫, 美
country:canada | canada, canadian* | канад* | 加拿大
country:uk | uk, britain, british, united kingdom, london, royal navy | британ*, великобритан*, лондон*,
    соединенн* королевств* | 英国, 英方, 伦敦
country:france | france, french, paris | франц*, париж* | 法国, 巴黎
country:germany | germany, german*, berlin | германи*, немецк*, берлин* | 德国, 柏林
country:italy | italy, italian* | итали* | 意大利
country:netherlands | netherlands, dutch | нидерланд*, голланд* | 荷兰
country:japan | japan, japanese, tokyo | япони*, японск*, токио | 日本, 东京, 日方
country:south_korea | south korea*, korea, korean*, seoul, rok | южн* коре*, республик* коре*, сеул* | 韩国, 首尔,
    韩
country:north_korea | north korea*, dprk, pyongyang | кндр, северн* коре*, пхеньян* | 朝鲜, 平壤
country:ukraine | ukrain*, kyiv, kiev | украин*, киев* | 乌克兰, 基辅
country:belarus | belarus*, minsk | белорус*, беларус*, минск* | 白俄罗斯
country:lithuania | lithuania*, vilnius | литв*, литовск*, вильнюс* | 立陶宛
country:latvia | latvia* | латви* | 拉脱维亚
country:estonia | estonia* | эстони* | 爱沙尼亚
country:poland | poland, polish | польш*, польск* | 波兰
country:czechia | czech*, prague | чехи*, чешск*, прага, праге, прагу, праги | 捷克
country:finland | finland, finnish | финлянд*, финск* | 芬兰
country:sweden | sweden, swedish | швеци*, шведск* | 瑞典
country:norway | norway, norwegian | норвеги* | 挪威
country:australia | australia*, canberra | австрали* | 澳大利亚, 澳洲
country:new_zealand | new zealand* | нов* зеланди* | 新西兰
country:india | india, indian*, new delhi | индия, индии, индию, индией, индийск* | 印度
country:pakistan | pakistan* | пакистан* | 巴基斯坦
country:iran | iran*, tehran | иран*, тегеран* | 伊朗
country:israel | israel* | израил* | 以色列
country:syria | syria* | сири* | 叙利亚
country:turkey | turkey, turkish, turkiye, ankara | турци*, турецк* | 土耳其
country:philippines | philippine*, filipino*, manila | филиппин* | 菲律宾
country:vietnam | vietnam*, viet nam, hanoi | вьетнам* | 越南
country:indonesia | indonesia* | индонези* | 印度尼西亚, 印尼
country:malaysia | malaysia* | малайзи* | 马来西亚
country:singapore | singapore* | сингапур* | 新加坡
country:thailand | thailand, thai | таиланд* | 泰国
country:mongolia | mongolia* | монголи* | 蒙古国
country:kazakhstan | kazakh* | казахстан* | 哈萨克斯坦
country:kyrgyzstan | kyrgyz* | киргиз*, кыргыз* | 吉尔吉斯斯坦
country:tajikistan | tajik* | таджик* | 塔吉克斯坦
country:uzbekistan | uzbek* | узбек* | 乌兹别克斯坦
country:georgia | georgia*, tbilisi | грузи* | 格鲁吉亚
country:armenia | armenia* | армени* | 亚美尼亚
country:azerbaijan | azerbaijan* | азербайджан* | 阿塞拜疆
country:hungary | hungar* | венгри*, венгерск* | 匈牙利
country:serbia | serbia* | серби* | 塞尔维亚
country:myanmar | myanmar, burma | мьянм* | 缅甸
country:venezuela | venezuela* | венесуэл* | 委内瑞拉
country:cuba | cuba* | куба, кубы, кубе, кубу, кубой, кубинск* | 古巴
country:brazil | brazil* | бразили* | 巴西
country:south_africa | south africa* | южн* африк*, юар | 南非
country:saudi_arabia | saudi* | саудовск* | 沙特
country:uae | uae, united arab emirates, emirati*, dubai | оаэ, эмират* | 阿联酋, 迪拜
country:nauru | nauru* | науру | 瑙鲁
country:tuvalu | tuvalu* | тувалу | 图瓦卢
country:palau | palau* | палау | 帕劳
country:marshall_islands | marshall islands | маршаллов* остров* | 马绍尔群岛
country:paraguay | paraguay* | парагва* | 巴拉圭
country:guatemala | guatemala* | гватемал* | 危地马拉
country:honduras | honduras* | гондурас* | 洪都拉斯
country:nicaragua | nicaragua* | никарагуа | 尼加拉瓜
country:haiti | haiti* | гаити | 海地
country:eswatini | eswatini, swaziland | эсватини, свазиленд* | 斯威士兰, 埃斯瓦蒂尼
country:vatican | vatican, holy see | ватикан* | 梵蒂冈
country:solomon_islands | solomon islands | соломонов* остров* | 所罗门群岛
country:kiribati | kiribati | кирибати | 基里巴斯
country:hong_kong | hong kong | гонконг* | 香港
org:eu | eu, european union, brussels, european commission, european council | ес, евросоюз*, европейск* союз*,
    еврокомисси*, брюссел* | 欧盟, 欧洲联盟, 欧委会, 布鲁塞尔
org:nato | nato, north atlantic treaty organization | нато | 北约
org:un | =UN, united nations, security council | оон, совбез* оон, совет* безопасности оон | 联合国, 安理会
org:g7 | g7, g 7, group of seven | g7, большой семерк*, семерк* | 七国集团
org:g20 | g20, g 20 | g20, большой двадцатк* | 二十国集团
org:sco | sco, shanghai cooperation organization, shanghai cooperation organisation | шос | 上合组织, 上海合作组织
org:brics | brics | брикс | 金砖
org:asean | asean | асеан | 东盟
org:quad | quad | quad | 四方安全对话
org:aukus | aukus | aukus | 奥库斯
# Chinese compounds naming two at once, and words that only look like a name.
country:china+country:russia | | | 中俄, 俄中
country:china+country:us | | | 中美, 美中
country:china+country:japan | | | 中日
country:china+org:eu | | | 中欧
country:china+country:taiwan | cross strait | | 两岸, 海峡两岸
country:us+country:canada | | | 美加
country:us+country:japan | | | 美日
country:us+country:taiwan | | | 美台, 台美
country:us+country:uk | | | 美英
country:us+country:russia | | | 美俄, 俄美
country:russia+country:ukraine | | | 俄乌
skip: | | | 美元, 美金, 美丽, 美好, 美食, 美术, 美容, 完美, 赞美, 优美, 审美, 精美, 出台, 平台, 舞台, 电台, 台风,
    后台, 上台, 下台, 台阶, 阳台, 讲台, 台词, 台球, 柜台, 站台, 天台, 登台, 台面

# --- places
place:taiwan_strait+region:taiwan_area | taiwan strait, strait of taiwan, formosa strait, taiwan straits |
    тайваньск* пролив* | 台湾海峡, 台海, 海峡中线
place:sea_of_japan+region:northeast_asia_seas | sea of japan, japan sea, east sea | японск* мор* | 日本海
place:sea_of_okhotsk+region:northeast_asia_seas | sea of okhotsk, okhotsk sea | охотск* мор* | 鄂霍次克海
place:east_china_sea+region:northeast_asia_seas | east china sea | восточно китайск* мор* | 东海
place:south_china_sea+region:south_china_sea | south china sea, spratly*, paracel*, scarborough shoal,
    second thomas shoal | южно китайск* мор* | 南海, 南沙, 西沙, 黄岩岛, 仁爱礁
place:yellow_sea+region:northeast_asia_seas | yellow sea | желт* мор* | 黄海
place:mediterranean+region:mediterranean | mediterranean | средиземн* | 地中海
place:baltic+region:baltic | baltic | балтийск*, балтик* | 波罗的海
place:black_sea+region:black_sea | black sea | черн* мор*, черноморск* | 黑海
place:arctic+region:arctic | arctic, northern sea route | арктик*, арктическ*, северн* морск* пут* | 北极
place:bering_sea+region:alaska | bering sea, bering strait | берингов* | 白令海
place:alaska+region:alaska | alaska*, aleutian* | аляск*, алеутск* | 阿拉斯加, 阿留申
place:pacific | pacific, western pacific | тихо* океан*, тихоокеанск* | 太平洋, 西太平洋
place:indian_ocean+region:indian_ocean | indian ocean, arabian sea, gulf of oman | индийск* океан*, аравийск* мор*,
    оманск* залив* | 印度洋, 阿拉伯海, 阿曼湾
place:persian_gulf+region:gulf | persian gulf, strait of hormuz | персидск* залив*, ормузск* | 波斯湾, 霍尔木兹
place:red_sea+region:gulf | red sea | красн* мор* | 红海
place:bashi_channel+region:taiwan_area | bashi channel, luzon strait | баши, лусонск* пролив* | 巴士海峡
place:miyako_strait+region:northeast_asia_seas | miyako strait | мияко | 宫古海峡
place:tsushima_strait+region:northeast_asia_seas | tsushima strait, korea strait | цусимск* пролив*,
    корейск* пролив* | 对马海峡
place:kinmen+region:taiwan_area | kinmen, quemoy | цзиньмэнь, кинмен* | 金门
place:matsu+region:taiwan_area | matsu islands, matsu | мацзу | 马祖
place:penghu+region:taiwan_area | penghu, pescadores | пэнху | 澎湖
place:pratas+region:taiwan_area | pratas | пратас | 东沙
place:vladivostok+region:northeast_asia_seas | vladivostok | владивосток* | 符拉迪沃斯托克, 海参崴
place:kamchatka+region:northeast_asia_seas | kamchatka | камчатк* | 堪察加
place:sakhalin+region:northeast_asia_seas | sakhalin | сахалин* | 萨哈林, 库页岛
place:kuril+region:northeast_asia_seas | kuril*, kurile* | курил* | 千岛群岛
place:hokkaido+region:northeast_asia_seas | hokkaido | хоккайдо | 北海道
place:okinawa+region:northeast_asia_seas | okinawa* | окинав* | 冲绳
place:guam | guam | гуам* | 关岛
place:hawaii | hawaii* | гавай* | 夏威夷
place:xinjiang | xinjiang, uyghur*, uighur* | синьцзян*, уйгур* | 新疆, 涉疆, 维吾尔
place:tibet | tibet* | тибет* | 西藏
place:crimea | crimea* | крым* | 克里米亚
place:kursk | kursk | курск* | 库尔斯克
place:donbas | donbas*, donbass, donetsk, luhansk | донбасс*, донецк*, луганск* | 顿巴斯, 顿涅茨克, 卢甘斯克
place:zhurihe | zhurihe | чжурихэ | 朱日和

# --- people (officials who make this news)
person:putin | putin, vladimir putin | путин* | 普京
person:xi_jinping | xi, xi jinping | си цзиньпин* | 习近平
person:shoigu | shoigu, sergei shoigu, sergey shoigu | шойгу | 绍伊古
person:belousov | belousov, andrei belousov | белоусов* | 别洛乌索夫
person:gerasimov | gerasimov | герасимов* | 格拉西莫夫
person:lavrov | lavrov | лавров* | 拉夫罗夫
person:medvedev | medvedev | медведев* | 梅德韦杰夫
person:peskov | peskov | песков* | 佩斯科夫
person:zakharova | zakharova | захаров* | 扎哈罗娃
person:mishustin | mishustin | мишустин* | 米舒斯京
person:patrushev | patrushev | патрушев* | 帕特鲁舍夫
person:wang_yi | wang yi | ван и | 王毅
person:li_shangfu | li shangfu | ли шанфу | 李尚福
person:dong_jun | dong jun | дун цзюнь | 董军
person:zhang_youxia | zhang youxia | чжан юся | 张又侠
person:wei_fenghe | wei fenghe | вэй фэнхэ | 魏凤和
person:li_qiang | li qiang | ли цян | 李强
person:he_lifeng | he lifeng | хэ лифэн | 何立峰
person:wang_wentao | wang wentao | ван вэньтао | 王文涛
person:lin_jian | lin jian | линь цзянь | 林剑
person:mao_ning | mao ning | мао нин | 毛宁
person:kim_jong_un | kim jong un | ким чен ын*, ким чен ир* | 金正恩
person:lai_ching_te | lai ching te, william lai, lai | лай циндэ, лай цинд* | 赖清德
person:tsai_ing_wen | tsai ing wen, tsai | цай инвэнь | 蔡英文
person:ma_ying_jeou | ma ying jeou | ма инцзю | 马英九
person:hsiao_bi_khim | hsiao bi khim | сяо мэйцинь | 萧美琴
person:ko_wen_je | ko wen je | кэ вэньчжэ | 柯文哲
person:hou_yu_ih | hou yu ih | хоу юи | 侯友宜
person:wellington_koo | wellington koo | гу личжун | 顾立雄
person:biden | biden, joe biden | байден* | 拜登
person:trump | trump, donald trump | трамп* | 特朗普, 川普
person:obama | obama, barack obama | обам* | 奥巴马
person:harris | kamala harris | камал* харрис | 哈里斯
person:blinken | blinken | блинкен* | 布林肯
person:rubio | rubio | рубио | 鲁比奥
person:yellen | yellen | йеллен | 耶伦
person:bessent | bessent | бессент* | 贝森特
person:lloyd_austin | lloyd austin | остин* | 奥斯汀
person:hegseth | hegseth | хегсет* | 赫格塞思
person:raimondo | raimondo | раймондо | 雷蒙多
person:lutnick | lutnick | латник* | 卢特尼克
person:pelosi | pelosi | пелоси | 佩洛西
person:mccarthy | mccarthy | маккарти | 麦卡锡
person:zelensky | zelensky*, zelenskyy | зеленск* | 泽连斯基
person:lukashenko | lukashenko | лукашенк* | 卢卡申科
person:modi | modi | моди | 莫迪
person:erdogan | erdogan | эрдоган* | 埃尔多安
person:kishida | kishida | кисид* | 岸田
person:ishiba | ishiba | исиб* | 石破
person:takaichi | takaichi | такаити | 高市早苗
person:von_der_leyen | von der leyen | фон дер ляйен | 冯德莱恩
person:kallas | kaja kallas, kallas | каллас | 卡拉斯
person:borrell | borrell | боррел* | 博雷利
person:macron | macron | макрон* | 马克龙
person:scholz | scholz | шольц* | 朔尔茨
person:merz | merz | мерц* | 默茨
person:starmer | starmer | стармер* | 斯塔默
person:albanese | albanese | альбанез* | 阿尔巴尼斯
person:marcos | marcos | маркос* | 马科斯
person:guterres | guterres | гутерриш* | 古特雷斯
person:navalny | navalny | навальн* | 纳瓦尔尼
person:prigozhin | prigozhin | пригожин* | 普里戈任
person:jimmy_lai | jimmy lai | джимми лай | 黎智英

# --- forces, ministries and agencies
force:pla+country:china | pla, people s liberation army, =PLAN | ноак, народно освободительн* арми* | 解放军,
    人民解放军
force:eastern_theater+country:china | eastern theater command, eastern theatre command | восточн* театр* | 东部战区
force:northern_theater+country:china | northern theater command, northern theatre command | северн* театр* |
    北部战区
force:seventh_fleet+country:us | seventh fleet, 7th fleet | седьм* флот* | 第七舰队
force:pacific_fleet+country:russia | pacific fleet | тихоокеанск* флот* | 太平洋舰队
force:northern_fleet+country:russia | northern fleet | северн* флот* | 北方舰队
force:coast_guard | coast guard*, coastguard* | берегов* охран* | 海警, 海岸警卫队
force:aerospace_forces | aerospace forces | вкс, воздушно космическ* сил* | 空天军
force:wagner | wagner | вагнер* | 瓦格纳
force:rosgvardia+country:russia | rosgvardia, national guard | росгварди* | 国民近卫军
force:pap+country:china | people s armed police | народн* вооруженн* полици* | 武警
org:defense_ministry | defense ministry, defence ministry, ministry of defense, ministry of defence,
    ministry of national defense, mnd, pentagon | минобороны, министерств* обороны, пентагон* | 国防部, 五角大楼
org:foreign_ministry | foreign ministry, ministry of foreign affairs, foreign affairs ministry, mfa | мид,
    министерств* иностранных дел | 外交部
org:us_treasury+country:us | treasury, treasury department, department of the treasury, ofac,
    office of foreign assets control | минфин* сша, министерств* финансов сша, казначейств* сша, ofac | 美国财政部,
    美财政部, 财政部海外资产控制办公室, 海外资产控制办公室
org:us_commerce+country:us | commerce department, department of commerce, =BIS, bureau of industry and security |
    министерств* торговли сша, минторг* сша | 美国商务部, 美商务部, 工业与安全局
org:mofcom+country:china | mofcom, ministry of commerce, commerce ministry | минкоммерции, министерств* коммерции |
    商务部
org:state_department+country:us | state department, department of state | госдеп*, государственн* департамент* |
    美国国务院, 美国务院
org:tao+country:china | taiwan affairs office, =TAO | канцеляри* по делам тайваня | 国台办, 国务院台湾事务办公室,
    台办
org:mac+country:taiwan | mainland affairs council | совет* по делам материкового китая | 陆委会, 大陆委员会
org:security_council_ru+country:russia | security council of russia, russian security council | совбез* рф,
    совбез* россии, совет* безопасности рф, совет* безопасности россии, совбез* | 俄罗斯联邦安全会议, 俄联邦安全会议
    , 联邦安全会议
org:cmc+country:china | central military commission | центральн* военн* совет* | 中央军委, 军委
org:tariff_commission+country:china | customs tariff commission, tariff commission | таможенно тарифн* комисси* |
    关税税则委员会
org:kmt+country:taiwan | kmt, kuomintang | гоминьдан* | 国民党
org:dpp+country:taiwan | dpp, democratic progressive party | дпп, демократическ* прогрессивн* парти* | 民进党
org:tpp+country:taiwan | taiwan people s party | народн* парти* тайваня | 民众党
org:legislative_yuan+country:taiwan | legislative yuan | законодательн* юан* | 立法院
org:moscow_exchange+country:russia | moscow exchange, moex, moscow stock exchange | московск* бирж*, мосбирж* |
    莫斯科交易所
org:spfs_cips | spfs, cips, =SWIFT | swift, спфс | 环球银行金融电信协会, 人民币跨境支付系统

# --- weapons and platforms
weapon:tu95 | tu 95*, tu95* | ту 95*, ту95* | 图 95, 图95
weapon:tu160 | tu 160*, tu160* | ту 160*, ту160* | 图 160, 图160
weapon:tu22m | tu 22m*, tu22m* | ту 22м*, ту22м* | 图 22, 图22
weapon:h6 | h 6, h 6k, h 6n, h 6j, h6k, h6n | н 6, н 6к, н 6н, h 6к, h 6н | 轰 6, 轰6, 轰-6
weapon:su35 | su 35*, su35* | су 35*, су35* | 苏 35, 苏35
weapon:su57 | su 57*, su57* | су 57*, су57* | 苏 57, 苏57
weapon:j20 | j 20, j20 | j 20, дж 20 | 歼 20, 歼20
weapon:s400 | s 400, s400 | с 400, с400 | s 400, s400
weapon:s500 | s 500 | с 500 | s 500
weapon:f16 | f 16*, f16* | f 16, ф 16 | f 16, f16
weapon:f35 | f 35*, f35* | f 35, ф 35 | f 35, f35
weapon:himars | himars | himars, хаймарс* | 海马斯, 海马斯火箭
weapon:atacms | atacms | atacms | 陆军战术导弹
weapon:harpoon | harpoon* | гарпун* | 鱼叉
weapon:nasams | nasams | nasams | 国家先进地对空导弹系统
weapon:patriot | patriot, patriots, patriot missile* | пэтриот*, patriot | 爱国者
weapon:abrams | abrams | абрамс* | 艾布拉姆斯
weapon:stinger | stinger* | стингер* | 毒刺
weapon:javelin | javelin* | джавелин* | 标枪
weapon:mq9 | mq 9*, reaper drone* | mq 9, рипер | mq 9, 死神无人机
weapon:shahed | shahed*, geran* | шахед*, герань* | 见证者
weapon:oreshnik | oreshnik | орешник* | 榛树
weapon:kinzhal | kinzhal | кинжал* | 匕首
weapon:iskander | iskander* | искандер* | 伊斯坎德尔
weapon:sarmat | sarmat | сармат* | 萨尔马特
weapon:df41 | df 41, dongfeng 41 | дунфэн 41 | 东风 41, 东风41
weapon:liaoning | liaoning | ляонин* | 辽宁舰
weapon:shandong | shandong carrier, carrier shandong | шаньдун* | 山东舰
weapon:fujian | fujian carrier, carrier fujian | фуцзянь* | 福建舰
weapon:garpiya | garpiya | гарпия* | 加尔皮亚

# --- companies
company:pvh | pvh, calvin klein, tommy hilfiger | pvh, кельвин кляйн, томми хилфигер | pvh, 卡尔文克莱恩,
    汤米希尔费格
company:illumina | illumina | illumina, иллюмина | 因美纳
company:google | google | google, гугл* | 谷歌
company:huawei | huawei | huawei, хуавэй | 华为
company:smic | smic, semiconductor manufacturing international | smic | 中芯国际
company:zte | zte | zte | 中兴
company:hikvision | hikvision | hikvision | 海康威视
company:dji | dji | dji | 大疆
company:skydio | skydio | skydio | skydio
company:lockheed | lockheed*, lockheed martin | локхид* | 洛克希德, 洛马
company:raytheon | raytheon, rtx | рейтеон*, raytheon | 雷神
company:boeing | boeing | боинг* | 波音
company:general_dynamics | general dynamics | дженерал дайнэмикс | 通用动力
company:northrop | northrop* | нортроп* | 诺斯罗普
company:anduril | anduril | anduril | 安杜里尔
company:tsmc | tsmc, taiwan semiconductor | tsmc | 台积电
company:nvidia | nvidia | nvidia, нвидиа | 英伟达
company:micron | micron | micron | 美光
company:asml | asml | asml | 阿斯麦
company:rosneft | rosneft | роснефт* | 俄罗斯石油公司
company:lukoil | lukoil | лукойл* | 卢克石油
company:gazprom | gazprom* | газпром* | 俄气, 俄罗斯天然气工业
company:novatek | novatek, arctic lng* | новатэк*, арктик спг* | 诺瓦泰克, 北极液化天然气
company:sovcomflot | sovcomflot | совкомфлот* | 现代商船
company:sberbank | sberbank | сбербанк*, сбер | 俄储蓄银行
company:vtb | vtb | втб | 俄外贸银行
company:rosatom | rosatom | росатом* | 俄罗斯国家原子能公司
company:rostec | rostec | ростех* | 俄罗斯技术国家集团
company:rosoboronexport | rosoboronexport | рособоронэкспорт* | 俄罗斯国防出口公司
company:sinopec | sinopec | sinopec | 中石化
company:cnpc | cnpc, petrochina | cnpc | 中石油
company:cnooc | cnooc | cnooc | 中海油
company:cosco | cosco | cosco | 中远
company:norinco | norinco | norinco | 北方工业
company:avic | avic | avic | 中航工业
company:bytedance | bytedance, tiktok | bytedance, tiktok | 字节跳动
company:icbc | icbc | icbc | 工商银行
company:bank_of_china | bank of china | bank of china | 中国银行
company:ccb | china construction bank | china construction bank | 建设银行
company:abc | agricultural bank of china | agricultural bank of china | 农业银行
company:bocom | bank of communications | bank of communications | 交通银行
company:cmb | china merchants bank | china merchants bank | 招商银行
company:surgutneftegas | surgutneftegas | сургутнефтегаз* | 苏尔古特石油天然气
company:gazprombank | gazprombank | газпромбанк* | 俄气银行

# --- programmes: named exercises, lists, agreements
programme:joint_sea | joint sea*, sea cooperation | морск* взаимодейств* | 海上联合
programme:northern_interaction | northern interaction, north interaction | север* взаимодейств* | 北部联合,
    北部·联合
programme:maritime_security_belt | maritime security belt | морск* пояс* безопасност* | 海上安全带
programme:vostok | vostok | восток 20*, восток2* | 东方20
programme:joint_sword | joint sword* | объединенн* меч* | 联合利剑
programme:strait_thunder | strait thunder* | гром* в пролив* | 海峡雷霆
programme:han_kuang | han kuang | ханьгуан* | 汉光
programme:justice_mission | justice mission* | справедлив* мисси* | 正义使命
programme:peace_mission | peace mission* | мирн* мисси* | 和平使命
programme:ocean | ocean 20*, okean 20* | океан 20* | 海洋 20
programme:tsentr | tsentr*, center 20* | центр 20* | 中部 20
programme:zapad | zapad* | запад 20* | 西部 20
programme:ecfa | ecfa, economic cooperation framework agreement | ecfa,
    рамочн* соглашени* об экономическ* сотрудничеств* | ecfa, 海峡两岸经济合作框架协议, 两岸经济合作框架协议
programme:power_of_siberia | power of siberia | сил* сибири | 西伯利亚力量
programme:nord_stream | nord stream | северн* поток* | 北溪
programme:unreliable_entity_list+act:blacklist | unreliable entit* | ненадежн* организац*, ненадежн* субъект*,
    список* ненадежн* | 不可靠实体清单, 不可靠实体
programme:entity_list+act:blacklist | entity list, export blacklist*, trade blacklist*, us blacklist* |
    список* организаций, entity list | 实体清单
programme:sdn_list+act:blacklist | sdn, specially designated nationals | sdn | 特别指定国民
programme:price_cap | price cap* | потол* цен* | 价格上限, 限价
programme:shadow_fleet | shadow fleet*, dark fleet*, ghost fleet* | тенев* флот* | 影子船队, 影子舰队
programme:one_china | one china | одного китая, един* китай* | 一个中国, 一中
programme:adiz | adiz, air defense identification zone, air defence identification zone | ПВО зон*,
    опознавательн* зон* | 防空识别区
programme:median_line | median line | средин* лини* | 中线

# --- export-controlled materials (which one tells two control decisions apart)
material:gallium | gallium | галли* | 镓
material:germanium | germanium | германий, германия металл* | 锗
material:antimony | antimony | сурьм* | 锑
material:graphite | graphite | графит* | 石墨
material:rare_earths | rare earth*, rare earth elements, rare metals | редкоземельн* | 稀土
material:tungsten | tungsten | вольфрам* | 钨
material:lithium | lithium | лити* | 锂

# --- what happened (the event's type)
act:sanction | sanction*, restrictive measures | санкци*, санкционн*, ограничительн* мер* | 制裁, 反制
act:secondary_sanctions | secondary sanction*, secondary tariff* | вторичн* санкци* | 二级制裁, 次级制裁
act:export_control | export control*, export ban*, export restriction*, export curb* | экспортн* контрол*,
    запрет* на экспорт*, ограничени* экспорт* | 出口管制, 出口禁令, 禁止出口
act:blacklist | blacklist*, black list | черн* списк*, черн* список* | 黑名单
act:entry_ban | entry ban*, ban* entry, banned entry, denied entry, deny entry, from entering, denied admission,
    stop list*, travel ban* | запрет* въезд*, закры* въезд*, стоп лист* | 禁止入境, 入境禁令
act:drill | drill*, exercise*, war game*, wargame*, manoeuv*, maneuv* | учени*, маневр* | 演习, 军演, 演练, 联演,
    演训, 操演
act:live_fire | live fire | боев* стрельб* | 实弹
act:patrol | patrol* | патрул* | 巡航, 巡逻
act:transit | transit*, sail* through, sailed through, passage | транзит*, прош* через, проплы* | 航经, 穿越, 通过
act:anti_missile | anti missile, missile defense, missile defence, anti ballistic | противоракетн* | 反导
act:air_defense | air defense, air defence | пво, противовоздушн* | 防空
act:arms_sale | arms sale*, arms package*, weapons sale*, arms deal*, weapons package*, arms transfer* |
    продаж* оружи*, постав* оружи*, продаж* вооружени* | 军售, 对台军售
act:tariff_concession | tariff concession*, tariff cut*, tariff reduction*, preferential tariff*, tariff preference*
    , preferential tax rate*, preferential rate* | тарифн* льгот*, льготн* пошлин* | 关税减让, 关税优惠, 协定税率,
    优惠关税
act:tariff | tariff* | пошлин*, тариф* | 关税, 加征
act:suspend | suspend*, suspension, cancel*, halt*, terminat* | приостанов*, отмен* | 中止, 暂停, 终止
act:investigation | investigat*, probe*, inquiry | расследовани*, расследу*, проверк* | 调查
act:meeting | meet*, met, talks | встрети*, встреч*, переговор* | 会见, 会晤, 会谈, 见面
act:consultation | consultation*, strategic security | консультаци*, стратегическ* безопасност* | 磋商, 战略安全
act:visit | visit*, trip | визит*, посети*, посещ* | 访问, 访华, 访台, 到访, 出访
act:warship | warship*, destroyer*, frigate*, cruiser*, corvette*, naval vessel*, naval ship*, navy ship*, vessel*
    | корабл*, эсмин*, фрегат*, крейсер*, корвет* | 军舰, 舰艇, 驱逐舰, 护卫舰, 巡洋舰, 舰
act:naval | navy, naval, navies, fleet*, maritime, sea | флот*, вмф, военно морск*, морск* | 海军, 海上
act:bomber | bomber* | бомбардировщик*, бомбардировочн* | 轰炸机
act:aircraft | aircraft, warplane*, fighter jet*, fighter*, jets, air force* | самолет*, истребител*, авиаци*, ввс
    | 军机, 战机, 战斗机, 飞机, 空军
act:drone | drone*, uav*, unmanned | беспилотник*, дрон*, бпла | 无人机
act:missile | missile*, ballistic | ракет*, баллистическ* | 导弹, 飞弹
act:submarine | submarine* | подводн* лодк*, подлодк* | 潜艇
act:chip | chip*, semiconductor*, microelectronic* | чип*, микросхем*, полупроводник*, микроэлектрон* | 芯片, 半导体
act:oil | oil, crude, tanker* | нефт*, танкер* | 石油, 原油, 油轮
act:bank | bank*, financial institution*, lender* | банк* | 银行, 金融机构
act:defense_minister | defense minister*, defence minister*, minister of defense, minister of defence,
    minister of national defense, defense chief*, defence chief* | министр* обороны, глав* минобороны | 国防部长,
    防长
act:foreign_minister | foreign minister*, top diplomat, minister of foreign affairs | министр* иностранных дел,
    глав* мид | 外交部长, 外长
act:election | election*, vote, voting, ballot*, poll* | выбор*, голосовани* | 选举, 大选, 投票
act:recall | recall* | отзыв* | 罢免
act:recognition | recogni*, diplomatic ties, diplomatic relations, switch* ties, sever* ties, cut* ties | признани*
    , дипломатическ* отношени* | 断交, 建交, 邦交
act:cable | cable* | кабел* | 海缆, 电缆
act:blockade | blockade* | блокад* | 封锁
act:invasion | invasion, invade* | вторжени* | 入侵, 武统
act:espionage | espionage, spy, spies, spying | шпион* | 间谍
act:balloon | balloon* | аэростат*, воздушн* шар* | 气球
act:threat | warn*, threat*, threaten* | предупред*, пригроз*, угрож* | 警告, 威胁, 恫吓
act:start | begin*, began, start*, launch*, kick* off | начал, начала, начали, начало, начались, начался, начнут,
    начнет*, начина*, стартова*, приступ* | 开始, 启动, 拉开
act:end | end, ends, ended, conclude*, wrap* up, finish* | заверши*, законч*, окончани* | 结束, 落幕
"""

# How much sharing an id of each kind says about two reports sharing one event.
WEIGHTS = {
    "country": 1.5, "place": 2.5, "region": 0.5, "person": 3.0, "org": 1.5, "force": 1.5, "weapon": 2.5,
    "company": 3.0, "programme": 3.0, "ship": 3.0, "material": 2.5, "act": 1.0,
    "M": 3.0, "N": 2.0, "O": 2.0, "Y": 1.5, "D": 1.5,
}
# The actors nearly every report in this domain names: sharing them says little.
COMMON = frozenset({"country:russia", "country:china", "country:taiwan", "country:us"})
COMMON_WEIGHT = 0.5
# Acts that only set the scene, and acts specific enough to name an event's kind.
GENERIC_ACTS = frozenset({"act:start", "act:end", "act:naval", "act:meeting", "act:visit", "act:aircraft"})
GENERIC_WEIGHT = 0.6
SPECIFIC_ACTS = frozenset({
    "act:entry_ban", "act:tariff_concession", "act:anti_missile", "act:arms_sale", "act:secondary_sanctions",
    "act:export_control", "act:live_fire", "act:recall", "act:blockade", "act:cable", "act:balloon",
    "act:espionage", "act:recognition", "act:transit", "act:patrol", "act:bomber", "act:consultation",
    "act:air_defense", "act:submarine", "act:investigation", "act:election", "act:blacklist",
})
SPECIFIC_WEIGHT = 2.0


# What was done: two headlines that each name a deed the other report never mentions
# report different events (a visit and the sanctions over it). Platforms, roles and
# scene-setting words (warship, defence minister, start) are not deeds.
EVENT_ACTS = frozenset({
    "act:sanction", "act:secondary_sanctions", "act:export_control", "act:blacklist", "act:entry_ban",
    "act:drill", "act:live_fire", "act:patrol", "act:transit", "act:arms_sale", "act:tariff_concession",
    "act:suspend", "act:investigation", "act:consultation", "act:election", "act:recall", "act:recognition",
    "act:blockade", "act:invasion", "act:espionage", "act:threat", "act:tariff",
})


# Deeds of one family ("bans entry" and "blacklists" for one stop list) agree.
ACT_FAMILY = {
    "act:sanction": "measure", "act:secondary_sanctions": "measure", "act:blacklist": "measure",
    "act:entry_ban": "measure", "act:export_control": "measure",
}


def weight_of(entity: str) -> float:
    if entity in COMMON:
        return COMMON_WEIGHT
    if entity in GENERIC_ACTS:
        return GENERIC_WEIGHT
    if entity in SPECIFIC_ACTS:
        return SPECIFIC_WEIGHT
    return WEIGHTS.get(entity.split(":", 1)[0], 1.0)


def kind_of(term: str) -> str:
    """The kind of an id ("person" of "person:shoigu"); "" for a surface term."""
    kind, colon, _ = term.partition(":")
    return kind if colon else ""


# ---------------------------------------------------------------- compiled patterns

# Words of Latin and Cyrillic text; Chinese characters end a word ("PVH集团" holds "PVH").
_WORDS = re.compile(f"[^\\W_{CJK}]+", re.UNICODE)
_CJK_CHAR = re.compile(f"[{CJK}]")
_DASHES = str.maketrans({c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\uff0d"})


@dataclasses.dataclass(frozen=True, slots=True)
class _WordPattern:
    entities: tuple[str, ...]
    words: tuple[str, ...]
    prefix: tuple[bool, ...]  # the word is a prefix ("санкци*")
    cased: bool  # compared with the text's own case ("=US" is not "us")


_Compiled = tuple[dict[str, list[_WordPattern]], dict[str, list[_WordPattern]],
                  dict[str, list[tuple[str, tuple[str, ...]]]]]


def _compile(table: str) -> _Compiled:
    exact: dict[str, list[_WordPattern]] = {}
    by_prefix: dict[str, list[_WordPattern]] = {}
    cjk: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
    entries: list[str] = []
    for line in table.splitlines():
        if line.startswith(" ") and entries:
            entries[-1] += " " + line.strip()
        elif line.strip() and not line.startswith("#"):
            entries.append(line.strip())
    for line in entries:
        key, *columns = (part.strip() for part in line.split("|"))
        # "skip:" forms only stop shorter forms from matching inside them.
        entities = () if key.startswith("skip:") else tuple(key.split("+"))
        for column in columns:
            for form in (f.strip() for f in column.split(",")):
                if not form:
                    continue
                cased = form.startswith("=")
                folded = fold(form.removeprefix("=")).translate(_DASHES)
                if not cased:
                    folded = folded.lower()
                if _CJK_CHAR.match(folded):
                    # "图 95" also reads "图-95" and "图95".
                    for variant in dict.fromkeys((folded, folded.replace(" ", "-"), folded.replace(" ", ""))):
                        cjk.setdefault(variant[0], []).append((variant, entities))
                    continue
                words = tuple(w for w in re.split(r"[^\w*]+", folded) if w)
                pattern = _WordPattern(entities, tuple(w.rstrip("*") for w in words),
                                       tuple(w.endswith("*") for w in words), cased)
                first = pattern.words[0].lower()
                if pattern.prefix[0]:
                    by_prefix.setdefault(first[:3], []).append(pattern)
                else:
                    exact.setdefault(first, []).append(pattern)
    for forms in cjk.values():
        forms.sort(key=lambda f: -len(f[0]))  # longest first
    return exact, by_prefix, cjk


@functools.cache
def _tables() -> _Compiled:
    # Compiled on first use, not at import: a fetch batch with no on-topic item never
    # clusters, and the functions that never cluster import this module through others.
    return _compile(_TABLE)


@dataclasses.dataclass(frozen=True, slots=True)
class Mention:
    """Ids found in a text (one form may name two: 中俄), with the span it covers."""

    entities: tuple[str, ...]
    start: int
    end: int


def _word_matches(pattern: _WordPattern, lower: list[str], cased: list[str], i: int) -> bool:
    if i + len(pattern.words) > len(lower):
        return False
    words = cased if pattern.cased else lower
    for k, (w, is_prefix) in enumerate(zip(pattern.words, pattern.prefix, strict=True)):
        token = words[i + k]
        if not (token.startswith(w) if is_prefix else token == w):
            return False
    return True


# Named ships: "USS Higgins", "HMCS Vancouver", 驱逐舰「希金斯号」, фрегат «Адмирал Трибуц». Their
# names are transliterated differently in each language, so they compare within one.
_SHIP_EN = re.compile(
    r"\b(?:USS|HMS|HMCS|HMAS|HMNZS|FS|JS|INS|ROKS|ITS|HNLMS|FGS|BRP|RSS|KRI)\s+"
    r"([A-Z][\w'-]+(?:\s+[A-Z][\w'-]+)?)")
_SHIP_ZH = re.compile(r"[舰艇]\s*[「“\"『]?([\u4e00-\u9fff·]{2,6}?)号")
_SHIP_RU = re.compile(r"(?:эсмин\w*|фрегат\w*|корвет\w*|крейсер\w*|корабл\w*|судн\w*|танкер\w*)\s+«([^»]{2,30})»",
                      re.I)


def ship_mentions(text: str) -> list[Mention]:
    """Named ships in folded text, as `ship:<name>` ids."""
    found = []
    for pattern in (_SHIP_EN, _SHIP_ZH, _SHIP_RU):
        for m in pattern.finditer(text):
            name = "_".join(m.group(1).lower().split())
            # "USS" goes with the name; "驱逐舰" and "фрегат" are words of their own.
            start = m.start() if pattern is _SHIP_EN else m.start(1)
            found.append(Mention((f"ship:{name}",), start, m.end(1)))
    return found


def entity_mentions(text: str) -> list[Mention]:
    """Alias-table ids and named ships in `text`, longest form first, no overlaps, in text order."""
    exact_forms, prefix_forms, cjk_forms = _tables()
    text = fold(text).translate(_DASHES)
    found: list[Mention] = ship_mentions(text)
    shipped = {i for m in found for i in range(m.start, m.end)}
    # Words (Latin, Cyrillic, digits): each position tries the patterns its word starts.
    spans = [(m.group(), m.start(), m.end()) for m in _WORDS.finditer(text) if m.start() not in shipped]
    cased = [w for w, _, _ in spans]
    lower = [w.lower() for w in cased]
    i = 0
    while i < len(lower):
        word = lower[i]
        best: _WordPattern | None = None
        for pattern in (*exact_forms.get(word, ()), *prefix_forms.get(word[:3], ())):
            if (best is None or len(pattern.words) > len(best.words)) and _word_matches(pattern, lower, cased, i):
                best = pattern
        if best is None:
            i += 1
            continue
        end = i + len(best.words) - 1
        if best.entities:
            found.append(Mention(best.entities, spans[i][1], spans[end][2]))
        i = end + 1
    # Chinese: character strings, longest first at each position.
    lowered = text.lower() if not text.isascii() else ""
    j = 0
    while j < len(lowered):
        forms = cjk_forms.get(lowered[j]) if j not in shipped else None
        hit = next(((f, e) for f, e in forms if lowered.startswith(f, j)), None) if forms else None
        if hit is None:
            j += 1
            continue
        if hit[1]:
            found.append(Mention(hit[1], j, j + len(hit[0])))
        j += len(hit[0])
    found.sort(key=lambda m: m.start)
    return found


# ---------------------------------------------------------------- figures

_SCALE_EN = {
    "k": 1e3, "thousand": 1e3, "m": 1e6, "mn": 1e6, "mln": 1e6, "million": 1e6, "millions": 1e6,
    "b": 1e9, "bn": 1e9, "bln": 1e9, "billion": 1e9, "billions": 1e9, "t": 1e12, "tn": 1e12, "trillion": 1e12,
    "млн": 1e6, "млрд": 1e9, "трлн": 1e12,
}
_SCALE_RU = {"тыс": 1e3, "млн": 1e6, "миллион": 1e6, "млрд": 1e9, "миллиард": 1e9, "трлн": 1e12, "триллион": 1e12}
_SCALE_ZH = {"万": 1e4, "亿": 1e8, "万亿": 1e12, "千": 1e3, "百万": 1e6}
_NUM = r"\d+(?:[.,]\d+)?"
_CURRENCY_EN = r"(?:us\s*)?(?:\$|usd|€|eur|£|¥|rmb|yuan)"
_MONEY_EN_BEFORE = re.compile(
    rf"{_CURRENCY_EN}\s?({_NUM})\s*(trillion|billion|million|thousand|bn|mn|mln|bln|tn|k|m|b|t|млрд|млн|трлн)?\b",
    re.I)
# "2 billion dollars", and "2bn" / "2 billion" without a currency (dollars, in this news).
_MONEY_EN_AFTER = re.compile(rf"(?<![\w.,])({_NUM})\s*(trillion|billion|million|bn|mn|mln|bln|tn)\b", re.I)
_MONEY_RU = re.compile(
    rf"({_NUM})\s*(трлн|триллион\w*|млрд|миллиард\w*|млн|миллион\w*|тыс)\.?\s*"
    r"(?:долл\w*|\$|евро|руб\w*|юан\w*)", re.I)
_MONEY_ZH = re.compile(
    r"(\d+(?:\.\d+)?|[零〇一二两三四五六七八九十百千]+)\s*(万亿|亿|万)\s*(?:美元|欧元|元|人民币|卢布|美金)")
_ORDINAL_EN = re.compile(r"\b(\d+)(?:st|nd|rd|th)\b", re.I)
_ORDINAL_RU = re.compile(r"\b(\d+)-?(?:й|я|е|го|м|ой|ый|ий|ая|ое|ого|ом)\b", re.I)
_ORDINAL_ZH = re.compile(r"第\s*(\d+|[零〇一二两三四五六七八九十百]+)")
_ORDINAL_WORDS_EN = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
    "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13, "fourteenth": 14,
    "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18, "nineteenth": 19, "twentieth": 20,
}
_ORDINAL_STEMS_RU = (
    ("перв", 1), ("втор", 2), ("трет", 3), ("четверт", 4), ("пят", 5), ("шест", 6), ("седьм", 7),
    ("восьм", 8), ("девят", 9), ("десят", 10), ("одиннадцат", 11), ("двенадцат", 12), ("тринадцат", 13),
    ("четырнадцат", 14), ("пятнадцат", 15), ("шестнадцат", 16), ("семнадцат", 17), ("восемнадцат", 18),
    ("девятнадцат", 19), ("двадцат", 20),
)
_ORDINAL_WORD_RU = re.compile(
    r"\b(перв|втор|трет|четверт|пят|шест|седьм|восьм|девят|десят|одиннадцат|двенадцат|тринадцат|четырнадцат"
    r"|пятнадцат|шестнадцат|семнадцат|восемнадцат|девятнадцат|двадцат)"
    r"(ый|ой|ий|ая|ое|ье|ья|ьи|ые|ого|ому|ым|ом|ую|ых|ыми|ей|ьего|ьей|ьему|ьим|ьих|ью|ьем)\b", re.I)
_MONTH_NAMES = (
    r"jan|january|feb|february|mar|march|apr|april|may|jun|june|jul|july|aug|august|sep|sept|september|oct|october"
    r"|nov|november|dec|december|январ\w*|феврал\w*|март\w*|апрел\w*|ма[йя]|июн\w*|июл\w*|август\w*"
    r"|сентябр\w*|октябр\w*|ноябр\w*|декабр\w*"
)
_MONTH_KEYS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
               "янв", "фев", "мар", "апр", "ма", "июн", "июл", "авг", "сен", "окт", "ноя", "дек")
_DATE_MONTH_DAY = re.compile(rf"\b({_MONTH_NAMES})\.?\s+(\d{{1,2}})\b", re.I)
_DATE_DAY_MONTH = re.compile(rf"\b(\d{{1,2}})\s+({_MONTH_NAMES})\b", re.I)
_DATE_ZH = re.compile(r"(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]")
_DAY_ZH = re.compile(r"\(?(\d{1,2})\)?\s*[日号]")


def _month(name: str) -> int:
    name = name.lower()
    for n, key in enumerate(_MONTH_KEYS):
        if name.startswith(key):
            return n % 12 + 1
    return 0


_YEAR = re.compile(r"(?<![\d.,])((?:19|20)\d\d)(?!\d|[.,]\d)")
# Latin and Cyrillic letters glue to a number ("Tu95", "G7"); Chinese characters do not ("对500名").
_LETTER = r"0-9A-Za-z\u00c0-\u024f\u0400-\u04ff"
_PLAIN_NUMBER = re.compile(rf"(?<![{_LETTER}.,])(\d{{1,3}}(?:,\d{{3}})+|\d+(?:\.\d+)?)(?![{_LETTER},]|\.\d)")
_CN_DIGITS = dict(zip("零〇一二两三四五六七八九", (0, 0, 1, 2, 2, 3, 4, 5, 6, 7, 8, 9), strict=True))
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}


def chinese_number(text: str) -> int | None:
    """`十五` -> 15, `二十` -> 20, `一百零三` -> 103; digits pass through; None if not a number."""
    if text.isdigit():
        return int(text)
    total, digit = 0, None
    for ch in text:
        if ch in _CN_DIGITS:
            digit = _CN_DIGITS[ch]
        elif ch in _CN_UNITS:
            total += (1 if digit is None else digit) * _CN_UNITS[ch]
            digit = None
        else:
            return None
    return total + (digit or 0)


def _value(number: str) -> float:
    return float(number.replace(",", "") if number.count(",") != 1 or len(number.split(",")[1]) == 3
                 else number.replace(",", "."))


def _figure(value: float) -> str:
    return f"M:{value:.2g}"


@dataclasses.dataclass(frozen=True, slots=True)
class Figures:
    ids: tuple[str, ...]  # M:/N:/O:/Y:/D: ids in text order; "" for a figure that is no id (a day alone)
    spans: tuple[tuple[int, int], ...]  # text they cover


def figures(text: str) -> Figures:
    """Amounts, counts, ordinals and years in `text`, as canonical ids."""
    text = fold(text).translate(_DASHES)
    lower = text.lower()
    ids: list[str] = []
    spans: list[tuple[int, int]] = []
    taken = bytearray(len(text))

    def add(ident: str, start: int, end: int) -> None:
        if any(taken[start:end]):
            return
        taken[start:end] = b"\x01" * (end - start)
        ids.append(ident)
        spans.append((start, end))

    for m in _MONEY_EN_BEFORE.finditer(lower):
        scale = _SCALE_EN.get((m.group(2) or "").lower(), 1.0)
        add(_figure(_value(m.group(1)) * scale), m.start(), m.end())
    for m in _MONEY_EN_AFTER.finditer(lower):
        add(_figure(_value(m.group(1)) * _SCALE_EN[m.group(2).lower()]), m.start(), m.end())
    for m in _MONEY_RU.finditer(lower):
        unit = next(v for k, v in _SCALE_RU.items() if m.group(2).startswith(k))
        add(_figure(_value(m.group(1)) * unit), m.start(), m.end())
    for m in _MONEY_ZH.finditer(text):
        number = float(m.group(1)) if m.group(1)[0].isdigit() else chinese_number(m.group(1))
        if number is not None:
            add(_figure(number * _SCALE_ZH[m.group(2)]), m.start(), m.end())
    # Dates ("June 12", "12 июня", "6月12日") are neither counts nor ordinals; a day alone is no id.
    for m in _DATE_MONTH_DAY.finditer(lower):
        add(f"D:{_month(m.group(1))}-{int(m.group(2))}", m.start(), m.end())
    for m in _DATE_DAY_MONTH.finditer(lower):
        add(f"D:{_month(m.group(2))}-{int(m.group(1))}", m.start(), m.end())
    for m in _DATE_ZH.finditer(text):
        add(f"D:{int(m.group(1))}-{int(m.group(2))}", m.start(), m.end())
    for m in _DAY_ZH.finditer(text):
        add("", m.start(), m.end())
    for m in _ORDINAL_EN.finditer(lower):
        add(f"O:{int(m.group(1))}", m.start(), m.end())
    for m in _ORDINAL_ZH.finditer(text):
        number = chinese_number(m.group(1))
        if number is not None:
            add(f"O:{number}", m.start(), m.end())
    for m in _ORDINAL_RU.finditer(lower):
        if not _YEAR.fullmatch(m.group(1)):
            add(f"O:{int(m.group(1))}", m.start(), m.end())
    for m in _ORDINAL_WORD_RU.finditer(lower):
        add(f"O:{dict(_ORDINAL_STEMS_RU)[m.group(1)]}", m.start(), m.end())
    for m in re.finditer(r"\b[a-z]+\b", lower):
        word = m.group()
        if word in _ORDINAL_WORDS_EN:
            add(f"O:{_ORDINAL_WORDS_EN[word]}", m.start(), m.end())
    for m in _YEAR.finditer(lower):
        add(f"Y:{m.group(1)}", m.start(), m.end())
    for m in _PLAIN_NUMBER.finditer(lower):
        value = _value(m.group(1))
        if value >= 2:  # "1" is mostly "one of", not a figure
            add(f"N:{value:g}", m.start(), m.end())
    order = sorted(range(len(ids)), key=lambda k: spans[k][0])
    return Figures(tuple(ids[k] for k in order), tuple(spans[k] for k in order))


def mentions(text: str) -> tuple[list[Mention], Figures]:
    """Entities and figures of one text."""
    return entity_mentions(text), figures(text)


def ids_of(found: Iterable[Mention]) -> list[str]:
    return [e for m in found for e in m.entities]
