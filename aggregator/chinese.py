"""Traditional to Simplified Chinese folding by a compact character table, for comparison only.

A table of about 700 common one-to-one pairs (written for agg, from the standard character forms)
rather than a dependency: `zhconv` and `opencc-python-reimplemented` both exist on PyPI, but carry
megabytes of phrase tables, untyped APIs and slow per-call setup, while dedup and language detection
need only a fast `str.translate` over the characters that actually occur in ML study notes.
Word-level differences (資料/数据, 網路/网络) are out of scope: the text compared is folded, not converted.
"""

from __future__ import annotations

# pairs "TS": Traditional character, then its Simplified form; context-dependent ones (著 乾 藉 瞭) left out
_PAIRS = (
    "們们這这個个來来為为說说時时會会對对於于學学國国從从後后過过還还裡里裏里麼么沒没點点現现開开問问關关長长"
    "發发經经動动實实體体種种樣样與与論论機机將将當当進进無无電电頭头兩两應应間间產产義义見见話话題题處处結结"
    "資资訊讯數数據据錄录歷历術术網网絡络計计設设腦脑習习練练類类標标準准確确優优變变換换總总傳传輸输選选擇择"
    "條条認认識识語语詞词彙汇號号碼码圖图層层級级訓训驗验測测試试評评價价損损決决參参導导預预複复雜杂顯显積积"
    "線线維维軟软屬属環环獲获構构範范圍围單单雙双組组織织檔档檢检輕轻車车門门書书寫写讀读聽听聲声覺觉視视觀观"
    "親亲愛爱歡欢樂乐藝艺區区際际專专業业務务員员報报紙纸雲云風风飛飞馬马魚鱼鳥鸟東东貝贝頁页氣气紅红綠绿藍蓝"
    "黃黄淺浅濃浓熱热漢汉華华萬万億亿歲岁買买賣卖錢钱貴贵費费貨货質质負负責责債债幣币銀银鐵铁鋼钢錯错鏡镜張张"
    "強强彈弹興兴舉举擊击擔担擴扩搖摇攝摄撥拨擁拥壓压壞坏塊块場场墊垫聯联職职聞闻戰战戲戏劃划劇剧創创劑剂則则"
    "剛刚勞劳勢势勝胜醫医協协衛卫廣广廳厅庫库廢废徑径復复徵征態态憶忆懷怀懸悬戶户拋抛掃扫揮挥擬拟斷断晉晋暫暂"
    "曆历極极槍枪樓楼權权樹树橋桥歐欧歸归殘残殺杀滿满濟济溫温滅灭濕湿灣湾災灾煙烟燈灯營营爭争爺爷牆墙狀状獨独"
    "獎奖畫画療疗盡尽監监盤盘眾众睏困矯矫礎础禮礼禍祸離离稱称穩稳窮穷競竞筆笔築筑簡简節节糧粮純纯紀纪約约紋纹"
    "納纳紐纽細细終终統统絕绝給给綜综緊紧編编縣县績绩繼继續续罰罚羅罗聖圣肅肃腳脚膚肤臉脸舊旧艦舰莊庄蓋盖藥药"
    "蘭兰虛虚蟲虫衝冲補补裝装製制襲袭規规覽览觸触訂订討讨記记許许訪访證证詢询詩诗該该詳详誌志誤误誰谁課课調调"
    "談谈請请諸诸謀谋講讲謝谢譜谱議议譯译護护讓让豐丰財财貢贡貧贫販贩貫贯貼贴賓宾賞赏賴赖購购贊赞贏赢趙赵趕赶"
    "跡迹踐践軍军軌轨較较載载輔辅輯辑轉转辦办辭辞農农連连週周遊游運运達达違违遠远適适遲迟遷迁遺遗邊边郵邮鄉乡"
    "醜丑釋释針针鈕钮鉛铅銷销鋒锋鍵键鎖锁鏈链鐘钟閉闭閒闲閱阅闆板隊队陽阳陰阴階阶隨随險险隱隐隻只雖虽雞鸡難难"
    "靈灵靜静響响頂顶項项順顺須须領领頻频額额顏颜願愿顧顾飯饭飲饮館馆驅驱驚惊髮发鬥斗鬧闹魯鲁鳳凤麥麦黨党"
    "齊齐齒齿龍龙龜龟並并亂乱亞亚佈布併并係系倆俩倉仓側侧偉伟偵侦備备傷伤傾倾僅仅儀仪償偿儲储兒儿內内冊册凍冻"
    "凱凯剝剥劉刘勵励勸劝匯汇厭厌吳吴啟启喚唤嗎吗嘗尝嚴严團团園园圓圆執执堅坚塗涂墳坟壇坛壯壮壺壶夢梦夠够奪夺"
    "奮奋婦妇媽妈孫孙寧宁審审寬宽寶宝尋寻屆届島岛峽峡嶺岭幫帮帶带師师帳帐幹干幾几廠厂廟庙彎弯恆恒惡恶惱恼慣惯"
    "慮虑慶庆憂忧憑凭懶懒戀恋掛挂採采揚扬搶抢撐撑撲扑擋挡擠挤攜携敗败敘叙敵敌斂敛斬斩晝昼暢畅曉晓曬晒朧胧棄弃"
    "棟栋榮荣槓杠樞枢橫横櫃柜殼壳沖冲況况淚泪淨净淪沦渦涡湯汤溝沟滯滞滾滚漁渔漲涨潔洁潛潜澤泽濾滤瀏浏灑洒煉炼"
    "爐炉犧牺猶犹獻献瑪玛畝亩異异疊叠瘋疯癒愈皺皱盜盗盞盏睜睁矚瞩礙碍祕秘禪禅禿秃稅税穀谷窩窝箏筝篩筛簽签"
    "籃篮籌筹籤签紛纷紡纺絲丝綁绑緒绪綱纲緩缓締缔縮缩縱纵繞绕繩绳繪绘纖纤罷罢聰聪脅胁脈脉脫脱腫肿膽胆臨临臺台"
    "艱艰葉叶蔣蒋蕭萧薦荐薩萨蘇苏蘋苹虧亏蝦虾蠟蜡蠶蚕衆众襯衬覓觅託托訴诉診诊詐诈譽誉豈岂豎竖豬猪貓猫貸贷賀贺"
    "賦赋賬账賭赌賽赛贈赠趨趋躍跃軸轴輛辆輝辉輪轮轄辖轟轰遞递遜逊鄰邻醞酝釀酿鈍钝鈔钞鉤钩銳锐鋪铺錶表鍋锅鍛锻"
    "鎮镇鑰钥閃闪閣阁閥阀闊阔陣阵陳陈陸陆隴陇霧雾韓韩韻韵頒颁頓顿頗颇頸颈顆颗颱台飄飘飢饥飽饱餅饼餘余餵喂饒饶"
    "駐驻駕驾騎骑騙骗騰腾驟骤髒脏鬆松鮮鲜鴨鸭鷹鹰鹽盐麗丽黴霉齡龄餾馏檻槛閾阈邏逻貪贪懲惩爾尔濱滨擾扰註注螢萤"
    "刪删欄栏幀帧儘尽謂谓鬱郁鑑鉴鑒鉴鏽锈倫伦鍊链傑杰潑泼擺摆攤摊灘滩歎叹嘆叹韋韦緯纬衞卫壽寿濤涛鑄铸籠笼"
    "聾聋襪袜齋斋紮扎劍剑勳勋卻却厲厉叢丛嘯啸噸吨囑嘱墜坠奧奥妝妆嬰婴寵宠屍尸岡冈崗岗嶄崭巔巅幟帜廂厢廬庐彌弥"
    "徹彻懇恳懼惧捨舍掙挣揀拣摯挚撫抚撿捡攔拦攬揽斃毙暈晕曠旷朮术桿杆梟枭棧栈楊杨樁桩檯台歟欤殲歼氈毡氫氢汙污"
    "洶汹涼凉淵渊渾浑湧涌滄沧滬沪漸渐潤润澀涩濁浊濫滥瀉泻烏乌煩烦燒烧燦灿燭烛爛烂狹狭獄狱獵猎瓊琼甦苏畢毕瘡疮"
    "癢痒盧卢礦矿祿禄稟禀竊窃筍笋篤笃糾纠紳绅絞绞綢绸綿绵緻致縫缝繃绷繭茧纏缠罵骂羨羡翹翘聳耸脹胀膠胶臥卧艙舱"
    "艷艳蘆芦蘿萝蝕蚀蠅蝇裊袅褲裤訝讶詠咏誕诞誘诱誦诵諒谅諧谐謊谎謠谣謹谨譏讥譴谴讚赞貞贞賊贼賜赐賢贤賤贱賺赚"
    "贖赎蹤踪軀躯軒轩輩辈轍辙辯辩遙遥遼辽鄭郑醬酱釘钉鈴铃銅铜鋁铝錦锦錘锤鍾钟鎊镑鏟铲鑽钻鑿凿閘闸闖闯闡阐陝陕"
    "隸隶雛雏靂雳韌韧頌颂頑顽頹颓顫颤颳刮餓饿餡馅饑饥駁驳駛驶駭骇驕骄驢驴骯肮鬍胡鮑鲍鯨鲸鳴鸣鴻鸿鵝鹅鶴鹤龐庞"
    "迴回麵面薰熏矽硅鍍镀癥症"
)
TRADITIONAL_TO_SIMPLIFIED: dict[str, str] = {_PAIRS[i]: _PAIRS[i + 1] for i in range(0, len(_PAIRS), 2)}
_TABLE = str.maketrans(TRADITIONAL_TO_SIMPLIFIED)

# Simplified forms that are also everyday Traditional characters: no evidence of either script
_SHARED_FORMS = frozenset(
    "后里了干面台只几余表志制系冲松谷斗丑叶云征采扎舍布困注托胡刮致板周游杆喂秘咏愈踪杰回郁蔑范丰症"
)
# the characters whose presence says "Traditional" or "Simplified" (used by language detection)
TRADITIONAL_MARKERS = frozenset(TRADITIONAL_TO_SIMPLIFIED)
SIMPLIFIED_MARKERS = frozenset(TRADITIONAL_TO_SIMPLIFIED.values()) - _SHARED_FORMS - TRADITIONAL_MARKERS


def to_simplified(text: str) -> str:
    """`text` with every tabled Traditional character replaced by its Simplified form; all else unchanged."""
    return text.translate(_TABLE)
