"""Process-wide guards that keep TensorFlow and torch alive in one process."""
import subprocess
import sys

import pytest


@pytest.mark.tensorflow
@pytest.mark.slow
def test_torch_optimiser_after_tensorflow_does_not_crash():
    # The official ingestion imports TensorFlow before model.py; torch's first optimiser
    # then imports torch._dynamo -> triton, which segfaults beside tensorflow-cpu 2.21
    # unless autodl_solver has made triton unavailable.
    code = (
        "import tensorflow\n"
        "import autodl_solver\n"
        "import torch\n"
        "m = torch.nn.Linear(3, 2); opt = torch.optim.Adam(m.parameters())\n"
        "m(torch.zeros(1, 3)).sum().backward(); opt.step(); print('alive')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "alive" in proc.stdout


def test_environment_defaults():
    import os

    import autodl_solver  # noqa: F401

    assert os.environ["HF_HUB_OFFLINE"] == "1" or os.environ["HF_HUB_OFFLINE"]
    assert os.environ.get("TF_CPP_MIN_LOG_LEVEL")
