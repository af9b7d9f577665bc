from service.grpc_api.gen.imagelint.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ImageQualityThresholds(_message.Message):
    __slots__ = ("min_side", "max_aspect_ratio", "dark_brightness", "bright_brightness", "min_entropy", "min_blur", "flag_grayscale", "dataset_fact_share", "relative_iqr_factor", "min_items_relative")
    MIN_SIDE_FIELD_NUMBER: _ClassVar[int]
    MAX_ASPECT_RATIO_FIELD_NUMBER: _ClassVar[int]
    DARK_BRIGHTNESS_FIELD_NUMBER: _ClassVar[int]
    BRIGHT_BRIGHTNESS_FIELD_NUMBER: _ClassVar[int]
    MIN_ENTROPY_FIELD_NUMBER: _ClassVar[int]
    MIN_BLUR_FIELD_NUMBER: _ClassVar[int]
    FLAG_GRAYSCALE_FIELD_NUMBER: _ClassVar[int]
    DATASET_FACT_SHARE_FIELD_NUMBER: _ClassVar[int]
    RELATIVE_IQR_FACTOR_FIELD_NUMBER: _ClassVar[int]
    MIN_ITEMS_RELATIVE_FIELD_NUMBER: _ClassVar[int]
    min_side: int
    max_aspect_ratio: float
    dark_brightness: float
    bright_brightness: float
    min_entropy: float
    min_blur: float
    flag_grayscale: bool
    dataset_fact_share: float
    relative_iqr_factor: float
    min_items_relative: int
    def __init__(self, min_side: _Optional[int] = ..., max_aspect_ratio: _Optional[float] = ..., dark_brightness: _Optional[float] = ..., bright_brightness: _Optional[float] = ..., min_entropy: _Optional[float] = ..., min_blur: _Optional[float] = ..., flag_grayscale: _Optional[bool] = ..., dataset_fact_share: _Optional[float] = ..., relative_iqr_factor: _Optional[float] = ..., min_items_relative: _Optional[int] = ...) -> None: ...

class DuplicatesResult(_message.Message):
    __slots__ = ("n_items", "threshold", "method", "exact_byte_groups", "exact_pixel_groups", "near_pair_count", "near_pairs", "groups", "droppable", "leakage", "label_conflicts", "outliers", "calibration", "note", "reference")
    N_ITEMS_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    EXACT_BYTE_GROUPS_FIELD_NUMBER: _ClassVar[int]
    EXACT_PIXEL_GROUPS_FIELD_NUMBER: _ClassVar[int]
    NEAR_PAIR_COUNT_FIELD_NUMBER: _ClassVar[int]
    NEAR_PAIRS_FIELD_NUMBER: _ClassVar[int]
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    DROPPABLE_FIELD_NUMBER: _ClassVar[int]
    LEAKAGE_FIELD_NUMBER: _ClassVar[int]
    LABEL_CONFLICTS_FIELD_NUMBER: _ClassVar[int]
    OUTLIERS_FIELD_NUMBER: _ClassVar[int]
    CALIBRATION_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    n_items: int
    threshold: float
    method: str
    exact_byte_groups: _containers.RepeatedCompositeFieldContainer[_common_pb2.StringList]
    exact_pixel_groups: _containers.RepeatedCompositeFieldContainer[_common_pb2.StringList]
    near_pair_count: int
    near_pairs: _containers.RepeatedCompositeFieldContainer[NearPair]
    groups: _containers.RepeatedCompositeFieldContainer[DuplicateGroup]
    droppable: int
    leakage: Leakage
    label_conflicts: _containers.RepeatedCompositeFieldContainer[LabelConflict]
    outliers: OutliersResult
    calibration: ThresholdCalibration
    note: str
    reference: ReferenceResult
    def __init__(self, n_items: _Optional[int] = ..., threshold: _Optional[float] = ..., method: _Optional[str] = ..., exact_byte_groups: _Optional[_Iterable[_Union[_common_pb2.StringList, _Mapping]]] = ..., exact_pixel_groups: _Optional[_Iterable[_Union[_common_pb2.StringList, _Mapping]]] = ..., near_pair_count: _Optional[int] = ..., near_pairs: _Optional[_Iterable[_Union[NearPair, _Mapping]]] = ..., groups: _Optional[_Iterable[_Union[DuplicateGroup, _Mapping]]] = ..., droppable: _Optional[int] = ..., leakage: _Optional[_Union[Leakage, _Mapping]] = ..., label_conflicts: _Optional[_Iterable[_Union[LabelConflict, _Mapping]]] = ..., outliers: _Optional[_Union[OutliersResult, _Mapping]] = ..., calibration: _Optional[_Union[ThresholdCalibration, _Mapping]] = ..., note: _Optional[str] = ..., reference: _Optional[_Union[ReferenceResult, _Mapping]] = ...) -> None: ...

class NearPair(_message.Message):
    __slots__ = ("a", "b", "similarity")
    A_FIELD_NUMBER: _ClassVar[int]
    B_FIELD_NUMBER: _ClassVar[int]
    SIMILARITY_FIELD_NUMBER: _ClassVar[int]
    a: str
    b: str
    similarity: float
    def __init__(self, a: _Optional[str] = ..., b: _Optional[str] = ..., similarity: _Optional[float] = ...) -> None: ...

class DuplicateGroup(_message.Message):
    __slots__ = ("group", "members", "keep", "drop", "evidence", "splits", "labels")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    KEEP_FIELD_NUMBER: _ClassVar[int]
    DROP_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    SPLITS_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    group: int
    members: _containers.RepeatedScalarFieldContainer[str]
    keep: str
    drop: _containers.RepeatedScalarFieldContainer[str]
    evidence: _containers.RepeatedScalarFieldContainer[str]
    splits: _containers.RepeatedScalarFieldContainer[str]
    labels: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, group: _Optional[int] = ..., members: _Optional[_Iterable[str]] = ..., keep: _Optional[str] = ..., drop: _Optional[_Iterable[str]] = ..., evidence: _Optional[_Iterable[str]] = ..., splits: _Optional[_Iterable[str]] = ..., labels: _Optional[_Iterable[str]] = ...) -> None: ...

class Leakage(_message.Message):
    __slots__ = ("groups", "items", "by_split_pair")
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    BY_SPLIT_PAIR_FIELD_NUMBER: _ClassVar[int]
    groups: _containers.RepeatedScalarFieldContainer[int]
    items: _containers.RepeatedScalarFieldContainer[str]
    by_split_pair: _containers.RepeatedCompositeFieldContainer[SplitPairLeakage]
    def __init__(self, groups: _Optional[_Iterable[int]] = ..., items: _Optional[_Iterable[str]] = ..., by_split_pair: _Optional[_Iterable[_Union[SplitPairLeakage, _Mapping]]] = ...) -> None: ...

