"""Training under a tf.distribute strategy: MirroredStrategy over two logical CPU devices.

On Colab or a multi-GPU machine the same code path mirrors the model over GPUs. Logical
devices must be configured before TensorFlow starts, so the check runs in a fresh process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent('''
    import json, sys
    from pathlib import Path

    import numpy as np
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()])

    from course_lib import data, runs

    corpus, out = Path(sys.argv[1]), Path(sys.argv[2])
    prepared = data.prepare_data(corpus, verbose=False)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    report = {"replicas": strategy.num_replicas_in_sync}
    for kind in ("baseline", "attention", "luong"):
        settings = runs.RunSettings(kind=kind, source_vocab=60, target_vocab=60, embedding_dim=8,
                                    units=16, epochs=2, batch_size=16, patience=1,
                                    jit_compile=False, mixed_precision=False, profile="quick")
        run = runs.train_run(prepared, settings, out / kind, verbose=0, strategy=strategy)
        variables = run.model.trainable_variables
        mirrored = all(isinstance(v.value, tf.distribute.DistributedValues) for v in variables)
        history = run.metadata["history"]["loss"]
        reloaded = runs.load_run(out / kind)
        report[kind] = {"mirrored": mirrored, "variables": len(variables),
                        "losses": history, "status": run.metadata["status"],
                        "translation": reloaded.translator(["Tom is happy."])[0]}
    print("REPORT " + json.dumps(report))
''')


@pytest.mark.once  # 80 s; the notebooks' platforms (Colab, Kaggle) give one accelerator
def test_training_under_mirrored_strategy_on_two_cpu_devices(tmp_path, tiny_corpus):
    corpus = tiny_corpus
    script = tmp_path / "distributed.py"
    script.write_text(SCRIPT, encoding="utf-8")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "COURSE_HOME": str(tmp_path / "home")}
    done = subprocess.run([sys.executable, str(script), str(corpus), str(tmp_path / "runs")],
                          capture_output=True, text=True, env=env, timeout=600,
                          cwd=os.path.dirname(os.path.dirname(__file__)))
    lines = [line for line in done.stdout.splitlines() if line.startswith("REPORT ")]
    assert done.returncode == 0 and lines, done.stdout[-2000:] + done.stderr[-4000:]
    report = json.loads(lines[0][len("REPORT "):])
    assert report["replicas"] == 2
    for kind in ("baseline", "attention", "luong"):
        result = report[kind]
        assert result["mirrored"], f"{kind}: variables are not mirrored over the two devices"
        assert result["status"] == "complete"
        assert all(loss == loss and loss < 10 for loss in result["losses"])  # finite, sane
        assert result["losses"][-1] < result["losses"][0], f"{kind} did not learn: {result}"
        assert isinstance(result["translation"], str) and result["translation"]


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
