"""Deliberately broken submissions for the harness tests."""

from __future__ import annotations

import os
import time

import numpy as np

from geochem_bench.models.upsampling import upsample_lowres


class Raises:
    def fit(self, inputs):
        raise RuntimeError("model exploded during fit")

    def predict(self, inputs):  # pragma: no cover - never reached
        return upsample_lowres(inputs)


class _Predicting:
    def fit(self, inputs):
        pass


class ReturnsNaN(_Predicting):
    def predict(self, inputs):
        return np.full(inputs.output_shape, np.nan, dtype=np.float32)


class WrongShape(_Predicting):
    def predict(self, inputs):
        return upsample_lowres(inputs)[:, ::2, ::2].copy()


class WrongDtype(_Predicting):
    def predict(self, inputs):
        return upsample_lowres(inputs).astype(np.float64)


class ReturnsList(_Predicting):
    def predict(self, inputs):
        return [[1.0]]


class Sleeps(_Predicting):
    def predict(self, inputs):
        time.sleep(60)


class Crashes(_Predicting):
    def predict(self, inputs):
        os._exit(3)


class FailsOnFold(_Predicting):
    """Fine everywhere except fold 1: the other folds must still be scored."""

    def predict(self, inputs):
        if inputs.fold == 1:
            raise ValueError("fold 1 is cursed")
        return upsample_lowres(inputs)


class SlowBicubic(_Predicting):
    def __init__(self, delay: float = 0.5):
        self.delay = delay

    def predict(self, inputs):
        time.sleep(self.delay)
        return upsample_lowres(inputs)


class SlowerBicubic(SlowBicubic):
    """Slow enough that a run of 15 folds cannot finish between a record and a SIGINT, even
    on a loaded machine (the 0.5 s model once did)."""

    def __init__(self, delay: float = 3.0):
        super().__init__(delay)


class NoisyRandom(_Predicting):
    """Uses the global numpy RNG: reproducible only because the harness seeds it."""

    def predict(self, inputs):
        base = upsample_lowres(inputs)
        noise = np.random.normal(0, 0.05, base.shape).astype(np.float32)  # noqa: NPY002
        return (base * (1 + noise)).astype(np.float32)


class KillsItsWorker(_Predicting):
    """Kills the process it runs in on fold 2: with inline isolation, the executor's worker."""

    def predict(self, inputs):
        if inputs.fold == 2:
            import signal

            os.kill(os.getpid(), signal.SIGKILL)
            time.sleep(30)
        return upsample_lowres(inputs)