class SplitPairLeakage(_message.Message):
    __slots__ = ("splits", "groups", "items")
    SPLITS_FIELD_NUMBER: _ClassVar[int]
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    splits: _containers.RepeatedScalarFieldContainer[str]
    groups: int
    items: int
    def __init__(self, splits: _Optional[_Iterable[str]] = ..., groups: _Optional[int] = ..., items: _Optional[int] = ...) -> None: ...

class LabelConflict(_message.Message):
    __slots__ = ("group", "labels", "members")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    GROUP_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    group: int
    labels: _containers.ScalarMap[str, int]
    members: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, group: _Optional[int] = ..., labels: _Optional[_Mapping[str, int]] = ..., members: _Optional[_Iterable[str]] = ...) -> None: ...

class OutliersResult(_message.Message):
    __slots__ = ("k", "iqr_factor", "q1", "median", "q3", "fence", "outliers")
    K_FIELD_NUMBER: _ClassVar[int]
    IQR_FACTOR_FIELD_NUMBER: _ClassVar[int]
    Q1_FIELD_NUMBER: _ClassVar[int]
    MEDIAN_FIELD_NUMBER: _ClassVar[int]
    Q3_FIELD_NUMBER: _ClassVar[int]
    FENCE_FIELD_NUMBER: _ClassVar[int]
    OUTLIERS_FIELD_NUMBER: _ClassVar[int]
    k: int
    iqr_factor: float
    q1: float
    median: float
    q3: float
    fence: float
    outliers: _containers.RepeatedCompositeFieldContainer[Outlier]
    def __init__(self, k: _Optional[int] = ..., iqr_factor: _Optional[float] = ..., q1: _Optional[float] = ..., median: _Optional[float] = ..., q3: _Optional[float] = ..., fence: _Optional[float] = ..., outliers: _Optional[_Iterable[_Union[Outlier, _Mapping]]] = ...) -> None: ...

class Outlier(_message.Message):
    __slots__ = ("id", "score", "rank", "nearest")
    ID_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    RANK_FIELD_NUMBER: _ClassVar[int]
    NEAREST_FIELD_NUMBER: _ClassVar[int]
    id: str
    score: float
    rank: int
    nearest: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[str] = ..., score: _Optional[float] = ..., rank: _Optional[int] = ..., nearest: _Optional[_Iterable[str]] = ...) -> None: ...

class ThresholdCalibration(_message.Message):
    __slots__ = ("method", "threshold", "pixel_code", "pixel_weight", "max_false_rate", "estimated_precision", "estimated_recall", "estimated_false_match_rate", "matched_rate", "planted_copies", "neighbour_sample", "recall_by_copy", "note", "candidates", "verification")
    class RecallByCopyEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    METHOD_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    PIXEL_CODE_FIELD_NUMBER: _ClassVar[int]
    PIXEL_WEIGHT_FIELD_NUMBER: _ClassVar[int]
    MAX_FALSE_RATE_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_PRECISION_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_RECALL_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_FALSE_MATCH_RATE_FIELD_NUMBER: _ClassVar[int]
    MATCHED_RATE_FIELD_NUMBER: _ClassVar[int]
    PLANTED_COPIES_FIELD_NUMBER: _ClassVar[int]
    NEIGHBOUR_SAMPLE_FIELD_NUMBER: _ClassVar[int]
    RECALL_BY_COPY_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    VERIFICATION_FIELD_NUMBER: _ClassVar[int]
    method: str
    threshold: float
    pixel_code: str
    pixel_weight: float
    max_false_rate: float
    estimated_precision: float
    estimated_recall: float
    estimated_false_match_rate: float
    matched_rate: float
    planted_copies: int
    neighbour_sample: int
    recall_by_copy: _containers.ScalarMap[str, float]
    note: str
    candidates: _containers.RepeatedCompositeFieldContainer[CandidateCut]
    verification: CopyVerification
    def __init__(self, method: _Optional[str] = ..., threshold: _Optional[float] = ..., pixel_code: _Optional[str] = ..., pixel_weight: _Optional[float] = ..., max_false_rate: _Optional[float] = ..., estimated_precision: _Optional[float] = ..., estimated_recall: _Optional[float] = ..., estimated_false_match_rate: _Optional[float] = ..., matched_rate: _Optional[float] = ..., planted_copies: _Optional[int] = ..., neighbour_sample: _Optional[int] = ..., recall_by_copy: _Optional[_Mapping[str, float]] = ..., note: _Optional[str] = ..., candidates: _Optional[_Iterable[_Union[CandidateCut, _Mapping]]] = ..., verification: _Optional[_Union[CopyVerification, _Mapping]] = ...) -> None: ...

class CandidateCut(_message.Message):
    __slots__ = ("pixel_code", "pixel_weight", "threshold", "estimated_recall", "estimated_precision")
    PIXEL_CODE_FIELD_NUMBER: _ClassVar[int]
    PIXEL_WEIGHT_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_RECALL_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_PRECISION_FIELD_NUMBER: _ClassVar[int]
    pixel_code: str
    pixel_weight: float
    threshold: float
    estimated_recall: float
    estimated_precision: float
    def __init__(self, pixel_code: _Optional[str] = ..., pixel_weight: _Optional[float] = ..., threshold: _Optional[float] = ..., estimated_recall: _Optional[float] = ..., estimated_precision: _Optional[float] = ...) -> None: ...

class CopyVerification(_message.Message):
    __slots__ = ("threshold", "candidate_pairs", "verified_pairs", "estimated_recall", "estimated_precision", "estimated_false_match_rate", "recall_by_copy", "note")
    class RecallByCopyEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_PAIRS_FIELD_NUMBER: _ClassVar[int]
    VERIFIED_PAIRS_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_RECALL_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_PRECISION_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_FALSE_MATCH_RATE_FIELD_NUMBER: _ClassVar[int]
    RECALL_BY_COPY_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    threshold: float
    candidate_pairs: int
    verified_pairs: int
    estimated_recall: float
    estimated_precision: float
    estimated_false_match_rate: float
    recall_by_copy: _containers.ScalarMap[str, float]
    note: str
    def __init__(self, threshold: _Optional[float] = ..., candidate_pairs: _Optional[int] = ..., verified_pairs: _Optional[int] = ..., estimated_recall: _Optional[float] = ..., estimated_precision: _Optional[float] = ..., estimated_false_match_rate: _Optional[float] = ..., recall_by_copy: _Optional[_Mapping[str, float]] = ..., note: _Optional[str] = ...) -> None: ...

