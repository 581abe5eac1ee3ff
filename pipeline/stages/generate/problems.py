"""Replies that cannot be used, as findings the repair loop sends back to the model.

A reply with no usable code, a refusal, a reply cut at the token limit, or one whose code
comes with helpers the inject stage cannot place is a problem of that one stub's answer, not
of the request: the stub is asked again, with the finding in its prompt, and the other stubs
of the request are kept. Codes (rule ``reply``):

* RPL001 no usable code in the reply (no code block, only placeholders, empty);
* RPL002 the reply was cut at the token limit;
* RPL003 the model refused (OpenAI's ``refusal``, the provider's content filter);
* RPL004 the code needs helpers beside the function that cannot be placed (new members of
  its class);
* RPL005 the code changes what the module already has outside the function.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pipeline.models import Finding, GeneratedBody, Severity
from pipeline.stages.generate.base import GenerateError

RULE = "reply"
NO_CODE_IN_REPLY = "NO_CODE_IN_REPLY"
NO_CODE_RULE_CODE = "RPL001"
REPLY_CUT = "REPLY_CUT"
REPLY_REFUSED = "REPLY_REFUSED"
REPLY_HELPERS = "REPLY_HELPERS"
REPLY_UNUSABLE = "REPLY_UNUSABLE"
"""The request's failure code once every attempt gave an unusable reply for some stub."""

MAX_EXCERPT = 160
MAX_NAMES = 5


class ReplyProblem(GenerateError):
    """The reply for one stub cannot be used; ``finding`` says why, for the next prompt."""

    code = NO_CODE_IN_REPLY

    def __init__(
        self, message: str, *, code: str, finding_code: str, excerpt: str = "", **details: Any
    ) -> None:
        super().__init__(message, code=code, **details)
        self.finding_code = finding_code
        self.excerpt = " ".join(excerpt.split())[:MAX_EXCERPT]

    def finding(self, qualified_name: str) -> Finding:
        return Finding(
            rule=RULE,
            code=self.finding_code,
            severity=Severity.ERROR,
            line=1,
            message=self.message,
            snippet=self.excerpt,
            qualified_name=qualified_name,
        )


class ReplyProblems(GenerateError):
    """Some stubs got an unusable reply (and no call failed otherwise): ``bodies`` holds the
    good ones, ``findings`` one per failing stub. The generate stage routes the request to
    ``repairs`` with both."""

    code = REPLY_UNUSABLE

    def __init__(
        self, bodies: Sequence[GeneratedBody], findings: Sequence[Finding], **details: Any
    ) -> None:
        names = [f.qualified_name or "?" for f in findings]
        shown = ", ".join(names[:MAX_NAMES])
        more = f" and {len(names) - MAX_NAMES} more" if len(names) > MAX_NAMES else ""
        super().__init__(f"no usable reply for {len(names)} stub(s): {shown}{more}", **details)
        self.bodies = list(bodies)
        self.findings = list(findings)
