"""Every exercise check accepts the reference solution and rejects a typical mistake."""

from __future__ import annotations

import math

import layer_answers as answers
import numpy as np
import pytest
from keras import ops

from course_lib import alignment, checks, data, metrics, subwords, tokenization, training
from course_lib.models import masked_softmax


def verdict(capsys, check, fn) -> str:
    check(fn)
    return capsys.readouterr().out


def _split_by_source(pairs, fraction, seed):
    splits = data.split_by_source(pairs, 0.0, fraction, seed)
    return splits.train, splits.test


def _pair_level_split(pairs, fraction, seed):
    order = np.random.default_rng(seed).permutation(len(pairs))
    n = round(len(pairs) * fraction)
    return [pairs[i] for i in order[n:]], [pairs[i] for i in order[:n]]


def _loss_over_all_positions(labels, logits):
    import keras

    per_token = keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)
    mask = ops.cast(ops.not_equal(labels, 0), per_token.dtype)
    return ops.mean(per_token * mask)  # the textbook bug: divides by all positions


def _unclipped(hyp, refs, n):
    grams = metrics.ngrams(hyp, n)
    ref_grams = set().union(*(metrics.ngrams(r, n) for r in refs))
    return sum(c for g, c in grams.items() if g in ref_grams), sum(grams.values())


def _mean_sentence_bleu(hyps, refs):
    return float(np.mean([metrics.sentence_bleu(h, r) for h, r in zip(hyps, refs)]))


def _greedy_translate(model, source_ids, start_id, end_id, max_length):
    carry = model.encode(source_ids)
    tokens = np.full(len(source_ids), start_id)
    outputs, done = [[] for _ in range(len(source_ids))], np.zeros(len(source_ids), bool)
    for _ in range(max_length):
        logits, carry, _ = model.decode_step(tokens, carry)
        tokens = np.argmax(np.asarray(logits), axis=-1)
        for i, token in enumerate(tokens):
            if not done[i]:
                outputs[i].append(int(token))
                done[i] = token == end_id
        if done.all():
            break
    return outputs


def _greedy_translate_without_stopping(model, source_ids, start_id, end_id, max_length):
    return _greedy_translate(model, source_ids, start_id, -1, max_length)


def _beam_step(beam_scores, log_probs, width):
    totals = np.asarray(beam_scores)[:, None] + np.asarray(log_probs)
    flat = [(-totals[b, t], b, t) for b in range(totals.shape[0])
            for t in range(totals.shape[1]) if np.isfinite(totals[b, t])]
    return [(b, t, -s) for s, b, t in sorted(flat)[:width]]


def _beam_step_by_next_word(beam_scores, log_probs, width):
    flat = sorted((-log_probs[b, t], b, t) for b in range(log_probs.shape[0])
                  for t in range(log_probs.shape[1]))
    return [(b, t, beam_scores[b] - s) for s, b, t in flat[:width]]


def _replace_unknown(tokens, weights, source_words):
    return [source_words[int(np.argmax(weights[i]))] if t == "[UNK]" else t
            for i, t in enumerate(tokens) if t != "[end]"]


def _replace_unknown_with_last_word(tokens, weights, source_words):
    return [source_words[-1] if t == "[UNK]" else t for t in tokens if t != "[end]"]


def _summary(weights):
    return {"entropy": alignment.attention_entropy(weights),
            "argmax": alignment.max_attention_positions(weights),
            "monotonicity": alignment.monotonicity(weights)}


def _summary_log2(weights):
    result = _summary(weights)
    result["entropy"] = result["entropy"] / math.log(2)
    return result


def _scaled_attention(q, k, v, mask, scale=True):
    scores = np.einsum("btd,bsd->bts", q, k) / (np.sqrt(q.shape[-1]) if scale else 1.0)
    weights = np.asarray(masked_softmax(scores, mask))
    return np.einsum("bts,bsd->btd", weights, v), weights


def _own(fn):
    """The library's function wrapped as if a learner had written it (the checks refuse the
    library's own)."""
    return lambda *args, **kwargs: fn(*args, **kwargs)


