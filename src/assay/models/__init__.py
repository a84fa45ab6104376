"""Model targets: parsing specs, provisioning the embedded model, loading local weights."""

from assay.models._builtin import (
    BUILTIN_MODELS,
    BuiltinModel,
    builtin_cache_path,
    provision_builtin,
)
from assay.models._fingerprint import (
    ModelFingerprint,
    fingerprint_directory,
    fingerprint_endpoint,
)
from assay.models._local import LocalModel, load_local_model, load_target_model
from assay.models._spec import DEFAULT_TARGET, TargetKind, TargetSpec, parse_target

__all__ = [
    "BUILTIN_MODELS",
    "DEFAULT_TARGET",
    "BuiltinModel",
    "LocalModel",
    "ModelFingerprint",
    "TargetKind",
    "TargetSpec",
    "builtin_cache_path",
    "fingerprint_directory",
    "fingerprint_endpoint",
    "load_local_model",
    "load_target_model",
    "parse_target",
    "provision_builtin",
]
