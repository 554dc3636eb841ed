"""Chinese display names of the console's own words: statuses, outcomes, dispositions, roles,
audit actions, transfer states, input kinds.

Menus, intents, escalation reasons (and their priority), identity and recorded values are named in
grammars/flow.yaml only: the console reads them from the loaded `Flow` (`request.app.state.flow`,
`flow` in templates), so a new menu or reason needs no change here.
"""

from __future__ import annotations

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
    "login_locked": "登录锁定",
    "user_passwd": "修改密码",
    "user_disable": "停用用户",
    "user_enable": "启用用户",
    "user_delete": "删除用户",
    "done": "完成回电",
    "search_refused": "整号搜索被拒",
}
# Follow-up work (ivr/web/tasks.py); request and contact-preference kinds are named in flow.yaml `labels`.
REQUEST_STATUSES = {"pending": "待处理", "claimed": "处理中", "resolved": "已处理"}
CALLBACK_STATES = {"due": "待回电", "overdue": "已逾期", "done": "已完成"}
CALLBACK_FOR = {"debtor": "本人", "third_party": "第三方（找本人）"}
TRANSFER = {"pending": "待转接", "requested": "转接中", "accepted": "已接通", "failed": "转接失败", "none": "未转接"}
INPUT_KINDS = {"speech": "语音", "dtmf": "按键", "noinput": "无应答", "hangup": "挂机"}


def label(table: dict, key: object) -> str:
    return table.get(key, "" if key is None else str(key))


def flow_label(flow: object, kind: str, key: object) -> str:
    """flow.yaml's `labels[kind][key]` (the one source of these words), else the key itself."""
    own = getattr(flow, "labels", {}).get(kind, {})
    return own.get(str(key)) or ("" if key is None else str(key))