class ReferenceResult(_message.Message):
    __slots__ = ("reference", "reference_items", "threshold", "pair_count", "pairs", "copied", "leakage", "label_conflicts", "by_reference_split")
    class ByReferenceSplitEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_ITEMS_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    PAIR_COUNT_FIELD_NUMBER: _ClassVar[int]
    PAIRS_FIELD_NUMBER: _ClassVar[int]
    COPIED_FIELD_NUMBER: _ClassVar[int]
    LEAKAGE_FIELD_NUMBER: _ClassVar[int]
    LABEL_CONFLICTS_FIELD_NUMBER: _ClassVar[int]
    BY_REFERENCE_SPLIT_FIELD_NUMBER: _ClassVar[int]
    reference: str
    reference_items: int
    threshold: float
    pair_count: int
    pairs: _containers.RepeatedCompositeFieldContainer[ReferencePair]
    copied: _containers.RepeatedScalarFieldContainer[str]
    leakage: ReferenceLeakage
    label_conflicts: _containers.RepeatedScalarFieldContainer[str]
    by_reference_split: _containers.ScalarMap[str, int]
    def __init__(self, reference: _Optional[str] = ..., reference_items: _Optional[int] = ..., threshold: _Optional[float] = ..., pair_count: _Optional[int] = ..., pairs: _Optional[_Iterable[_Union[ReferencePair, _Mapping]]] = ..., copied: _Optional[_Iterable[str]] = ..., leakage: _Optional[_Union[ReferenceLeakage, _Mapping]] = ..., label_conflicts: _Optional[_Iterable[str]] = ..., by_reference_split: _Optional[_Mapping[str, int]] = ...) -> None: ...

class ReferencePair(_message.Message):
    __slots__ = ("id", "reference_id", "reference_uri", "similarity", "evidence", "split", "reference_split", "label", "reference_label")
    ID_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_ID_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_URI_FIELD_NUMBER: _ClassVar[int]
    SIMILARITY_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    SPLIT_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_SPLIT_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_LABEL_FIELD_NUMBER: _ClassVar[int]
    id: str
    reference_id: str
    reference_uri: str
    similarity: float
    evidence: str
    split: str
    reference_split: str
    label: str
    reference_label: str
    def __init__(self, id: _Optional[str] = ..., reference_id: _Optional[str] = ..., reference_uri: _Optional[str] = ..., similarity: _Optional[float] = ..., evidence: _Optional[str] = ..., split: _Optional[str] = ..., reference_split: _Optional[str] = ..., label: _Optional[str] = ..., reference_label: _Optional[str] = ...) -> None: ...

class ReferenceLeakage(_message.Message):
    __slots__ = ("items", "by_splits")
    class BySplitsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    BY_SPLITS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedScalarFieldContainer[str]
    by_splits: _containers.ScalarMap[str, int]
    def __init__(self, items: _Optional[_Iterable[str]] = ..., by_splits: _Optional[_Mapping[str, int]] = ...) -> None: ...

class MislabelsResult(_message.Message):
    __slots__ = ("n_items", "n_judged", "rank_by", "top_fraction", "label_health", "issue_count", "candidates", "classes", "confusable_pairs", "learnability", "too_small_classes", "k_neighbours", "label_issues", "noise_note")
    N_ITEMS_FIELD_NUMBER: _ClassVar[int]
    N_JUDGED_FIELD_NUMBER: _ClassVar[int]
    RANK_BY_FIELD_NUMBER: _ClassVar[int]
    TOP_FRACTION_FIELD_NUMBER: _ClassVar[int]
    LABEL_HEALTH_FIELD_NUMBER: _ClassVar[int]
    ISSUE_COUNT_FIELD_NUMBER: _ClassVar[int]
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    CLASSES_FIELD_NUMBER: _ClassVar[int]
    CONFUSABLE_PAIRS_FIELD_NUMBER: _ClassVar[int]
    LEARNABILITY_FIELD_NUMBER: _ClassVar[int]
    TOO_SMALL_CLASSES_FIELD_NUMBER: _ClassVar[int]
    K_NEIGHBOURS_FIELD_NUMBER: _ClassVar[int]
    LABEL_ISSUES_FIELD_NUMBER: _ClassVar[int]
    NOISE_NOTE_FIELD_NUMBER: _ClassVar[int]
    n_items: int
    n_judged: int
    rank_by: str
    top_fraction: float
    label_health: float
    issue_count: int
    candidates: _containers.RepeatedCompositeFieldContainer[LabelIssue]
    classes: _containers.RepeatedCompositeFieldContainer[ClassLabelNoise]
    confusable_pairs: _containers.RepeatedCompositeFieldContainer[ConfusablePair]
    learnability: Learnability
    too_small_classes: _containers.RepeatedScalarFieldContainer[str]
    k_neighbours: int
    label_issues: LabelIssueList
    noise_note: str
    def __init__(self, n_items: _Optional[int] = ..., n_judged: _Optional[int] = ..., rank_by: _Optional[str] = ..., top_fraction: _Optional[float] = ..., label_health: _Optional[float] = ..., issue_count: _Optional[int] = ..., candidates: _Optional[_Iterable[_Union[LabelIssue, _Mapping]]] = ..., classes: _Optional[_Iterable[_Union[ClassLabelNoise, _Mapping]]] = ..., confusable_pairs: _Optional[_Iterable[_Union[ConfusablePair, _Mapping]]] = ..., learnability: _Optional[_Union[Learnability, _Mapping]] = ..., too_small_classes: _Optional[_Iterable[str]] = ..., k_neighbours: _Optional[int] = ..., label_issues: _Optional[_Union[LabelIssueList, _Mapping]] = ..., noise_note: _Optional[str] = ...) -> None: ...

class LabelIssue(_message.Message):
    __slots__ = ("index", "given_label", "suggested_label", "suggested_probability", "score", "self_confidence", "normalized_margin", "confident_learning", "id", "neighbour_agreement", "duplicate_conflict")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    GIVEN_LABEL_FIELD_NUMBER: _ClassVar[int]
    SUGGESTED_LABEL_FIELD_NUMBER: _ClassVar[int]
    SUGGESTED_PROBABILITY_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    SELF_CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    NORMALIZED_MARGIN_FIELD_NUMBER: _ClassVar[int]
    CONFIDENT_LEARNING_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    NEIGHBOUR_AGREEMENT_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_CONFLICT_FIELD_NUMBER: _ClassVar[int]
    index: int
    given_label: str
    suggested_label: str
    suggested_probability: float
    score: float
    self_confidence: float
    normalized_margin: float
    confident_learning: bool
    id: str
    neighbour_agreement: float
    duplicate_conflict: bool
    def __init__(self, index: _Optional[int] = ..., given_label: _Optional[str] = ..., suggested_label: _Optional[str] = ..., suggested_probability: _Optional[float] = ..., score: _Optional[float] = ..., self_confidence: _Optional[float] = ..., normalized_margin: _Optional[float] = ..., confident_learning: _Optional[bool] = ..., id: _Optional[str] = ..., neighbour_agreement: _Optional[float] = ..., duplicate_conflict: _Optional[bool] = ...) -> None: ...

