"""A solver's reply is read robustly, and ambiguous replies are not guessed."""
import pytest

from pipeline.difficulty.answers import extract_choice

OPTIONS = [{"label": "A", "text": "Image 1"}, {"label": "B", "text": "the red ball"},
           {"label": "C", "text": "Image 3"}, {"label": "D", "text": "the blue cup"}]


@pytest.mark.parametrize("reply, expected", [
    ('{"answer": "C"}', "C"),
    ('{"answer": "(b)"}', "B"),
    ('```json\n{"answer": "D"}\n```', "D"),
    ('<think>Maybe {"answer": "A"}? No: the cup is blue.</think>{"answer": "D"}', "D"),
    ('I looked at every image. {"answer": "B"} I hope this helps {you}.', "B"),
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
    ('{"a": 1}', {"a": 1}),
    ('  ```json\n{"a": 1}\n```  ', {"a": 1}),
    ('```\n{"a": 1}```', {"a": 1}),
    ('Here it is: ```json\n{"a": 1}\n```', {"a": 1}),
    ('Sure! Here it is: {"a": {"b": [1, 2]}} Anything else?', {"a": {"b": [1, 2]}}),
    ('<think>{"a": 0} looks wrong</think>\n```json\n{"a": 2}\n```', {"a": 2}),
    ('Use {braces} wisely: {"a": 3}', {"a": 3}),
    ('[1, 2] then {"a": 4}', {"a": 4}),
    ('{"a": 5', None),
    ("no JSON here", None),
    ("", None),
])
def test_the_first_complete_json_object_of_a_reply_is_found_wherever_it_sits(reply, expected):
    from pipeline.llm.text import first_json_object
    assert first_json_object(reply) == expected


def test_content_given_as_parts_is_read_as_its_text_parts():
    from pipeline.llm.text import reply_text
    parts = [{"type": "text", "text": '{"answer"'}, {"type": "image_url", "image_url": {"url": "x"}},
             {"type": "text", "text": ': "B"}'}]
    assert reply_text(parts) == '{"answer": "B"}'
    assert reply_text(None) == "" and reply_text("plain") == "plain"
