"""Python client and ``imagelint`` CLI for the imagelint dataset-audit service."""

from imagelint_client.models import AuditResult, RuleResult, Summary, Verdict
from imagelint_client.policy import PolicyFileError, load_policy, normalise_policy
from imagelint_client.rest import ApiError, Client, RestClient
from imagelint_client.targets import Target, TargetError, resolve_target, zip_folder

__version__ = "0.1.0"
__all__ = [
    "ApiError",
    "AuditResult",
    "Client",
    "PolicyFileError",
    "RestClient",
    "RuleResult",
    "Summary",
    "Target",
    "TargetError",
    "Verdict",
    "load_policy",
    "normalise_policy",
    "resolve_target",
    "zip_folder",
]
