"""The extractive answer given when no language model is configured."""

from __future__ import annotations

from core.llm import extractive_reply
from core.llm.extractive import MAX_EXCERPT_CHARS, MAX_PASSAGES, NO_PASSAGES, NOTICE

PASSAGES = [
    ("1", "We open at nine and close at five on weekdays."),
    ("2", "Returns are accepted within 30 days with a receipt."),
    ("3", "Shipping is free over 50 euros."),
    ("4", "Gift cards never expire."),
]


def test_reply_is_marked_and_cites_the_best_passages_in_order() -> None:
    reply = extractive_reply("When do you open?", PASSAGES)

    assert reply.startswith(NOTICE)
    assert NOTICE.startswith("No language model is configured")
    assert reply == "\n\n".join(
        [
            NOTICE,
            "[1] We open at nine and close at five on weekdays.",
            "[2] Returns are accepted within 30 days with a receipt.",
            "[3] Shipping is free over 50 euros.",
        ]
    )
    assert MAX_PASSAGES == 3
    assert "[4]" not in reply


def test_labels_already_in_brackets_are_kept() -> None:
    reply = extractive_reply("hours?", [("[7]", "Open daily."), ("doc-2", "Closed Sundays.")])

    assert "[7] Open daily." in reply
    assert "[[7]]" not in reply
    assert "[doc-2] Closed Sundays." in reply


def test_no_passages_gives_a_friendly_line() -> None:
    assert extractive_reply("Anything?", []) == NO_PASSAGES
    assert extractive_reply("Anything?", [("1", "   "), ("2", "")]) == NO_PASSAGES
    assert NO_PASSAGES.startswith("No language model is configured")


def test_blank_and_repeated_passages_are_skipped() -> None:
    reply = extractive_reply(
        "open?",
        [("1", "Open at nine."), ("2", " "), ("3", "Open  at\nnine."), ("4", "Closed at five.")],
    )

    assert reply == f"{NOTICE}\n\n[1] Open at nine.\n\n[4] Closed at five."


def test_long_passage_is_cut_around_the_sentence_matching_the_question() -> None:
    filler = " ".join(f"Sentence {i} is about something else entirely." for i in range(20))
    answer = "Refunds are paid back to the original card within five days."
    tail = " ".join(f"Closing remark {i} adds nothing useful." for i in range(20))
    text = f"{filler} {answer} {tail}"

    reply = extractive_reply("How are refunds paid back?", [("1", text)])

    body = reply.removeprefix(f"{NOTICE}\n\n[1] ")
    assert body.startswith(f"… {answer}")
    assert body.endswith(" …")
    assert len(body) <= MAX_EXCERPT_CHARS + 4  # the two ellipsis markers


def test_one_very_long_sentence_is_cut_at_a_word() -> None:
    text = "word " * 500

    body = extractive_reply("word", [("1", text)]).removeprefix(f"{NOTICE}\n\n[1] ")

    assert body.endswith("word …")
    assert len(body) <= MAX_EXCERPT_CHARS + 2


def test_reply_is_deterministic() -> None:
    first = extractive_reply("When do you open?", PASSAGES)
    assert all(extractive_reply("When do you open?", PASSAGES) == first for _ in range(5))
