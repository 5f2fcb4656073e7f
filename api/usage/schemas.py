from __future__ import annotations

import uuid
from datetime import date

from api.schemas import Output
from core.billing.metering import Summary, Tokens


class TokensOut(Output):
    input: int
    output: int
    total: int

    @classmethod
    def of(cls, tokens: Tokens) -> TokensOut:
        return cls(input=tokens.input, output=tokens.output, total=tokens.total)


class ChatbotUsageOut(Output):
    chatbot_id: uuid.UUID | None
    name: str
    input: int
    output: int
    total: int


class DayUsageOut(Output):
    day: date  # UTC
    input: int
    output: int
    total: int


class UsageSummaryOut(Output):
    used: TokensOut
    quota: int
    remaining: int
    by_kind: dict[str, TokensOut]  # chat, embedding, memory
    by_chatbot: list[ChatbotUsageOut]
    by_day: list[DayUsageOut]

    @classmethod
    def of(cls, summary: Summary) -> UsageSummaryOut:
        return cls(
            used=TokensOut.of(summary.used),
            quota=summary.quota,
            remaining=summary.remaining,
            by_kind={str(kind): TokensOut.of(tokens) for kind, tokens in summary.by_kind.items()},
            by_chatbot=[
                ChatbotUsageOut(
                    chatbot_id=bot.chatbot_id,
                    name=bot.name,
                    input=bot.tokens.input,
                    output=bot.tokens.output,
                    total=bot.tokens.total,
                )
                for bot in summary.by_chatbot
            ],
            by_day=[
                DayUsageOut(
                    day=day.day,
                    input=day.tokens.input,
                    output=day.tokens.output,
                    total=day.tokens.total,
                )
                for day in summary.by_day
            ],
        )