CASES = [
    (checks.check_normalize, _own(tokenization.normalize), lambda t: t.lower()),
    (checks.check_types_for_coverage, _own(data.types_for_coverage), lambda texts, f: 1),
    (checks.check_leak_free_split, _split_by_source, _pair_level_split),
    (checks.check_masked_loss, _own(training.masked_loss), _loss_over_all_positions),
    (checks.check_greedy_translate, _greedy_translate, _greedy_translate_without_stopping),
    (checks.check_beam_step, _beam_step, _beam_step_by_next_word),
    (checks.check_train_step, answers.train_step, answers.train_step_without_update),
    (checks.check_clipped_matches, _own(metrics.clipped_matches), _unclipped),
    (checks.check_paired_bootstrap, answers.paired_bootstrap, answers.unpaired_bootstrap),
    (checks.check_corpus_bleu, _own(metrics.corpus_bleu), _mean_sentence_bleu),
    (checks.check_masked_softmax, lambda s, m: np.asarray(masked_softmax(s, m)),
     lambda s, m: np.exp(s) / np.exp(s).sum(-1, keepdims=True) * m),
    (checks.check_attention_step, answers.attention_step, answers.attention_step_word_last),
    (checks.check_diagnose_heatmap, answers.diagnose_heatmap, answers.diagnose_two_rows),
    (checks.check_attention_summary, _summary, _summary_log2),
    (checks.check_replace_unknown, _replace_unknown, _replace_unknown_with_last_word),
    (checks.check_learn_merges, _own(subwords.learn_merges),
     lambda counts, merges: subwords.learn_merges(dict.fromkeys(counts, 1), merges)),
    (checks.check_scaled_dot_product_attention, _scaled_attention,
     lambda q, k, v, m: _scaled_attention(q, k, v, m, scale=False)),
    (checks.check_shift_matrix, answers.shift_matrix, lambda k, d: answers.shift_matrix(k, d).T),
    (checks.check_smoothed_cross_entropy, _own(training.smoothed_cross_entropy),
     answers.smoothed_over_the_other_words),
]

#: Keras-layer exercises: the check, a right class, and a class with a typical mistake.
LAYER_CASES = [
    (checks.check_encoder, answers.Encoder, answers.EncoderWithoutMask),
    (checks.check_fixed_context_decoder, answers.FixedContextDecoder,
     answers.DecoderStartingFromZeros),
    (checks.check_bahdanau_attention, answers.BahdanauAttention,
     answers.AttentionWithoutMask),
    (checks.check_encoder_block, answers.EncoderBlock, answers.PostLNEncoderBlock),
]
LAYER_IDS = [c[0].__name__ for c in LAYER_CASES]


@pytest.mark.parametrize(("check", "right", "wrong"), CASES,
                         ids=[c[0].__name__ for c in CASES])
def test_check_accepts_solution_and_explains_a_mistake(capsys, check, right, wrong):
    good = verdict(capsys, check, right)
    assert good.startswith("✅"), good
    bad = verdict(capsys, check, wrong)
    assert "❌" in bad and "Hint:" in bad, bad


@pytest.mark.parametrize("check", [c[0] for c in CASES], ids=[c[0].__name__ for c in CASES])
def test_check_of_an_unsolved_stub_says_not_implemented(capsys, check):
    def stub(*args, **kwargs):
        raise NotImplementedError("Exercise: write this function")

    out = verdict(capsys, check, stub)
    assert out.startswith("⏳") and "not implemented yet" in out


@pytest.mark.parametrize(("check", "right"), [c[:2] for c in CASES],
                         ids=[c[0].__name__ for c in CASES])
def test_every_check_runs_at_least_three_cases(capsys, check, right):
    out = verdict(capsys, check, right)
    count = int(out.split("all ")[1].split(" cases")[0])
    assert count >= 3, f"{check.__name__} runs only {count} case(s)"


def test_every_chapter_check_is_tested_here():
    tested = {c[0].__name__ for c in CASES + LAYER_CASES}
    exported = {name for name in checks.__all__ if name.startswith("check_")}
    assert exported == tested, exported ^ tested


def test_a_check_refuses_the_library_function_as_the_answer(capsys):
    out = verdict(capsys, checks.check_clipped_matches, metrics.clipped_matches)
    assert out.startswith("🚫") and "course_lib's own" in out and "✅" not in out


@pytest.mark.parametrize(("check", "right", "wrong"), LAYER_CASES, ids=LAYER_IDS)
def test_layer_check_accepts_a_right_layer_and_explains_a_mistake(capsys, check, right, wrong):
    good = verdict(capsys, check, right)
    assert good.startswith("✅") and "parameters, as the reference" in good, good
    assert checks.passed(good.split(":")[0].removeprefix("✅ "))
    count = int(good.split("all ")[1].split(" cases")[0])
    assert count >= 3, f"{check.__name__} runs only {count} case(s)"
    bad = verdict(capsys, check, wrong)
    assert "❌ case" in bad and "Hint:" in bad and "largest difference" in bad, bad


