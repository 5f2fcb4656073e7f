from __future__ import annotations

import uuid

from api.schemas import Output


class PublicChatbotOut(Output):
    id: uuid.UUID
    name: str
    description: str
