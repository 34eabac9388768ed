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
    ColdReason,
    LeadAssigned,
    LeadGoneCold,
    LeadRecycled,
    LeadRoutedToNurture,
    LeadSlaBreached,
    LeadSlaWarning,
    RecycleCause,
    RepRef,
    RoutingTrace,
    SlaAction,
)
from shared.contracts.scorer import (
    LeadBucketChanged,
    LeadDisqualified,
    LeadQualified,
    LeadScored,
    ScoreContribution,
)

__all__ = [
    "ActivityKind",
    "CandidateTrace",
    "ColdReason",
    "ContactSnapshot",
    "DataQualityIssue",
    "EVENT_TYPES",
    "Envelope",
    "EnvelopeError",
    "Event",
    "FieldChange",
    "LeadActivityRecorded",
    "LeadAssigned",
    "LeadBucketChanged",
    "LeadCaptured",
    "LeadDisqualified",
    "LeadErased",
    "LeadFollowupDue",
    "LeadGoneCold",
    "LeadProfile",
    "LeadQualified",
    "LeadRecycled",
    "LeadRoutedToNurture",
    "LeadScored",
    "LeadSlaBreached",
    "LeadSlaWarning",
    "LeadUpdated",
    "NotificationDelivered",
    "NurtureStepDue",
    "NurtureStopped",
    "RecycleCause",
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
    LeadGoneCold,
    LeadRecycled,
    LeadBucketChanged,
)

EVENT_TYPES: dict[str, type[Event]] = {cls.TYPE: cls for cls in EVENT_CLASSES}
