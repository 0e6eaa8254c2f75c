"""Every exercise check accepts the reference solution and rejects a typical mistake."""

from __future__ import annotations

import math

import numpy as np
import pytest
from keras import ops

from course_lib import alignment, checks, data, metrics, training
from course_lib.models import causal_mask, masked_softmax, positional_encoding


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


def _greedy_step(model, tokens, carry):
    logits, carry, _ = model.decode_step(tokens, carry)
    return ops.argmax(logits, axis=-1), carry


def _sampled_step(model, tokens, carry):
    logits, carry, _ = model.decode_step(tokens, carry)
    return ops.argmin(logits, axis=-1), carry


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


def _fixed_step(decoder, emb, state, keys, values, mask, summary):
    return decoder.step(emb, state, {"keys": keys, "values": values, "mask": mask})


def _buggy_step(decoder, emb, state, keys, values, mask, summary):
    context, weights = decoder.attention(summary, keys, values, mask)
    new_state, _ = decoder.cell(ops.concatenate([emb, context], axis=-1), [state])
    return new_state, context, weights


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


def _sines_only(positions, depth):
    angles = np.asarray(positions, "float32")[..., None] / 10000 ** (
        2 * np.arange(depth // 2) / depth)
    return np.concatenate([np.sin(angles), np.sin(angles)], axis=-1)


CASES = [
    (checks.check_normalize, data.normalize, lambda t: t.lower()),
    (checks.check_types_for_coverage, data.types_for_coverage, lambda texts, f: 1),
    (checks.check_leak_free_split, _split_by_source, _pair_level_split),
    (checks.check_masked_loss, training.masked_loss, _loss_over_all_positions),
    (checks.check_teacher_forcing_shift, lambda t: (t[:, :-1], t[:, 1:]),
     lambda t: (t[:, 1:], t[:, :-1])),
    (checks.check_greedy_step, _greedy_step, _sampled_step),
    (checks.check_greedy_translate, _greedy_translate, _greedy_translate_without_stopping),
    (checks.check_beam_step, _beam_step, _beam_step_by_next_word),
    (checks.check_normalized_score, lambda total, n, a: total / max(n, 1) ** a,
     lambda total, n, a: total / max(n, 1)),
    (checks.check_clipped_matches, metrics.clipped_matches, _unclipped),
    (checks.check_brevity_penalty, metrics.brevity_penalty,
     lambda c, r: math.exp(1 - r / c) if c else 0.0),
    (checks.check_corpus_bleu, metrics.corpus_bleu, _mean_sentence_bleu),
    (checks.check_additive_scores, lambda q, k, v: np.tanh(k + q[:, None, :]) @ v,
     lambda q, k, v: np.tanh(k) @ v),
    (checks.check_masked_softmax, lambda s, m: np.asarray(masked_softmax(s, m)),
     lambda s, m: np.exp(s) / np.exp(s).sum(-1, keepdims=True) * m),
    (checks.check_context_vector, lambda w, v: np.einsum("bs,bsd->bd", w, v),
     lambda w, v: v.mean(axis=1)),
    (checks.check_fixed_step, _fixed_step, _buggy_step),
    (checks.check_attention_summary, _summary, _summary_log2),
    (checks.check_replace_unknown, _replace_unknown, _replace_unknown_with_last_word),
    (checks.check_scaled_dot_product_attention, _scaled_attention,
     lambda q, k, v, m: _scaled_attention(q, k, v, m, scale=False)),
    (checks.check_causal_mask, lambda n: np.asarray(causal_mask(n)),
     lambda n: np.triu(np.ones((n, n), bool))),
    (checks.check_positional_encoding, lambda p, d: np.asarray(positional_encoding(p, d)),
     _sines_only),
]


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
    tested = {c[0].__name__ for c in CASES}
    exported = {name for name in checks.__all__ if name.startswith("check_")}
    assert exported == tested, exported ^ tested