class ClassLabelNoise(_message.Message):
    __slots__ = ("label", "count", "judged", "issues", "precision", "recall", "f1", "estimated_noise_rate", "estimated_true_count", "threshold")
    LABEL_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    JUDGED_FIELD_NUMBER: _ClassVar[int]
    ISSUES_FIELD_NUMBER: _ClassVar[int]
    PRECISION_FIELD_NUMBER: _ClassVar[int]
    RECALL_FIELD_NUMBER: _ClassVar[int]
    F1_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_NOISE_RATE_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_TRUE_COUNT_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    label: str
    count: int
    judged: bool
    issues: int
    precision: float
    recall: float
    f1: float
    estimated_noise_rate: float
    estimated_true_count: float
    threshold: float
    def __init__(self, label: _Optional[str] = ..., count: _Optional[int] = ..., judged: _Optional[bool] = ..., issues: _Optional[int] = ..., precision: _Optional[float] = ..., recall: _Optional[float] = ..., f1: _Optional[float] = ..., estimated_noise_rate: _Optional[float] = ..., estimated_true_count: _Optional[float] = ..., threshold: _Optional[float] = ...) -> None: ...

class ConfusablePair(_message.Message):
    __slots__ = ("a", "b", "estimated_mixups", "labelled_a_truly_b", "labelled_b_truly_a")
    A_FIELD_NUMBER: _ClassVar[int]
    B_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_MIXUPS_FIELD_NUMBER: _ClassVar[int]
    LABELLED_A_TRULY_B_FIELD_NUMBER: _ClassVar[int]
    LABELLED_B_TRULY_A_FIELD_NUMBER: _ClassVar[int]
    a: str
    b: str
    estimated_mixups: float
    labelled_a_truly_b: float
    labelled_b_truly_a: float
    def __init__(self, a: _Optional[str] = ..., b: _Optional[str] = ..., estimated_mixups: _Optional[float] = ..., labelled_a_truly_b: _Optional[float] = ..., labelled_b_truly_a: _Optional[float] = ...) -> None: ...

class Learnability(_message.Message):
    __slots__ = ("source", "accuracy", "macro_f1", "folds", "components", "penalty")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    ACCURACY_FIELD_NUMBER: _ClassVar[int]
    MACRO_F1_FIELD_NUMBER: _ClassVar[int]
    FOLDS_FIELD_NUMBER: _ClassVar[int]
    COMPONENTS_FIELD_NUMBER: _ClassVar[int]
    PENALTY_FIELD_NUMBER: _ClassVar[int]
    source: str
    accuracy: float
    macro_f1: float
    folds: int
    components: int
    penalty: float
    def __init__(self, source: _Optional[str] = ..., accuracy: _Optional[float] = ..., macro_f1: _Optional[float] = ..., folds: _Optional[int] = ..., components: _Optional[int] = ..., penalty: _Optional[float] = ...) -> None: ...

class LabelIssueList(_message.Message):
    __slots__ = ("ids", "count", "expected_precision", "target_precision", "suggested_labels", "note", "basis")
    IDS_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_PRECISION_FIELD_NUMBER: _ClassVar[int]
    TARGET_PRECISION_FIELD_NUMBER: _ClassVar[int]
    SUGGESTED_LABELS_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    BASIS_FIELD_NUMBER: _ClassVar[int]
    ids: _containers.RepeatedScalarFieldContainer[str]
    count: int
    expected_precision: float
    target_precision: float
    suggested_labels: _containers.RepeatedScalarFieldContainer[str]
    note: str
    basis: str
    def __init__(self, ids: _Optional[_Iterable[str]] = ..., count: _Optional[int] = ..., expected_precision: _Optional[float] = ..., target_precision: _Optional[float] = ..., suggested_labels: _Optional[_Iterable[str]] = ..., note: _Optional[str] = ..., basis: _Optional[str] = ...) -> None: ...

class SampleSizeResult(_message.Message):
    __slots__ = ("mode", "n_current", "chosen_model", "choice_reason", "points", "fits", "predictions", "target", "classes", "curve")
    MODE_FIELD_NUMBER: _ClassVar[int]
    N_CURRENT_FIELD_NUMBER: _ClassVar[int]
    CHOSEN_MODEL_FIELD_NUMBER: _ClassVar[int]
    CHOICE_REASON_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    FITS_FIELD_NUMBER: _ClassVar[int]
    PREDICTIONS_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    CLASSES_FIELD_NUMBER: _ClassVar[int]
    CURVE_FIELD_NUMBER: _ClassVar[int]
    mode: str
    n_current: float
    chosen_model: str
    choice_reason: str
    points: _containers.RepeatedCompositeFieldContainer[FitPoint]
    fits: _containers.RepeatedCompositeFieldContainer[CurveFit]
    predictions: _containers.RepeatedCompositeFieldContainer[Prediction]
    target: TargetEstimate
    classes: _containers.RepeatedCompositeFieldContainer[ClassEstimate]
    curve: LearningCurve
    def __init__(self, mode: _Optional[str] = ..., n_current: _Optional[float] = ..., chosen_model: _Optional[str] = ..., choice_reason: _Optional[str] = ..., points: _Optional[_Iterable[_Union[FitPoint, _Mapping]]] = ..., fits: _Optional[_Iterable[_Union[CurveFit, _Mapping]]] = ..., predictions: _Optional[_Iterable[_Union[Prediction, _Mapping]]] = ..., target: _Optional[_Union[TargetEstimate, _Mapping]] = ..., classes: _Optional[_Iterable[_Union[ClassEstimate, _Mapping]]] = ..., curve: _Optional[_Union[LearningCurve, _Mapping]] = ...) -> None: ...

class FitPoint(_message.Message):
    __slots__ = ("n", "mean", "std", "count", "sigma")
    N_FIELD_NUMBER: _ClassVar[int]
    MEAN_FIELD_NUMBER: _ClassVar[int]
    STD_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    SIGMA_FIELD_NUMBER: _ClassVar[int]
    n: float
    mean: float
    std: float
    count: int
    sigma: float
    def __init__(self, n: _Optional[float] = ..., mean: _Optional[float] = ..., std: _Optional[float] = ..., count: _Optional[int] = ..., sigma: _Optional[float] = ...) -> None: ...

