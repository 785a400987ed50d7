"""Build ``corpora/jieba_dict.txt``: a jieba user dictionary of domain terms.

Run ``python -m corpora.build_dict``.  Deterministic: the same inputs give the
same file.  Terms come from

- ``disciplines.tsv``: names, aliases (not group names with ``/``) and keywords;
- ``industries.tsv``: section and division names without punctuation inside;
- ``TERMS`` below: hand-written technical terms of enterprise problems.

Each line is ``word freq tag``.  ``freq`` is at least ``MIN_FREQ`` and never
lowers a frequency jieba's own dictionary already gives the word, so adding the
dictionary keeps common words as they were and only glues domain compounds.
``tag``: ``nz`` for discipline and industry names, ``eng`` for ASCII terms, ``n``
otherwise.
"""
from __future__ import annotations

import re
from pathlib import Path

import jieba

from xfd.corpora import read_disciplines, read_industries

MIN_FREQ = 1000
OUT = Path(__file__).resolve().parent / "jieba_dict.txt"

# Hand-written terms of applied enterprise problems, grouped loosely by field.
TERMS = """
工艺优化 工艺改进 工艺参数 工艺流程 工艺路线 生产工艺 技术改造 技术攻关 技术升级 降本增效 提质增效 节能降耗
产品质量 质量检测 质量追溯 良品率 成品率 不良率 一致性 稳定性 可靠性 使用寿命 性能测试 型式试验 检测报告
数控机床 加工中心 车铣复合 五轴加工 线切割 电火花 激光切割 激光焊接 机器人焊接 焊接变形 焊缝检测 表面粗糙度
尺寸精度 形位公差 装配精度 注塑成型 注塑机 模具设计 冲压模具 压铸模具 模具寿命 模流分析 飞边 缩痕 翘曲变形
减速器 变速箱 传动系统 液压缸 液压站 气动元件 伺服电机 步进电机 丝杠 导轨 机械手 码垛机器人 上下料 自动化改造
自动化生产线 包装机械 灌装机 分拣系统 输送线 视觉检测 缺陷检测 表面缺陷 尺寸测量 条码识别 OCR 工业相机
振动噪声 异响 轴承故障 故障预警 预测性维护 设备管理 设备利用率 OEE 能耗监测 能源管理 余热利用 空压机 节能改造
PLC 触摸屏 变频调速 运动控制卡 工业以太网 Modbus 现场总线 上位机 组态软件 SCADA系统 DCS系统 MES系统 ERP系统 WMS
物联网 工业互联网 数字孪生 边缘计算 云平台 大数据平台 数据采集 数据可视化 数据中台 智能工厂 智能制造 数字化车间
深度学习 机器学习 神经网络 卷积神经网络 图像识别 图像分割 目标检测 语义分割 YOLO 人脸识别 语音识别 文本分类
自然语言处理 知识图谱 大语言模型 推荐算法 智能客服 聊天机器人 预测模型 时间序列预测 异常检测 强化学习 迁移学习
小程序 微信小程序 公众号 APP 网站建设 管理系统 信息管理系统 进销存 溯源系统 区块链溯源 电子商务平台 直播带货
嵌入式系统 单片机 STM32 ARM Linux 驱动程序 电路板 PCB设计 原理图 电源模块 开关电源 电磁干扰 EMC 静电防护
锂电池 锂离子电池 电池管理 储能电池 正极材料 负极材料 电解液 隔膜 电池回收 快充 续航 热失控 固态电池 钠离子电池
光伏组件 光伏电站 逆变器 充电桩 电动汽车 新能源汽车 电机驱动 永磁同步电机 变压器 配电柜 电力监控 谐波治理
传感器网络 无线传感 温湿度传感器 压力传感器 气体传感器 红外传感器 LoRa NB-IoT ZigBee RFID 北斗 GPS 定位系统
废水处理 污水处理 工业废水 印染废水 养殖废水 生活污水 中水回用 膜生物反应器 MBR 厌氧消化 好氧处理 活性污泥
废气处理 VOCs治理 除臭 粉尘治理 脱硫 脱硝 烟气治理 固体废物 危险废物 污泥脱水 垃圾焚烧 餐厨垃圾 资源化
土壤修复 重金属污染 环境监测 在线监测 水质监测 空气质量 噪声污染 碳排放核算 碳足迹 碳中和 碳达峰 清洁生产审核
精细化工 化工中间体 催化剂 催化氧化 加氢 聚合反应 高分子材料 树脂 环氧树脂 聚氨酯 有机硅 涂料配方 水性涂料
胶黏剂 助剂 表面处理 电镀 防腐涂层 阻燃剂 增塑剂 溶剂回收 精馏塔 反应釜 换热器 结晶工艺 干燥工艺 杂质控制
复合材料 碳纤维 玻璃纤维 陶瓷材料 耐火材料 新型建材 保温材料 混凝土外加剂 水泥 石材 石膏 砂浆 再生骨料 尾矿利用
热处理工艺 淬火 回火 渗碳 硬度 耐磨性 耐腐蚀 疲劳强度 金相分析 铸造缺陷 气孔 砂眼 粉末冶金 金属材料 铝合金 不锈钢
纺织面料 功能面料 抗菌面料 染色工艺 印花工艺 色差 色牢度 起球 缩水率 纱线 织机 针织机 无纺布 熔喷布 服装版型
服装设计 服装生产 吊挂系统 验布 面料瑕疵 丝绸 棉纺 麻纺 羊毛 化纤 涤纶 锦纶 氨纶 家纺产品
食品加工 农产品加工 农产品深加工 食品安全 食品检测 微生物检测 保质期 货架期 保鲜技术 冷链 冷链物流 真空包装
杀菌工艺 巴氏杀菌 超高压 冷冻干燥 喷雾干燥 发酵工艺 发酵食品 酿造 白酒酿造 黄酒 果酒 啤酒 酱油 食醋 腐乳
功能食品 保健食品 营养强化 膳食纤维 多糖 多酚 黄酮 提取工艺 超声提取 微波提取 超临界萃取 分离纯化 大孔树脂
茶叶加工 绿茶 红茶 黑茶 白茶 茶多酚 茶饮料 茶叶品质 名优茶 茶叶机械 揉捻 杀青 烘焙 茶园 茶树 抹茶 茶叶深加工
果蔬加工 果汁 果脯 罐头 预制菜 调味品 辣椒 花椒 腊肉 肉制品 乳制品 酸奶 烘焙食品 面制品 米粉 豆制品 魔芋
农产品 特色农产品 地理标志 农产品品牌 农村电商 乡村振兴 乡村旅游 休闲农业 农旅融合 一二三产融合 合作社
智慧农业 精准农业 设施农业 温室大棚 水肥一体化 节水灌溉 植保无人机 病虫害防治 绿色防控 测土配方施肥 有机肥
高产栽培 品种选育 良种繁育 种苗繁育 组培 组织培养 脱毒苗 嫁接育苗 食用菌栽培 中药材种植 林下种植 林下养殖
畜禽养殖 生猪养殖 肉牛养殖 蛋鸡养殖 肉鸡 饲料配方 饲料添加剂 发酵饲料 粪污处理 疫病防控 疫苗免疫 兽药残留
水产养殖 稻虾共作 稻渔共生 循环水养殖 鱼病防治 水质调控 增氧设备 苗种 饵料 鱼塘
中药材 道地药材 中药饮片 中药提取 有效成分 含量测定 指纹图谱 质量标准 药品注册 仿制药 一致性评价 制剂工艺
原料药 缓释制剂 药物制剂 药物分析 药品检测 GMP认证 洁净车间 医疗器械 医疗器械注册 体外诊断 康复设备 养老服务
健康管理 慢病管理 智慧医疗 远程医疗 医学影像 中医养生 康养旅游 药食同源
建筑节能 绿色建筑 装配式建筑 钢结构 混凝土结构 结构加固 抗震加固 裂缝修复 渗漏 防水 外墙保温 BIM技术 施工管理
工程造价 工程监理 基坑支护 边坡治理 地基处理 桩基 道路养护 沥青 路面病害 桥梁检测 隧道施工 城市更新 老旧小区改造
美丽乡村 村庄规划 景观设计 园林景观 民宿设计 室内设计 古建筑修缮 传统村落 文旅融合 全域旅游 景区规划 旅游线路
智慧旅游 游客体验 文创产品 非遗 非物质文化遗产 手工艺 品牌设计 包装设计 产品外观 工业设计 视觉识别 VI设计
物流配送 仓储管理 库存优化 路径优化 车辆调度 物流园区 快递 供应链 供应链金融 冷库 冷链运输 多式联运 运输成本
智能交通 交通流量 交通信号 停车管理 公交调度 网约车 新能源物流车 电商物流 仓库布局 拣选 AGV小车 立体仓库
精益生产 生产排程 生产计划 排产 工时定额 产能 瓶颈工序 车间布局 现场管理 质量管理体系 ISO9001 六西格玛 成本核算
市场营销 品牌营销 网络营销 新媒体营销 短视频营销 营销策划 市场调研 消费者行为 客户管理 渠道拓展 出口贸易 跨境电商
人力资源 绩效管理 薪酬体系 员工培训 企业文化 战略规划 商业计划书 融资 财务分析 内部控制 税务筹划 知识产权保护
专利布局 专利申请 高新技术企业 科技成果转化 产学研合作 校企合作 产教融合 科技小分队 技术服务 技术咨询 技术开发
安全生产 隐患排查 应急预案 职业病防护 粉尘防爆 消防安全 危化品管理 特种设备 安全评价 风险评估
网络安全 信息安全 数据安全 等级保护 数据备份 隐私保护 防火墙 入侵检测 漏洞扫描 工控安全
无人机 无人机巡检 无人机测绘 三维建模 倾斜摄影 实景三维 遥感影像 地理信息 GIS系统 国土调查 地质灾害监测 滑坡监测
矿山开采 选矿工艺 尾矿库 矿山修复 石材加工 砂石骨料 水泥窑 余热发电 生物质锅炉 生物质颗粒 秸秆综合利用 沼气工程
""".split()

