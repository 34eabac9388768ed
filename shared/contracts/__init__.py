"""The wire schema: every event Leadflow publishes, one module per producing service."""

from shared.contracts.capture import (
    ActivityKind,
    ContactSnapshot,
    DataQualityIssue,
    FieldChange,
    LeadActivityRecorded,
    LeadCaptured,
    LeadErased,
    LeadProfile,
    LeadUpdated,
)
from shared.contracts.envelope import Envelope, EnvelopeError, Event, decode, encode
from shared.contracts.notifier import NotificationDelivered
from shared.contracts.nurture import LeadFollowupDue, NurtureStepDue, NurtureStopped
from shared.contracts.router import (
    CandidateTrace,
    LeadAssigned,
    LeadRoutedToNurture,
    LeadSlaBreached,
    LeadSlaWarning,
    RepRef,
    RoutingTrace,
    SlaAction,
)
from shared.contracts.scorer import (
    LeadDisqualified,
    LeadQualified,
    LeadScored,
    ScoreContribution,
)

__all__ = [
    "ActivityKind",
    "CandidateTrace",
    "ContactSnapshot",
    "DataQualityIssue",
    "EVENT_TYPES",
    "Envelope",
    "EnvelopeError",
    "Event",
    "FieldChange",
    "LeadActivityRecorded",
    "LeadAssigned",
    "LeadCaptured",
    "LeadDisqualified",
    "LeadErased",
    "LeadFollowupDue",
    "LeadProfile",
    "LeadQualified",
    "LeadRoutedToNurture",
    "LeadScored",
    "LeadSlaBreached",
    "LeadSlaWarning",
    "LeadUpdated",
    "NotificationDelivered",
    "NurtureStepDue",
    "NurtureStopped",
    "RepRef",
    "RoutingTrace",
    "ScoreContribution",
    "SlaAction",
    "decode",
    "encode",
]

EVENT_CLASSES: tuple[type[Event], ...] = (
    LeadCaptured,
    LeadActivityRecorded,
    LeadUpdated,
    LeadErased,
    LeadScored,
    LeadQualified,
    LeadDisqualified,
    LeadAssigned,
    LeadRoutedToNurture,
    LeadSlaWarning,
    LeadSlaBreached,
    NurtureStepDue,
    NurtureStopped,
    NotificationDelivered,
    LeadFollowupDue,
)

EVENT_TYPES: dict[str, type[Event]] = {cls.TYPE: cls for cls in EVENT_CLASSES}