class CurveFit(_message.Message):
    __slots__ = ("model", "formula", "converged", "a", "b", "c", "asymptote", "weighted_rss", "rmse", "residuals", "message")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    FORMULA_FIELD_NUMBER: _ClassVar[int]
    CONVERGED_FIELD_NUMBER: _ClassVar[int]
    A_FIELD_NUMBER: _ClassVar[int]
    B_FIELD_NUMBER: _ClassVar[int]
    C_FIELD_NUMBER: _ClassVar[int]
    ASYMPTOTE_FIELD_NUMBER: _ClassVar[int]
    WEIGHTED_RSS_FIELD_NUMBER: _ClassVar[int]
    RMSE_FIELD_NUMBER: _ClassVar[int]
    RESIDUALS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    model: str
    formula: str
    converged: bool
    a: float
    b: float
    c: float
    asymptote: float
    weighted_rss: float
    rmse: float
    residuals: _containers.RepeatedScalarFieldContainer[float]
    message: str
    def __init__(self, model: _Optional[str] = ..., formula: _Optional[str] = ..., converged: _Optional[bool] = ..., a: _Optional[float] = ..., b: _Optional[float] = ..., c: _Optional[float] = ..., asymptote: _Optional[float] = ..., weighted_rss: _Optional[float] = ..., rmse: _Optional[float] = ..., residuals: _Optional[_Iterable[float]] = ..., message: _Optional[str] = ...) -> None: ...

class Prediction(_message.Message):
    __slots__ = ("multiple", "n", "score", "by_model", "low", "high")
    class ByModelEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    MULTIPLE_FIELD_NUMBER: _ClassVar[int]
    N_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    BY_MODEL_FIELD_NUMBER: _ClassVar[int]
    LOW_FIELD_NUMBER: _ClassVar[int]
    HIGH_FIELD_NUMBER: _ClassVar[int]
    multiple: float
    n: float
    score: float
    by_model: _containers.ScalarMap[str, float]
    low: float
    high: float
    def __init__(self, multiple: _Optional[float] = ..., n: _Optional[float] = ..., score: _Optional[float] = ..., by_model: _Optional[_Mapping[str, float]] = ..., low: _Optional[float] = ..., high: _Optional[float] = ...) -> None: ...

class TargetEstimate(_message.Message):
    __slots__ = ("target", "reachable", "confidence", "n_needed", "additional_needed", "ci_low", "ci_high", "unreachable_share", "bootstrap_replicates", "asymptote", "note")
    TARGET_FIELD_NUMBER: _ClassVar[int]
    REACHABLE_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    N_NEEDED_FIELD_NUMBER: _ClassVar[int]
    ADDITIONAL_NEEDED_FIELD_NUMBER: _ClassVar[int]
    CI_LOW_FIELD_NUMBER: _ClassVar[int]
    CI_HIGH_FIELD_NUMBER: _ClassVar[int]
    UNREACHABLE_SHARE_FIELD_NUMBER: _ClassVar[int]
    BOOTSTRAP_REPLICATES_FIELD_NUMBER: _ClassVar[int]
    ASYMPTOTE_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    target: float
    reachable: bool
    confidence: float
    n_needed: float
    additional_needed: float
    ci_low: float
    ci_high: float
    unreachable_share: float
    bootstrap_replicates: int
    asymptote: float
    note: str
    def __init__(self, target: _Optional[float] = ..., reachable: _Optional[bool] = ..., confidence: _Optional[float] = ..., n_needed: _Optional[float] = ..., additional_needed: _Optional[float] = ..., ci_low: _Optional[float] = ..., ci_high: _Optional[float] = ..., unreachable_share: _Optional[float] = ..., bootstrap_replicates: _Optional[int] = ..., asymptote: _Optional[float] = ..., note: _Optional[str] = ...) -> None: ...

class ClassEstimate(_message.Message):
    __slots__ = ("label", "n_current", "recall", "model", "asymptote", "target_recall", "reachable", "n_needed", "additional_needed", "note")
    LABEL_FIELD_NUMBER: _ClassVar[int]
    N_CURRENT_FIELD_NUMBER: _ClassVar[int]
    RECALL_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    ASYMPTOTE_FIELD_NUMBER: _ClassVar[int]
    TARGET_RECALL_FIELD_NUMBER: _ClassVar[int]
    REACHABLE_FIELD_NUMBER: _ClassVar[int]
    N_NEEDED_FIELD_NUMBER: _ClassVar[int]
    ADDITIONAL_NEEDED_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    label: str
    n_current: float
    recall: float
    model: str
    asymptote: float
    target_recall: float
    reachable: bool
    n_needed: float
    additional_needed: float
    note: str
    def __init__(self, label: _Optional[str] = ..., n_current: _Optional[float] = ..., recall: _Optional[float] = ..., model: _Optional[str] = ..., asymptote: _Optional[float] = ..., target_recall: _Optional[float] = ..., reachable: _Optional[bool] = ..., n_needed: _Optional[float] = ..., additional_needed: _Optional[float] = ..., note: _Optional[str] = ...) -> None: ...

class LearningCurve(_message.Message):
    __slots__ = ("classes", "n_items", "n_pool", "n_eval", "dims", "points")
    CLASSES_FIELD_NUMBER: _ClassVar[int]
    N_ITEMS_FIELD_NUMBER: _ClassVar[int]
    N_POOL_FIELD_NUMBER: _ClassVar[int]
    N_EVAL_FIELD_NUMBER: _ClassVar[int]
    DIMS_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    classes: _containers.RepeatedScalarFieldContainer[str]
    n_items: int
    n_pool: int
    n_eval: int
    dims: int
    points: _containers.RepeatedCompositeFieldContainer[CurvePoint]
    def __init__(self, classes: _Optional[_Iterable[str]] = ..., n_items: _Optional[int] = ..., n_pool: _Optional[int] = ..., n_eval: _Optional[int] = ..., dims: _Optional[int] = ..., points: _Optional[_Iterable[_Union[CurvePoint, _Mapping]]] = ...) -> None: ...

