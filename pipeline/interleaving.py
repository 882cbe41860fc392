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


def image_sentences(question: str) -> list:
    """Per placeholder, in order, the sentence of the question that holds it: the text bound to
    that image (a sentence holding two placeholders is given to both)."""
    found = []
    for sentence in re.split(r"(?<=[.?!;])\s+", question):
        found += [sentence.strip()] * len(PLACEHOLDER.findall(sentence))
    return found


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


# --- what the reasoning may cite ------------------------------------------------------------

# "Image 2", "images 1, 3 and 4", "the 6 images": which images, or how many, never a fact.
_IMAGE_NUMBERS = re.compile(r"\b(?:images?|photos?|frames?|views?|tiles?|charts?|panels?) \d+(?:(?:, | and | or )\d+)*"
                            r"|\b\d+ (?:images|photos|frames|views|tiles|charts|panels)\b", re.I)
# A number ends at a letter or digit, or at a point followed by a digit; a full stop after it ends a sentence.
_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?!\w|\.\d)")


def _numbers(text: str) -> set:
    return set(_NUMBER.findall(_IMAGE_NUMBERS.sub(" ", text)))


def unstated_numbers(draft: dict) -> set:
    """Numbers the reasoning cites (image numbers aside) that neither the question's text nor an
    option states: facts a reader of the question and the images could not have (a depth, a
    weight, a timestamp from the metadata). Captions are left out: they describe what the picture
    shows, and a number written in the picture (a price tag) is there to be read."""
    reasoning = draft["reasoning"]
    steps = [reasoning["summary"], reasoning["conclusion"].rsplit("Answer:", 1)[0],
             *(e["text"] for e in reasoning["text2region"]),
             *(f"{e['relation']} {e['explanation']}" for e in reasoning["region2region"])]
    stated = _numbers(" ".join([draft["question"], *(o["text"] for o in draft["options"])]))
    return _numbers(" ".join(steps)) - stated


def singles_out(text: str, answer: str, distractors: list) -> bool:
    """``text`` holds the answer's text while some distractor's is absent: it gives the answer away."""
    lowered = text.lower()
    return answer.lower() in lowered and not all(d.lower() in lowered for d in distractors)


# --- what the text binds to each image --------------------------------------------------------

_CLAUSE_END = re.compile(r"(?<=[.?!;:])\s+")
# Words that say where an image stands among the others shown, or that it is one more of them:
# no fact about what it shows.
_NEUTRAL = frozenset("""another one more further yet still last first next also again shown them they
here each some tile tiles picture pictures chart charts panel panels""".split())
_IMAGE_OPTION = re.compile(r"^\s*(?:image|picture|photo|frame|view|tile|chart|panel)\s+(\d+)\s*$", re.I)
_ORDERING = re.compile(r"^\s*\d+(?:\s*,\s*\d+)+\s*$")


def bound_texts(question: str) -> list:
    """Per placeholder, in order, the text bound to that image: its clause (clauses end at . ? ! ; :)
    from the clause's start, or from the image before it in the same clause, up to the next image
    or the clause's end. "<image> is one of them, <image> is another" binds "is one of them," and
    "is another"."""
    bound = []
    for clause in _CLAUSE_END.split(question):
        pieces = PLACEHOLDER.split(clause)
        for k in range(1, len(pieces)):
            bound.append((pieces[0] if k == 1 else "") + " " + pieces[k])
    return bound


def _fact_words(text: str) -> frozenset:
    return frozenset(_content_words(text) - _NEUTRAL)


def option_images(texts: list):
    """The image numbers the options name, when every option is one image ("Image 3") or an
    ordering of images ("3, 1, 2"); with an ordering, only the images whose place differs between
    options (an image every option puts in the same place is given by the text). None otherwise."""
    single = [_IMAGE_OPTION.match(t) for t in texts]
    if all(single):
        return {int(m.group(1)) for m in single}
    if all(_ORDERING.match(t) for t in texts):
        orders = [[int(n) for n in re.findall(r"\d+", t)] for t in texts]
        return {n for place in zip(*orders) if len(set(place)) > 1 for n in place}
    return None


def answer_from_knowledge(question: str, options: list, names=()) -> str:
    """Why a reader with the text and options alone could answer from what they know ("" when the
    text gives no such hold). Where the options are images (or orderings of images), the text must
    not bind different facts to the images the options tell apart: knowing which fact wins would
    point at an image ("<image> shows the man. <image> shows the coin. Which image shows something
    heavier than a cat?"). Where the options are things, none may be one of ``names`` (the objects
    the sample's regions are labelled with) that the question's text also names: knowing the
    things ranks them ("the motorcycle or the cat: which is faster?"). ``options`` are the option
    texts."""
    images = option_images(options)
    if images is not None:
        bound = bound_texts(question)
        facts = {n: _fact_words(bound[n - 1]) for n in sorted(images) if 0 < n <= len(bound)}
        told_apart = sorted(n for n, words in facts.items() if any(words != other for other in facts.values()))
        return f"the text tells the option images {told_apart} apart by what it says of each" if told_apart else ""
    asked = question.lower()
    ranked = sorted({o for o in options for name in names
                     if name and name.lower() in o.lower() and name.lower() in asked})
    return f"the question's text names the options {ranked}, so knowing them may rank them" if ranked else ""


def knowledge_hold(record: dict) -> str:
    """``answer_from_knowledge`` of a draft or sample record (its question, option texts and the
    labels of its Text2Region steps); "" for a record of another shape (MIR-native options)."""
    options = record.get("options")
    if not (isinstance(options, list) and all(isinstance(o, dict) and "text" in o for o in options)):
        return ""
    labels = [e.get("label", "") for e in record.get("reasoning", {}).get("text2region", [])]
    return answer_from_knowledge(record["question"], [o["text"] for o in record["options"]], labels)
