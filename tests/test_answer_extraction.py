"""A solver's reply is read robustly, and ambiguous replies are not guessed."""
import pytest

from pipeline.difficulty.answers import extract_choice

OPTIONS = [{"label": "A", "text": "Image 1"}, {"label": "B", "text": "the red ball"},
           {"label": "C", "text": "Image 3"}, {"label": "D", "text": "the blue cup"}]


@pytest.mark.parametrize("reply, expected", [
    ('{"answer": "C"}', "C"),
    ('{"answer": "(b)"}', "B"),
    ('```json\n{"answer": "D"}\n```', "D"),
    ("Answer: B", "B"),
    ("The answer is (D).", "D"),
    ("After comparing the frames, the final answer - c", "C"),
    ("Option B", "B"),
    ("I pick option (a) because it is nearest.", "A"),
    ("(C)", "C"),
    ("b", "B"),
    ("D.", "D"),
    ("C) Image 3", "C"),
    ("It must be the blue cup.", "D"),
    ("", None),
    ("I cannot tell.", None),
    ("Either A or B could be right", None),
    ('{"answer": "Z"}', None),
    ("Answer: Z", None),
    ("the answer is a cat", None),
])
def test_extract_choice(reply, expected):
    assert extract_choice(reply, OPTIONS) == expected


@pytest.mark.parametrize("reply, expected", [
    ('{"a": 1}', '{"a": 1}'),
    ('  ```json\n{"a": 1}\n```  ', '{"a": 1}'),
    ('```\n{"a": 1}```', '{"a": 1}'),
    ('Here it is: ```json\n{"a": 1}\n```', 'Here it is: ```json\n{"a": 1}\n```'),
    (None, ""),
])
def test_unfenced(reply, expected):
    from pipeline.llm.text import unfenced
    assert unfenced(reply) == expected