class CurvePoint(_message.Message):
    __slots__ = ("fraction", "n", "repeats", "accuracy_mean", "accuracy_std", "macro_f1_mean", "macro_f1_std", "accuracy_scores", "class_n", "class_recall_mean", "class_recall_std")
    FRACTION_FIELD_NUMBER: _ClassVar[int]
    N_FIELD_NUMBER: _ClassVar[int]
    REPEATS_FIELD_NUMBER: _ClassVar[int]
    ACCURACY_MEAN_FIELD_NUMBER: _ClassVar[int]
    ACCURACY_STD_FIELD_NUMBER: _ClassVar[int]
    MACRO_F1_MEAN_FIELD_NUMBER: _ClassVar[int]
    MACRO_F1_STD_FIELD_NUMBER: _ClassVar[int]
    ACCURACY_SCORES_FIELD_NUMBER: _ClassVar[int]
    CLASS_N_FIELD_NUMBER: _ClassVar[int]
    CLASS_RECALL_MEAN_FIELD_NUMBER: _ClassVar[int]
    CLASS_RECALL_STD_FIELD_NUMBER: _ClassVar[int]
    fraction: float
    n: float
    repeats: int
    accuracy_mean: float
    accuracy_std: float
    macro_f1_mean: float
    macro_f1_std: float
    accuracy_scores: _containers.RepeatedScalarFieldContainer[float]
    class_n: _containers.RepeatedScalarFieldContainer[float]
    class_recall_mean: _containers.RepeatedScalarFieldContainer[float]
    class_recall_std: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, fraction: _Optional[float] = ..., n: _Optional[float] = ..., repeats: _Optional[int] = ..., accuracy_mean: _Optional[float] = ..., accuracy_std: _Optional[float] = ..., macro_f1_mean: _Optional[float] = ..., macro_f1_std: _Optional[float] = ..., accuracy_scores: _Optional[_Iterable[float]] = ..., class_n: _Optional[_Iterable[float]] = ..., class_recall_mean: _Optional[_Iterable[float]] = ..., class_recall_std: _Optional[_Iterable[float]] = ...) -> None: ...

class ImbalanceResult(_message.Message):
    __slots__ = ("n_items", "n_classes", "classes", "imbalance_ratio", "normalised_entropy", "minority_rule", "minority_classes", "weights", "beta", "beta_rule", "resampling", "balanced_note", "splits", "drift", "hierarchy")
    N_ITEMS_FIELD_NUMBER: _ClassVar[int]
    N_CLASSES_FIELD_NUMBER: _ClassVar[int]
    CLASSES_FIELD_NUMBER: _ClassVar[int]
    IMBALANCE_RATIO_FIELD_NUMBER: _ClassVar[int]
    NORMALISED_ENTROPY_FIELD_NUMBER: _ClassVar[int]
    MINORITY_RULE_FIELD_NUMBER: _ClassVar[int]
    MINORITY_CLASSES_FIELD_NUMBER: _ClassVar[int]
    WEIGHTS_FIELD_NUMBER: _ClassVar[int]
    BETA_FIELD_NUMBER: _ClassVar[int]
    BETA_RULE_FIELD_NUMBER: _ClassVar[int]
    RESAMPLING_FIELD_NUMBER: _ClassVar[int]
    BALANCED_NOTE_FIELD_NUMBER: _ClassVar[int]
    SPLITS_FIELD_NUMBER: _ClassVar[int]
    DRIFT_FIELD_NUMBER: _ClassVar[int]
    HIERARCHY_FIELD_NUMBER: _ClassVar[int]
    n_items: int
    n_classes: int
    classes: _containers.RepeatedCompositeFieldContainer[ClassCount]
    imbalance_ratio: float
    normalised_entropy: float
    minority_rule: str
    minority_classes: _containers.RepeatedScalarFieldContainer[str]
    weights: _containers.RepeatedCompositeFieldContainer[ClassWeights]
    beta: float
    beta_rule: str
    resampling: ResamplingPlan
    balanced_note: str
    splits: _containers.RepeatedCompositeFieldContainer[SplitDistribution]
    drift: _containers.RepeatedCompositeFieldContainer[SplitDrift]
    hierarchy: HierarchySuggestion
    def __init__(self, n_items: _Optional[int] = ..., n_classes: _Optional[int] = ..., classes: _Optional[_Iterable[_Union[ClassCount, _Mapping]]] = ..., imbalance_ratio: _Optional[float] = ..., normalised_entropy: _Optional[float] = ..., minority_rule: _Optional[str] = ..., minority_classes: _Optional[_Iterable[str]] = ..., weights: _Optional[_Iterable[_Union[ClassWeights, _Mapping]]] = ..., beta: _Optional[float] = ..., beta_rule: _Optional[str] = ..., resampling: _Optional[_Union[ResamplingPlan, _Mapping]] = ..., balanced_note: _Optional[str] = ..., splits: _Optional[_Iterable[_Union[SplitDistribution, _Mapping]]] = ..., drift: _Optional[_Iterable[_Union[SplitDrift, _Mapping]]] = ..., hierarchy: _Optional[_Union[HierarchySuggestion, _Mapping]] = ...) -> None: ...

class ClassCount(_message.Message):
    __slots__ = ("label", "count", "proportion", "minority")
    LABEL_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    PROPORTION_FIELD_NUMBER: _ClassVar[int]
    MINORITY_FIELD_NUMBER: _ClassVar[int]
    label: str
    count: int
    proportion: float
    minority: bool
    def __init__(self, label: _Optional[str] = ..., count: _Optional[int] = ..., proportion: _Optional[float] = ..., minority: _Optional[bool] = ...) -> None: ...

class ClassWeights(_message.Message):
    __slots__ = ("strategy", "weights", "beta")
    class WeightsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    WEIGHTS_FIELD_NUMBER: _ClassVar[int]
    BETA_FIELD_NUMBER: _ClassVar[int]
    strategy: str
    weights: _containers.ScalarMap[str, float]
    beta: float
    def __init__(self, strategy: _Optional[str] = ..., weights: _Optional[_Mapping[str, float]] = ..., beta: _Optional[float] = ...) -> None: ...

class ResamplingPlan(_message.Message):
    __slots__ = ("target_rule", "target_count", "classes", "augmented_total", "total_after_oversampling", "undersample_to", "total_after_undersampling", "discarded_by_undersampling")
    TARGET_RULE_FIELD_NUMBER: _ClassVar[int]
    TARGET_COUNT_FIELD_NUMBER: _ClassVar[int]
    CLASSES_FIELD_NUMBER: _ClassVar[int]
    AUGMENTED_TOTAL_FIELD_NUMBER: _ClassVar[int]
    TOTAL_AFTER_OVERSAMPLING_FIELD_NUMBER: _ClassVar[int]
    UNDERSAMPLE_TO_FIELD_NUMBER: _ClassVar[int]
    TOTAL_AFTER_UNDERSAMPLING_FIELD_NUMBER: _ClassVar[int]
    DISCARDED_BY_UNDERSAMPLING_FIELD_NUMBER: _ClassVar[int]
    target_rule: str
    target_count: int
    classes: _containers.RepeatedCompositeFieldContainer[ClassResampling]
    augmented_total: int
    total_after_oversampling: int
    undersample_to: int
    total_after_undersampling: int
    discarded_by_undersampling: int
    def __init__(self, target_rule: _Optional[str] = ..., target_count: _Optional[int] = ..., classes: _Optional[_Iterable[_Union[ClassResampling, _Mapping]]] = ..., augmented_total: _Optional[int] = ..., total_after_oversampling: _Optional[int] = ..., undersample_to: _Optional[int] = ..., total_after_undersampling: _Optional[int] = ..., discarded_by_undersampling: _Optional[int] = ...) -> None: ...

