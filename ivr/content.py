"""Per-company content: answers to caller questions, how the bot calls itself, what it may decide.

`audio_prompts/company.yaml` (docs/dialog.md "Questions, reductions, patience"): a `default` block and
per-company overrides (`companies.<name>`, field by field).  Answers are prompt variants (validated
like prompts.yaml, linted for forbidden words, at least 2 variants each); `policy` is what the bot may
agree without a person.  Loading fails with one line naming the file and the field.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, cast

from pydantic import BaseModel, ConfigDict, Field

from ivr.datafile import read_yaml, validate
from ivr.prompts import PromptBook, PromptError

TOPICS = ("who", "number_source", "robot", "credit_report", "fees", "how_to_pay", "consequences", "privacy", "other")
BEFORE_IDENTITY = ("who", "robot", "number_source")  # the only topics answered before identity is confirmed
MIN_VARIANTS = 2


class ContentError(ValueError):
    """company.yaml is missing, malformed, or names an unknown topic / field."""


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_installments: int | None = Field(default=None, ge=1)
    max_extension_months: int | None = Field(default=None, ge=1)
    min_first_payment: int | None = Field(default=None, ge=0)
    reduction_without_person: bool | None = None
    reduction_offer: list[str] | None = None


class _Block(BaseModel):
    model_config = ConfigDict(extra="forbid")

    assistant: str | None = Field(default=None, min_length=1)
    answers: dict[str, list[str]] = Field(default_factory=dict)
    policy: Policy = Field(default_factory=Policy)


class CompanyContent(BaseModel):
    """One company's content, the default block merged with its overrides."""

    model_config = ConfigDict(frozen=True)

    assistant: str = "智能语音助手"
    max_installments: int = 12
    max_extension_months: int = 3
    min_first_payment: int = 0
    reduction_without_person: bool = False
    book: Any = None  # PromptBook of `answer.<topic>` (+ `reduction.offer`)

    def answers(self) -> PromptBook:
        return cast(PromptBook, self.book)


class ContentBook:
    def __init__(self, path: Path, default: _Block, companies: dict[str, _Block]) -> None:
        self.path = path
        self._default = default
        self._companies = companies
        self._cache: dict[str, CompanyContent] = {}

    @classmethod
    def load(cls, directory: Path | str) -> ContentBook:
        path = Path(directory) / "company.yaml"
        if not path.exists():  # older content folders: built-in defaults, no answers
            return cls(path, _Block(), {})
        raw = read_yaml(path, ContentError)
        if not isinstance(raw, dict):
            raise ContentError(f"{path}: expected a mapping with 'default' and 'companies' at top level")
        unknown = set(raw) - {"default", "companies"}
        if unknown:
            raise ContentError(f"{path}: field {sorted(unknown)[0]}: unknown field; expected one of default, companies")
        default = validate(_Block, raw.get("default") or {}, str(path), ContentError, prefix="default.")
        companies_raw = raw.get("companies") or {}
        if not isinstance(companies_raw, dict):
            raise ContentError(f"{path}: field companies: expected a mapping of company name → content")
        companies = {
            str(name): validate(_Block, body or {}, str(path), ContentError, prefix=f"companies.{name}.")
            for name, body in companies_raw.items()
        }
        book = cls(path, default, companies)
        for where, block in [("default", default), *((f"companies.{n}", b) for n, b in companies.items())]:
            book._check(block, where)
        for name in [None, *companies]:
            book.for_company(name)  # every merged book renders its placeholders
        return book

    def _check(self, block: _Block, where: str) -> None:
        for topic, variants in block.answers.items():
            if topic not in TOPICS:
                raise ContentError(
                    f"{self.path}: field {where}.answers.{topic}: unknown topic; expected one of {', '.join(TOPICS)}"
                )
            if len(variants) < MIN_VARIANTS:
                raise ContentError(
                    f"{self.path}: field {where}.answers.{topic}: expected at least {MIN_VARIANTS} variants, got {len(variants)}"
                )
        offer = block.policy.reduction_offer
        if offer is not None and len(offer) < MIN_VARIANTS:
            raise ContentError(
                f"{self.path}: field {where}.policy.reduction_offer: expected at least {MIN_VARIANTS} variants, got {len(offer)}"
            )

    def for_company(self, company: str | None) -> CompanyContent:
        key = company or ""
        if key in self._cache:
            return self._cache[key]
        d, o = self._default, self._companies.get(key, _Block())
        answers = {**d.answers, **o.answers}
        offer = o.policy.reduction_offer or d.policy.reduction_offer
        raw: dict[str, Any] = {f"answer.{t}": v for t, v in answers.items()}
        if offer:
            raw["reduction.offer"] = offer
        try:
            book = PromptBook.from_mapping(raw, self.path, prefix="")
        except PromptError as e:
            raise ContentError(str(e)) from None

        def pick(name: str, fallback: Any) -> Any:
            for block in (o, d):
                value = getattr(block.policy, name)
                if value is not None:
                    return value
            return fallback

        content = CompanyContent(
            assistant=o.assistant or d.assistant or "智能语音助手",
            max_installments=pick("max_installments", 12),
            max_extension_months=pick("max_extension_months", 3),
            min_first_payment=pick("min_first_payment", 0),
            reduction_without_person=pick("reduction_without_person", False),
            book=book,
        )
        self._cache[key] = content
        return content

    def texts(self) -> list[tuple[str, int, str]]:
        """(where, variant, text) of every answer of every company, for the forbidden-word lint."""
        out: list[tuple[str, int, str]] = []
        for where, block in [("default", self._default), *((f"companies.{n}", b) for n, b in self._companies.items())]:
            for topic, variants in block.answers.items():
                out += [(f"{where}.answers.{topic}", i, t) for i, t in enumerate(variants)]
            for i, t in enumerate(block.policy.reduction_offer or []):
                out.append((f"{where}.policy.reduction_offer", i, t))
        return out


@lru_cache(maxsize=8)
def cached_content(directory: str) -> ContentBook:
    return ContentBook.load(directory)
