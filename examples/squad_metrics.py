"""
The official SQuAD evaluation (the v1.1 and v2.0 evaluation scripts of the SQuAD authors), offline and without the
`evaluate` package: exact match (EM) and token-overlap F1 of each predicted answer against every gold answer of its
question, keeping the best, averaged over the questions and reported in percent.

Both texts are normalised first, exactly as the official scripts do, in this order:

1. lower-case;
2. remove ASCII punctuation (`string.punctuation`), without inserting a space: `"U.S."` becomes `"us"`;
3. replace the whole words "a", "an" and "the" by a space;
4. collapse runs of whitespace to single spaces and strip the ends.

So `normalize_answer("The  Cat, a dog!") == "cat dog"`. EM is 1 when the normalised texts are equal. F1 compares the
bags of whitespace-separated tokens of the normalised texts: with `c` tokens in common (counting repeats), precision
`c / len(prediction)` and recall `c / len(gold)`, F1 is `2 * precision * recall / (precision + recall)`, 0 when `c`
is 0. SQuAD v2.0 adds unanswerable questions, whose gold answer is `""`: F1 is then 1 when both texts normalise to
nothing and 0 when only one does, and gold answers that normalise to nothing are left out (a question with no gold
answer left counts as unanswerable). The v2.0 results also report the answerable (`HasAns_*`) and unanswerable
(`NoAns_*`) questions separately; the script's "best threshold" search over no-answer probabilities is not included.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Mapping, Sequence

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = frozenset(string.punctuation)


def normalize_answer(text: str) -> str:
    """Lower-case, remove punctuation and the articles a/an/the, and collapse whitespace (the official order)."""
    text = "".join(character for character in text.lower() if character not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, ground_truth: str) -> float:
    """1.0 when the prediction and the gold answer are equal once normalised, else 0.0."""
    return float(normalize_answer(prediction) == normalize_answer(ground_truth))


def f1_score(prediction: str, ground_truth: str) -> float:
    """
    The token-overlap F1 of a prediction against one gold answer, after normalisation. When either normalises to no
    token, 1.0 if both do and 0.0 otherwise (SQuAD v2.0's rule for "no answer").
    """
    prediction_tokens = normalize_answer(prediction).split()
    truth_tokens = normalize_answer(ground_truth).split()
    if not prediction_tokens or not truth_tokens:
        return float(prediction_tokens == truth_tokens)
    common = sum((Counter(prediction_tokens) & Counter(truth_tokens)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(prediction_tokens), common / len(truth_tokens)
    return 2 * precision * recall / (precision + recall)


def squad_metrics(
    predictions: Mapping[str, str],
    references: Mapping[str, Sequence[str]],
    version_2_with_negative: bool = False,
) -> dict[str, float]:
    """
    Score predicted answers with the official SQuAD v1.1 or v2.0 evaluation.

    Args:
        predictions (`dict[str, str]`): the predicted answer per question id (`""` for "no answer" in v2.0).
        references (`dict[str, list[str]]`): the gold answer texts per question id (e.g. a row's
            `answers["text"]`), an empty list for an unanswerable question (v2.0 only).
        version_2_with_negative (`bool`, *optional*, defaults to `False`): use the v2.0 script's rules and results.

    Returns:
        `dict[str, float]`: in percent. v1.1: `exact_match` and `f1`. v2.0: `exact`, `f1` and `total` (the number of
        questions), plus `HasAns_exact`, `HasAns_f1`, `HasAns_total` when some questions are answerable and
        `NoAns_exact`, `NoAns_f1`, `NoAns_total` when some are not.

    Raises:
        `ValueError`: naming the question id, when a question has no prediction or a prediction has no question, or
        (v1.1) a question has no gold answer; also for empty references.
    """
    if not references:
        raise ValueError("no references to score")
    missing = [question_id for question_id in references if question_id not in predictions]
    if missing:
        raise ValueError(f"no prediction for {len(missing)} question(s), e.g. {missing[0]!r}")
    unknown = [question_id for question_id in predictions if question_id not in references]
    if unknown:
        raise ValueError(f"{len(unknown)} prediction(s) for questions without references, e.g. {unknown[0]!r}")
    exact: dict[str, float] = {}
    f1: dict[str, float] = {}
    for question_id, answers in references.items():
        prediction = predictions[question_id]
        if version_2_with_negative:
            answers = [answer for answer in answers if normalize_answer(answer)] or [""]
        elif not answers:
            raise ValueError(
                f"question {question_id!r} has no gold answer; pass version_2_with_negative=True for SQuAD v2.0"
            )
        exact[question_id] = max(exact_match(prediction, answer) for answer in answers)
        # The v1.1 script gives F1 0 when the texts share no token, also when both normalise to nothing.
        f1[question_id] = max(
            f1_score(prediction, answer) if version_2_with_negative or normalize_answer(answer) else 0.0
            for answer in answers
        )
    if not version_2_with_negative:
        return {"exact_match": _percent(exact, references), "f1": _percent(f1, references)}
    results = {"exact": _percent(exact, references), "f1": _percent(f1, references), "total": len(references)}
    for prefix, has_answer in (("HasAns", True), ("NoAns", False)):
        subset = [question_id for question_id, answers in references.items() if bool(answers) == has_answer]
        if subset:
            results[f"{prefix}_exact"] = _percent(exact, subset)
            results[f"{prefix}_f1"] = _percent(f1, subset)
            results[f"{prefix}_total"] = len(subset)
    return results


def _percent(scores: Mapping[str, float], question_ids: Sequence[str] | Mapping[str, object]) -> float:
    return 100.0 * sum(scores[question_id] for question_id in question_ids) / len(question_ids)