class ClassResampling(_message.Message):
    __slots__ = ("label", "count", "oversample_factor", "augmented_needed", "undersample_keep")
    LABEL_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    OVERSAMPLE_FACTOR_FIELD_NUMBER: _ClassVar[int]
    AUGMENTED_NEEDED_FIELD_NUMBER: _ClassVar[int]
    UNDERSAMPLE_KEEP_FIELD_NUMBER: _ClassVar[int]
    label: str
    count: int
    oversample_factor: float
    augmented_needed: int
    undersample_keep: int
    def __init__(self, label: _Optional[str] = ..., count: _Optional[int] = ..., oversample_factor: _Optional[float] = ..., augmented_needed: _Optional[int] = ..., undersample_keep: _Optional[int] = ...) -> None: ...

class SplitDistribution(_message.Message):
    __slots__ = ("split", "total", "counts", "proportions", "missing_classes")
    class CountsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    class ProportionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    SPLIT_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    PROPORTIONS_FIELD_NUMBER: _ClassVar[int]
    MISSING_CLASSES_FIELD_NUMBER: _ClassVar[int]
    split: str
    total: int
    counts: _containers.ScalarMap[str, int]
    proportions: _containers.ScalarMap[str, float]
    missing_classes: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, split: _Optional[str] = ..., total: _Optional[int] = ..., counts: _Optional[_Mapping[str, int]] = ..., proportions: _Optional[_Mapping[str, float]] = ..., missing_classes: _Optional[_Iterable[str]] = ...) -> None: ...

class SplitDrift(_message.Message):
    __slots__ = ("splits", "total_variation", "chi2", "dof", "p_value", "low_expected_counts", "missing")
    class MissingEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _common_pb2.StringList
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_common_pb2.StringList, _Mapping]] = ...) -> None: ...
    SPLITS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_VARIATION_FIELD_NUMBER: _ClassVar[int]
    CHI2_FIELD_NUMBER: _ClassVar[int]
    DOF_FIELD_NUMBER: _ClassVar[int]
    P_VALUE_FIELD_NUMBER: _ClassVar[int]
    LOW_EXPECTED_COUNTS_FIELD_NUMBER: _ClassVar[int]
    MISSING_FIELD_NUMBER: _ClassVar[int]
    splits: _containers.RepeatedScalarFieldContainer[str]
    total_variation: float
    chi2: float
    dof: int
    p_value: float
    low_expected_counts: bool
    missing: _containers.MessageMap[str, _common_pb2.StringList]
    def __init__(self, splits: _Optional[_Iterable[str]] = ..., total_variation: _Optional[float] = ..., chi2: _Optional[float] = ..., dof: _Optional[int] = ..., p_value: _Optional[float] = ..., low_expected_counts: _Optional[bool] = ..., missing: _Optional[_Mapping[str, _common_pb2.StringList]] = ...) -> None: ...

class HierarchySuggestion(_message.Message):
    __slots__ = ("recommended", "reason", "linkage", "metric", "nodes", "minority", "groups")
    RECOMMENDED_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    LINKAGE_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    NODES_FIELD_NUMBER: _ClassVar[int]
    MINORITY_FIELD_NUMBER: _ClassVar[int]
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    recommended: bool
    reason: str
    linkage: str
    metric: str
    nodes: _containers.RepeatedCompositeFieldContainer[HierarchyNode]
    minority: _containers.RepeatedCompositeFieldContainer[MinorityGrouping]
    groups: _containers.RepeatedCompositeFieldContainer[_common_pb2.StringList]
    def __init__(self, recommended: _Optional[bool] = ..., reason: _Optional[str] = ..., linkage: _Optional[str] = ..., metric: _Optional[str] = ..., nodes: _Optional[_Iterable[_Union[HierarchyNode, _Mapping]]] = ..., minority: _Optional[_Iterable[_Union[MinorityGrouping, _Mapping]]] = ..., groups: _Optional[_Iterable[_Union[_common_pb2.StringList, _Mapping]]] = ...) -> None: ...

class HierarchyNode(_message.Message):
    __slots__ = ("id", "children", "distance", "classes", "count")
    ID_FIELD_NUMBER: _ClassVar[int]
    CHILDREN_FIELD_NUMBER: _ClassVar[int]
    DISTANCE_FIELD_NUMBER: _ClassVar[int]
    CLASSES_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    id: int
    children: _containers.RepeatedScalarFieldContainer[int]
    distance: float
    classes: _containers.RepeatedScalarFieldContainer[str]
    count: int
    def __init__(self, id: _Optional[int] = ..., children: _Optional[_Iterable[int]] = ..., distance: _Optional[float] = ..., classes: _Optional[_Iterable[str]] = ..., count: _Optional[int] = ...) -> None: ...

class MinorityGrouping(_message.Message):
    __slots__ = ("label", "nearest_frequent", "similarity", "group")
    LABEL_FIELD_NUMBER: _ClassVar[int]
    NEAREST_FREQUENT_FIELD_NUMBER: _ClassVar[int]
    SIMILARITY_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    label: str
    nearest_frequent: str
    similarity: float
    group: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, label: _Optional[str] = ..., nearest_frequent: _Optional[str] = ..., similarity: _Optional[float] = ..., group: _Optional[_Iterable[str]] = ...) -> None: ...

class ImageQualityResult(_message.Message):
    __slots__ = ("n_items", "n_flagged", "counts", "items", "thresholds", "dataset_facts", "listed_all")
    class CountsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    N_ITEMS_FIELD_NUMBER: _ClassVar[int]
    N_FLAGGED_FIELD_NUMBER: _ClassVar[int]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    THRESHOLDS_FIELD_NUMBER: _ClassVar[int]
    DATASET_FACTS_FIELD_NUMBER: _ClassVar[int]
    LISTED_ALL_FIELD_NUMBER: _ClassVar[int]
    n_items: int
    n_flagged: int
    counts: _containers.ScalarMap[str, int]
    items: _containers.RepeatedCompositeFieldContainer[ItemQuality]
    thresholds: ImageQualityThresholds
    dataset_facts: _containers.RepeatedCompositeFieldContainer[DatasetFact]
    listed_all: bool
    def __init__(self, n_items: _Optional[int] = ..., n_flagged: _Optional[int] = ..., counts: _Optional[_Mapping[str, int]] = ..., items: _Optional[_Iterable[_Union[ItemQuality, _Mapping]]] = ..., thresholds: _Optional[_Union[ImageQualityThresholds, _Mapping]] = ..., dataset_facts: _Optional[_Iterable[_Union[DatasetFact, _Mapping]]] = ..., listed_all: _Optional[bool] = ...) -> None: ...

