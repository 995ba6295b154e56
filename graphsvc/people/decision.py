"""Automated decisions, as the person sees them (PIPL art. 24).

Every score-on-write answer says that it was produced by automated means and
carries its reasons in plain language, in Chinese and English, from
:data:`PLAIN` (one sentence per reason code, naming no identifier and no other
person); the person may ask for human review (:func:`request`), which
investigators list and close (:func:`close`). Every step is audited.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from graphsvc.analytics.scoring import ReasonCode
from graphsvc.errors import InputError, NotFoundError
from graphsvc.store.base import Store, require_applicant

STATEMENT = {
    "en": "This score was produced by automated means, without a person deciding it. You may ask for a person "
          "to review it and explain it.",
    "zh": "该评分由系统自动生成，未经人工决定。您有权要求人工复核，并获得解释。",
}

#: reason code -> what it means for the applicant, in plain words
PLAIN = {
    ReasonCode.CONFIRMED_FRAUD: ("A confirmed fraud case is recorded for this applicant.",
                                 "该申请人有已确认的欺诈记录。"),
    ReasonCode.RING_MEMBER: ("The application is closely linked to a group of applications that appears to be "
                             "organised fraud.", "该申请与一个疑似团伙欺诈的申请群体紧密关联。"),
    ReasonCode.EMERGING_RING: ("The application joins a group of linked applications, made recently, that looks "
                               "like organised fraud.", "该申请加入了近期形成、疑似团伙欺诈的关联申请群体。"),
    ReasonCode.SHARES_WITH_FRAUD: ("The application shares a device, phone or other detail with an applicant "
                                   "confirmed as fraud.", "该申请与已确认欺诈的申请人共用设备、电话或其他信息。"),
    ReasonCode.DEVICE_VELOCITY: ("The device used was also used by several other applicants in the last days.",
                                 "所用设备近几天也被其他多位申请人使用。"),
    ReasonCode.NETWORK_VELOCITY: ("The network address was used by several other applicants in the last days.",
                                  "所用网络地址近几天也被其他多位申请人使用。"),
    ReasonCode.IDENTITY_VELOCITY: ("The phone number or identity document given was used by other applicants "
                                   "recently.", "所填电话号码或身份证件近期也被其他申请人使用。"),
    ReasonCode.CONTACT_VELOCITY: ("Contact numbers given were also given by many other applicants recently.",
                                  "所填联系人号码近期也被许多其他申请人填写。"),
    ReasonCode.GROUP_VELOCITY: ("Applicants closely linked to this one applied within the last days.",
                                "与该申请紧密关联的其他申请人在近几天内集中申请。"),
    ReasonCode.FRAUD_PROXIMITY: ("The application is a few links away from confirmed fraud.",
                                 "该申请与已确认的欺诈案件仅相隔几层关联。"),
    ReasonCode.HUB_IDENTIFIER: ("A detail of the application is shared by an unusually large number of "
                                "applicants.", "该申请中的某项信息被异常多的申请人共用。"),
    ReasonCode.SHARED_INVALID_VALUE: ("The same invalid phone number, address or identity number was given by a "
                                      "few other applicants.", "少数其他申请人填写了相同的无效电话、地址或身份证号。"),
    ReasonCode.DEFAULT_PROXIMITY: ("The application is a few links away from borrowers who defaulted.",
                                   "该申请与违约借款人仅相隔几层关联。"),
    ReasonCode.SCORECARD_DEVICE: ("The risk model weighed how the device was shared and taken up.",
                                  "风险模型考虑了设备被共用和集中使用的情况。"),
    ReasonCode.SCORECARD_NETWORK: ("The risk model weighed how the network address was shared.",
                                   "风险模型考虑了网络地址被共用的情况。"),
    ReasonCode.SCORECARD_IDENTITY: ("The risk model weighed how the phone number and identity details were "
                                    "shared.", "风险模型考虑了电话号码和身份信息被共用的情况。"),
    ReasonCode.SCORECARD_CONTACT: ("The risk model weighed the contacts given and who else gave them.",
                                   "风险模型考虑了所填联系人及其被他人填写的情况。"),
    ReasonCode.SCORECARD_GROUP: ("The risk model weighed closely linked applicants who applied recently.",
                                 "风险模型考虑了近期申请的紧密关联申请人。"),
    ReasonCode.SCORECARD_RELATIONS: ("The risk model weighed transfers and referrals with other applicants.",
                                     "风险模型考虑了与其他申请人之间的转账和推荐关系。"),
    ReasonCode.SCORECARD_HISTORY: ("The risk model weighed the history of applications.",
                                   "风险模型考虑了历史申请记录。"),
}

OUTCOMES = ("upheld", "changed")


def notice(applicant_id: str, reasons: list[dict]) -> dict:
    """What an answer tells about itself as an automated decision: that it is one,
    its reasons in plain Chinese and English, and where to ask for review."""
    return {"automated": True, "statement": dict(STATEMENT),
            "reasons": [{"code": r["code"], "en": PLAIN[ReasonCode(r["code"])][0],
                         "zh": PLAIN[ReasonCode(r["code"])][1]} for r in reasons],
            "review": f"/v1/applicants/{applicant_id}/review-requests"}


def request(store: Store, applicant_id: str, *, by: str, reason: str | None = None,
            application_id: str | None = None) -> dict:
    """Record a request for human review of the applicant's automated decision.

    Raises
    ------
    NotFoundError
        When the store holds no such applicant.
    """
    require_applicant(store, applicant_id)
    entry = {"review_id": f"rv-{uuid.uuid4().hex[:12]}", "applicant_id": applicant_id,
             "application_id": application_id, "requested_at": _now(), "requested_by": by,
             "reason": reason, "status": "open", "closed_at": None, "closed_by": None, "outcome": None,
             "note": None}
    store.record_review(entry)
    return entry


def close(store: Store, review_id: str, *, by: str, outcome: str, note: str) -> dict:
    """Close a review with its outcome (``upheld``: the decision stands; ``changed``)
    and the reviewer's note.

    Raises
    ------
    NotFoundError
        When no open review has this id.
    ValueError
        When the outcome is not one of :data:`OUTCOMES` or the note is empty.
    """
    if outcome not in OUTCOMES:
        raise InputError(f"outcome must be one of: {', '.join(OUTCOMES)}")
    closed = {"closed_at": _now(), "closed_by": by, "outcome": outcome, "note": review_note(note)}
    if not store.close_review(review_id, closed):
        raise NotFoundError(f"no open review {review_id!r}")
    return store.reviews(review_id=review_id).iloc[0].to_dict()


def review_note(note: str) -> str:
    """The reviewer's note without surrounding whitespace (Python's: control separators
    such as U+001D count); ValueError when fewer than 3 characters are left."""
    if len(note.strip()) < 3:
        raise InputError("the note must say what the review found (3 characters or more)")
    return note.strip()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
