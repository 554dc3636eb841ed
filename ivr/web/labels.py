"""Chinese display names for the stable English names of SPEC.md (menus, intents, reasons...).

Unknown names fall back to themselves, so a new intent added to the grammars shows up (in English)
without a console change.
"""

from __future__ import annotations

REASONS = {
    "distress": "危机（自伤风险）",
    "emotional": "情绪激动",
    "complaint": "投诉",
    "dispute": "争议",
    "requested": "要求人工",
    "confused": "沟通困难",
}
DISPOSITIONS = {
    "promise_taken": "已承诺还款",
    "hardship_plan": "困难还款计划",
    "dispute_logged": "已登记争议",
    "callback": "安排回访",
    "no_action": "无需处理",
}
STATUSES = {"waiting": "等待中", "claimed": "处理中", "resolved": "已解决", "active": "通话中", "ended": "已结束"}
OUTCOMES = {"completed": "完成", "escalated": "转人工", "hangup": "挂断", None: "进行中"}
ROLES = {"agent": "坐席", "supervisor": "主管", "admin": "管理员"}
# Flow order of SPEC.md §1: the funnel and the detail page follow it.
MENUS = {
    "opening": "开场核身",
    "purpose": "告知欠款",
    "income_source": "收入来源",
    "income_amount": "月收入",
    "expenses": "主要支出",
    "unusual_expense": "意外损失",
    "plan": "还款方案",
    "promise": "还款日期",
    "closing": "结束确认",
}
INTENTS = {
    "confirm": "本人确认",
    "deny": "否认本人",
    "third_party": "第三方接听",
    "ask_who": "询问来电方",
    "busy": "正忙",
    "ack": "知晓",
    "dispute": "有异议",
    "already_paid": "称已还款",
    "salary": "工资",
    "part_time": "兼职",
    "unstable": "不稳定收入",
    "none": "无",
    "amount": "金额",
    "unknown": "不清楚",
    "expenses": "支出",
    "accident": "意外事故",
    "medical_emergency": "医疗急症",
    "investment_loss": "投资亏损",
    "job_loss": "失业",
    "full": "一次还清",
    "installment": "分期",
    "extension": "延期",
    "partial": "部分还款",
    "cannot": "无力还款",
    "date": "约定日期",
    "human": "转人工",
    "repeat": "请重复",
    "confused": "听不懂",
    "complaint": "投诉",
    "stop_calling": "别再打了",
    "distress": "危机",
    "abuse": "辱骂",
}
EXPENSES = {
    "rent": "房租",
    "utilities": "水电",
    "food": "餐饮",
    "education": "教育",
    "medical": "医疗",
    "entertainment": "娱乐",
    "social": "社交",
    "family": "家庭",
    "other_debt": "其他欠款",
}
IDENTITY = {
    "confirmed": "已确认本人",
    "denied": "否认本人",
    "third_party": "第三方接听",
    "unknown": "未确认",
    None: "未确认",
}
AUDIT_ACTIONS = {
    "view": "查看",
    "claim": "认领",
    "note": "添加备注",
    "resolve": "解决",
    "listen": "收听录音",
    "login": "登录",
    "login_failed": "登录失败",
    "export": "导出",
    "user_add": "添加用户",
}
TRANSFER = {"pending": "待转接", "requested": "转接中", "accepted": "已接通", "failed": "转接失败", "none": "未转接"}
INPUT_KINDS = {"speech": "语音", "dtmf": "按键", "noinput": "无应答", "hangup": "挂机"}


def label(table: dict, key: object) -> str:
    return table.get(key, "" if key is None else str(key))
