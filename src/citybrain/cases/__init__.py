"""Cases (一网统管): findings and reports become cases that a named department handles and answers.

Findings above their topic's threshold open cases (one open case per subject and topic; new
evidence attaches), routing rules send them to departments, a state machine with working-hour
deadlines tracks them, and their outcomes come back as labels for the topics.
"""

from citybrain.cases.areas import AreaIndex, area_names, fill_locations
from citybrain.cases.desk import (
    CaseConflict,
    CaseNotFound,
    MissingValue,
    act,
    escalate_overdue,
    get_case,
    list_cases,
)
from citybrain.cases.intake import (
    IntakeResult,
    Report,
    UnknownService,
    get_report,
    intake_inspections,
    list_reports,
    rate_case,
    submit_report,
)
from citybrain.cases.labels import outcome_labels, precision_by_month
from citybrain.cases.metrics import CaseMetrics, case_metrics
from citybrain.cases.opening import OpenResult, dry_run, open_cases
from citybrain.cases.opsdb_models import (
    Case,
    CaseEvent,
    CaseEvidence,
    CaseReporter,
    DepartmentWebhook,
    WebhookDelivery,
)
from citybrain.cases.routing import (
    RouteDecision,
    RoutingRule,
    RoutingRules,
    department_hints,
    load_routing,
    parse_routing,
    route,
    route_table,
)
from citybrain.cases.settings import (
    CaseSettings,
    MergePolicy,
    Service,
    load_case_settings,
    parse_case_settings,
    settings_for_workspace,
)
from citybrain.cases.sla import SlaPolicy, WorkCalendar, add_working_hours, working_hours_between
from citybrain.cases.states import (
    OUTCOME_ZH,
    STATUS_ZH,
    Action,
    IllegalTransition,
    Outcome,
    Status,
    allowed_actions,
    status_label,
)
from citybrain.cases.views import case_summary, event_summary
from citybrain.cases.webhooks import (
    SIGNATURE_HEADER,
    deliver_pending,
    list_deliveries,
    register_webhook,
    sign,
    verify,
)
from citybrain.core.yamlmodel import SettingsFileError

__all__ = [
    "OUTCOME_ZH",
    "SIGNATURE_HEADER",
    "STATUS_ZH",
    "Action",
    "AreaIndex",
    "Case",
    "CaseConflict",
    "CaseEvent",
    "CaseEvidence",
    "CaseMetrics",
    "CaseNotFound",
    "CaseReporter",
    "CaseSettings",
    "DepartmentWebhook",
    "IllegalTransition",
    "IntakeResult",
    "MergePolicy",
    "MissingValue",
    "OpenResult",
    "Outcome",
    "Report",
    "RouteDecision",
    "RoutingRule",
    "RoutingRules",
    "Service",
    "SettingsFileError",
    "SlaPolicy",
    "Status",
    "UnknownService",
    "WebhookDelivery",
    "WorkCalendar",
    "act",
    "add_working_hours",
    "allowed_actions",
    "area_names",
    "case_metrics",
    "case_summary",
    "deliver_pending",
    "department_hints",
    "dry_run",
    "escalate_overdue",
    "event_summary",
    "fill_locations",
    "get_case",
    "get_report",
    "intake_inspections",
    "list_cases",
    "list_deliveries",
    "list_reports",
    "load_case_settings",
    "load_routing",
    "open_cases",
    "outcome_labels",
    "parse_case_settings",
    "parse_routing",
    "precision_by_month",
    "rate_case",
    "register_webhook",
    "route",
    "route_table",
    "settings_for_workspace",
    "sign",
    "status_label",
    "submit_report",
    "verify",
    "working_hours_between",
]