ASCII = re.compile(r"^[\x21-\x7e]+$")


def _industry_terms() -> list[str]:
    """Industry names that jieba could keep whole (no punctuation inside)."""
    return [name for name in read_industries().values() if not re.search(r"[、，,]", name)]


def build() -> list[tuple[str, int, str]]:
    """Return the ``(word, freq, tag)`` entries, sorted by word."""
    jieba.setLogLevel(60)
    jieba.initialize()
    entries: dict[str, str] = {}

    def add(word: str, tag: str) -> None:
        word = word.strip()
        if len(word) < 2 or any(ch.isspace() for ch in word) or "/" in word:
            return
        if ASCII.match(word):
            tag = "eng"
        if word not in entries or (tag == "nz" and entries[word] != "nz"):
            entries[word] = tag

    for row in read_disciplines():
        add(row.name, "nz")
        for alias in row.aliases:
            add(alias, "nz")
        for keyword in row.keywords:
            add(keyword, "n")
    for term in _industry_terms():
        add(term, "nz")
    for term in TERMS:
        add(term, "n")

    out = []
    for word in sorted(entries):
        freq = max(MIN_FREQ, int(jieba.dt.FREQ.get(word, 0)))
        out.append((word, freq, entries[word]))
    return out


def main() -> None:
    entries = build()
    OUT.write_text("".join(f"{w} {f} {t}\n" for w, f, t in entries), encoding="utf-8")
    print(f"wrote {len(entries)} terms to {OUT}")


if __name__ == "__main__":
    main()