class ItemQuality(_message.Message):
    __slots__ = ("id", "flags")
    ID_FIELD_NUMBER: _ClassVar[int]
    FLAGS_FIELD_NUMBER: _ClassVar[int]
    id: str
    flags: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[str] = ..., flags: _Optional[_Iterable[str]] = ...) -> None: ...

class DatasetFact(_message.Message):
    __slots__ = ("flag", "share", "detail")
    FLAG_FIELD_NUMBER: _ClassVar[int]
    SHARE_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    flag: str
    share: float
    detail: str
    def __init__(self, flag: _Optional[str] = ..., share: _Optional[float] = ..., detail: _Optional[str] = ...) -> None: ...

class AgreementResult(_message.Message):
    __slots__ = ("n_items", "n_annotated", "n_multi", "labels", "annotators", "mean_agreement", "fleiss_kappa", "ties", "disputed_count", "full_disagreement_count", "consensus", "disputed", "pairwise", "per_annotator", "given_label_disagreements")
    N_ITEMS_FIELD_NUMBER: _ClassVar[int]
    N_ANNOTATED_FIELD_NUMBER: _ClassVar[int]
    N_MULTI_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    ANNOTATORS_FIELD_NUMBER: _ClassVar[int]
    MEAN_AGREEMENT_FIELD_NUMBER: _ClassVar[int]
    FLEISS_KAPPA_FIELD_NUMBER: _ClassVar[int]
    TIES_FIELD_NUMBER: _ClassVar[int]
    DISPUTED_COUNT_FIELD_NUMBER: _ClassVar[int]
    FULL_DISAGREEMENT_COUNT_FIELD_NUMBER: _ClassVar[int]
    CONSENSUS_FIELD_NUMBER: _ClassVar[int]
    DISPUTED_FIELD_NUMBER: _ClassVar[int]
    PAIRWISE_FIELD_NUMBER: _ClassVar[int]
    PER_ANNOTATOR_FIELD_NUMBER: _ClassVar[int]
    GIVEN_LABEL_DISAGREEMENTS_FIELD_NUMBER: _ClassVar[int]
    n_items: int
    n_annotated: int
    n_multi: int
    labels: _containers.RepeatedScalarFieldContainer[str]
    annotators: _containers.RepeatedScalarFieldContainer[str]
    mean_agreement: float
    fleiss_kappa: float
    ties: int
    disputed_count: int
    full_disagreement_count: int
    consensus: _containers.RepeatedScalarFieldContainer[str]
    disputed: _containers.RepeatedCompositeFieldContainer[DisputedItem]
    pairwise: _containers.RepeatedCompositeFieldContainer[PairKappa]
    per_annotator: _containers.RepeatedCompositeFieldContainer[AnnotatorSummary]
    given_label_disagreements: int
    def __init__(self, n_items: _Optional[int] = ..., n_annotated: _Optional[int] = ..., n_multi: _Optional[int] = ..., labels: _Optional[_Iterable[str]] = ..., annotators: _Optional[_Iterable[str]] = ..., mean_agreement: _Optional[float] = ..., fleiss_kappa: _Optional[float] = ..., ties: _Optional[int] = ..., disputed_count: _Optional[int] = ..., full_disagreement_count: _Optional[int] = ..., consensus: _Optional[_Iterable[str]] = ..., disputed: _Optional[_Iterable[_Union[DisputedItem, _Mapping]]] = ..., pairwise: _Optional[_Iterable[_Union[PairKappa, _Mapping]]] = ..., per_annotator: _Optional[_Iterable[_Union[AnnotatorSummary, _Mapping]]] = ..., given_label_disagreements: _Optional[int] = ...) -> None: ...

class DisputedItem(_message.Message):
    __slots__ = ("index", "consensus", "agreement", "pairwise_agreement", "votes", "full_disagreement", "tie", "tied_labels", "id", "given_label")
    class VotesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    INDEX_FIELD_NUMBER: _ClassVar[int]
    CONSENSUS_FIELD_NUMBER: _ClassVar[int]
    AGREEMENT_FIELD_NUMBER: _ClassVar[int]
    PAIRWISE_AGREEMENT_FIELD_NUMBER: _ClassVar[int]
    VOTES_FIELD_NUMBER: _ClassVar[int]
    FULL_DISAGREEMENT_FIELD_NUMBER: _ClassVar[int]
    TIE_FIELD_NUMBER: _ClassVar[int]
    TIED_LABELS_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    GIVEN_LABEL_FIELD_NUMBER: _ClassVar[int]
    index: int
    consensus: str
    agreement: float
    pairwise_agreement: float
    votes: _containers.ScalarMap[str, int]
    full_disagreement: bool
    tie: bool
    tied_labels: _containers.RepeatedScalarFieldContainer[str]
    id: str
    given_label: str
    def __init__(self, index: _Optional[int] = ..., consensus: _Optional[str] = ..., agreement: _Optional[float] = ..., pairwise_agreement: _Optional[float] = ..., votes: _Optional[_Mapping[str, int]] = ..., full_disagreement: _Optional[bool] = ..., tie: _Optional[bool] = ..., tied_labels: _Optional[_Iterable[str]] = ..., id: _Optional[str] = ..., given_label: _Optional[str] = ...) -> None: ...

class PairKappa(_message.Message):
    __slots__ = ("a", "b", "items", "observed_agreement", "kappa")
    A_FIELD_NUMBER: _ClassVar[int]
    B_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_AGREEMENT_FIELD_NUMBER: _ClassVar[int]
    KAPPA_FIELD_NUMBER: _ClassVar[int]
    a: str
    b: str
    items: int
    observed_agreement: float
    kappa: float
    def __init__(self, a: _Optional[str] = ..., b: _Optional[str] = ..., items: _Optional[int] = ..., observed_agreement: _Optional[float] = ..., kappa: _Optional[float] = ...) -> None: ...

class AnnotatorSummary(_message.Message):
    __slots__ = ("annotator", "items", "agreement_with_consensus")
    ANNOTATOR_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    AGREEMENT_WITH_CONSENSUS_FIELD_NUMBER: _ClassVar[int]
    annotator: str
    items: int
    agreement_with_consensus: float
    def __init__(self, annotator: _Optional[str] = ..., items: _Optional[int] = ..., agreement_with_consensus: _Optional[float] = ...) -> None: ...

class Observation(_message.Message):
    __slots__ = ("n", "scores")
    N_FIELD_NUMBER: _ClassVar[int]
    SCORES_FIELD_NUMBER: _ClassVar[int]
    n: float
    scores: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, n: _Optional[float] = ..., scores: _Optional[_Iterable[float]] = ...) -> None: ...
