"""The debt case a call is about: who we expect to reach and what is owed.

Loaded from a JSON case file; every error names the file and the field (expected vs got) so a bad
case file is fixed in seconds instead of surfacing as a traceback mid-call.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ivr.datafile import read_json, validate


class CaseError(ValueError):
    """A case file is missing, not JSON, or has a field of the wrong type."""


class Case(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    case_id: str = "demo-0001"
    name: str = Field(default="张伟", min_length=1)
    amount: int = Field(default=3500, gt=0)  # overdue amount in yuan
    days_overdue: int = Field(default=30, ge=0)
    company: str = Field(default="安信消费金融", min_length=1)
    phone: str = "400-800-1234"  # callback number the company publishes (told to third parties)
    caller_number: str | None = None
    product: str = "消费贷"
    # SPEC §1 optional second factor: ask the last 4 characters of the ID number before disclosure
    verify: bool = False
    id_last4: str | None = Field(default=None, pattern=r"^[0-9]{3}[0-9Xx]$")
    # optional fee breakdown of `amount` (yuan): answers "what are these fees?" (audio_prompts/company.yaml)
    principal: int | None = Field(default=None, ge=0)
    interest: int | None = Field(default=None, ge=0)
    fees: int | None = Field(default=None, ge=0)
    penalty: int | None = Field(default=None, ge=0)

    @property
    def needs_verification(self) -> bool:
        return self.verify and self.id_last4 is not None

    @classmethod
    def from_dict(cls, data: Any, source: str = "<case>") -> Case:
        if not isinstance(data, dict):
            raise CaseError(f"{source}: expected a JSON object, got {type(data).__name__}")
        return validate(cls, data, source, CaseError)

    @classmethod
    def load(cls, path: Path | str) -> Case:
        return cls.from_dict(read_json(Path(path), CaseError, "case file"), str(path))

    def as_dict(self) -> dict[str, Any]:
        data = self.model_dump()
        if not self.verify and self.id_last4 is None:  # the second factor only where a case has one
            del data["verify"], data["id_last4"]
        for name in BREAKDOWN:  # only the parts a case has
            if data.get(name) is None:
                data.pop(name, None)
        return data

    def breakdown(self) -> dict[str, int] | None:
        """principal/interest/fees/penalty when the case has a principal (missing parts are 0)."""
        if self.principal is None:
            return None
        return {name: getattr(self, name) or 0 for name in BREAKDOWN}


BREAKDOWN = ("principal", "interest", "fees", "penalty")
