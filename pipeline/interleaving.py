"""What "interleaved" means, measured the same way everywhere (templates' tests, the LLM
drafter's re-ask, `mir validate`'s warning, report.json): a question is split on its image
placeholders, as MIR's own inference code splits it, and every stretch of text between two
images must say something of its own, not only an "Image k:" label.

Also the text-only baseline the fairness checks use: options scored by the words they share with
the question's text, images removed. A question whose answer that baseline picks alone gives its
answer away without the images.
"""
import re

PLACEHOLDER = re.compile(r"<image\d*>")
# "Image 3:", "(image 3)", "Photo 2." and the like: a label, not text of the image's own.
_LABEL = re.compile(r"\(?\b(?:image|img|picture|photo|frame|view|panel|chart|tile)\s*#?\d+\)?\s*[:.\-)]?", re.I)
_WORD = re.compile(r"[^\W\d_]{2,}|\d+(?:\.\d+)?", re.UNICODE)
MIN_OWN_WORDS = 2
# Words that carry no fact: they never make an option look supported by the text.
_STOPWORDS = frozenset("""a an the of in on at to and or but is are was were be been it its this that these those
with from by for as than then which what who whose how does do did not no one image images photo photos
frame frames view views shows show shown same other""".split())


def text_between_images(question: str) -> list:
    """The stretches of text between consecutive placeholders (none for fewer than two images)."""
    return PLACEHOLDER.split(question)[1:-1]


def own_words(text: str) -> list:
    return _WORD.findall(_LABEL.sub(" ", text))


def is_interleaved(question: str) -> bool:
    """Two or more images, and text of its own (at least MIN_OWN_WORDS words beyond any image
    label) between every two of them."""
    between = text_between_images(question)
    return bool(between) and all(len(own_words(text)) >= MIN_OWN_WORDS for text in between)


def _content_words(text: str) -> set:
    """Lower-case words and numbers, placeholders, image labels and stopwords left out: an option
    "Image 5" is not supported by a "5 seconds" in the text."""
    return {w.lower() for w in _WORD.findall(_LABEL.sub(" ", PLACEHOLDER.sub(" ", text)))} - _STOPWORDS


def text_only_scores(question: str, options: list) -> list:
    """Per option text, how many of its content words the question's text holds."""
    words = _content_words(question)
    return [len(_content_words(option) & words) for option in options]


def text_only_choice(question: str, options: list):
    """The index of the one option the question's words support best, or None on a tie."""
    scores = text_only_scores(question, options)
    best = max(scores, default=0)
    return scores.index(best) if best and scores.count(best) == 1 else None