@pytest.mark.parametrize(("check", "right", "wrong"), LAYER_CASES, ids=LAYER_IDS)
def test_layer_check_of_an_unsolved_stub_waits_and_refuses_the_reference(capsys, check, right,
                                                                          wrong):
    import keras

    class Stub(keras.layers.Layer):
        def __init__(self, *args, **kwargs):
            super().__init__()
            raise NotImplementedError("Exercise: write this function")

    assert verdict(capsys, check, Stub).startswith("⏳")
    from course_lib import models

    reference = {"check_encoder": models.Encoder,
                 "check_fixed_context_decoder": models.BaselineDecoder,
                 "check_bahdanau_attention": models.BahdanauAttention,
                 "check_encoder_block": models.TransformerEncoderLayer}[check.__name__]
    assert verdict(capsys, check, reference).startswith("🚫")
    subclass = type("Mine", (reference,), {})
    assert verdict(capsys, check, subclass).startswith("🚫")


def test_layer_check_names_a_missing_sublayer_and_an_unused_weight(capsys):
    out = verdict(capsys, checks.check_encoder, answers.EncoderWithoutBackward)
    assert "weight tensors" in out and "the reference 7" in out, out
    out = verdict(capsys, checks.check_encoder, answers.EncoderWithUnusedLayer)
    assert "weight tensors" in out, out
    out = verdict(capsys, checks.check_bahdanau_attention, answers.AttentionWithoutConfig)
    assert "from_config" in out and "get_config" in out, out


def test_copy_weights_accepts_size_one_axes_and_names_a_wrong_shape():
    import keras

    from course_lib.checks.layers import copy_weights

    vector = keras.layers.Dense(1, use_bias=False)
    vector.build((None, 4))
    plain = keras.layers.Layer()
    plain.v = plain.add_weight(shape=(4,), name="v")
    plain.v.assign(np.arange(4, dtype="float32"))
    assert copy_weights(plain, vector) is None
    np.testing.assert_allclose(np.asarray(vector.kernel)[:, 0], np.arange(4))
    wrong = keras.layers.Dense(1, use_bias=False)
    wrong.build((None, 5))
    assert "shape (5, 1)" in copy_weights(plain, wrong)
    first, second = keras.layers.Layer(), keras.layers.Layer()    # same weights, other order
    first.a, first.b = first.add_weight(shape=(2, 3)), first.add_weight(shape=(3,))
    second.b, second.a = second.add_weight(shape=(3,)), second.add_weight(shape=(2, 3))
    first.a.assign(np.ones((2, 3)))
    first.b.assign(np.full(3, 2.0))
    assert copy_weights(first, second) is None
    np.testing.assert_allclose(np.asarray(second.a), np.ones((2, 3)))
    np.testing.assert_allclose(np.asarray(second.b), np.full(3, 2.0))


def test_yours_or_reference_follows_the_check(capsys):
    from course_lib import models

    checks.check_bahdanau_attention(answers.AttentionWithoutMask)
    assert checks.yours_or_reference(answers.AttentionWithoutMask, models.BahdanauAttention) \
        is models.BahdanauAttention
    checks.check_bahdanau_attention(answers.BahdanauAttention)
    assert checks.yours_or_reference(answers.BahdanauAttention, models.BahdanauAttention) \
        is answers.BahdanauAttention
    assert "Using your BahdanauAttention" in capsys.readouterr().out


def test_a_learners_attention_layer_trains_inside_the_reference_model():
    """Chapter 5 plugs the learner's layer into the reference decoder and fits it briefly."""
    from course_lib import models, training

    model = models.attention_model_with(answers.BahdanauAttention)(30, 40, 8, 16)
    training.compile_model(model, jit_compile=False)
    rng = np.random.default_rng(0)
    source = rng.integers(1, 30, size=(16, 5))
    target = rng.integers(1, 40, size=(16, 7))
    losses = model.fit((source, target[:, :-1]), target[:, 1:], epochs=3, verbose=0,
                       batch_size=8).history["loss"]
    assert isinstance(model.decoder.attention, answers.BahdanauAttention)
    assert losses[-1] < losses[0], losses
