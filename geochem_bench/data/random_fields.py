"""Stationary Gaussian random fields by spectral (FFT) synthesis.

Used by the procedural scenes. The field is synthesised on a grid padded by one practical
range, so the periodicity of the FFT does not correlate opposite edges, then cropped. It is
computed in float64, so that the generators that use it can round their output to the same
bytes on every CPU (:mod:`geochem_bench.data.reproducible`).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import NDArray

from geochem_bench.errors import InvalidInputError

CovarianceModel = Literal["exponential", "gaussian"]


def gaussian_random_field(
    shape: tuple[int, int],
    pixel_size: float,
    practical_range: float,
    rng: np.random.Generator,
    model: CovarianceModel = "exponential",
) -> NDArray[np.float64]:
    """A zero-mean, unit-variance stationary random field.

    Args:
        shape: (H, W) in cells.
        pixel_size: cell size in map units.
        practical_range: distance (map units) at which the correlation drops to about 5 %.
        rng: source of the white noise; the same generator state gives the same field.
        model: covariance model: ``"exponential"`` (rough) or ``"gaussian"`` (smooth).

    Returns:
        float64 array of ``shape`` standardised to mean 0 and standard deviation 1.
    """
    import scipy.fft

    height, width = shape
    pad = int(np.ceil(practical_range / pixel_size))
    ph = scipy.fft.next_fast_len(height + pad, real=True)
    pw = scipy.fft.next_fast_len(width + pad, real=True)
    noise = rng.standard_normal((ph, pw))
    spectrum = scipy.fft.rfft2(noise, workers=-1)
    fy = np.fft.fftfreq(ph, d=pixel_size)[:, None]
    fx = np.fft.rfftfreq(pw, d=pixel_size)[None, :]
    f2 = fy * fy + fx * fx
    if model == "exponential":
        # exp(-h/L) with practical range 3L has a 2-D spectral density ~ (1 + (2 pi L f)^2)^-3/2.
        length = practical_range / 3.0
        amplitude = (1.0 + (2.0 * np.pi * length) ** 2 * f2) ** -0.75
    elif model == "gaussian":
        # exp(-(h/L)^2) with practical range sqrt(3) L has density ~ exp(-(pi L f)^2).
        length = practical_range / np.sqrt(3.0)
        amplitude = np.exp(-0.5 * (np.pi * length) ** 2 * f2)
    else:
        raise InvalidInputError(
            f"unknown covariance model {model!r}; use 'exponential' or 'gaussian'"
        )
    spectrum *= amplitude
    field = np.ascontiguousarray(
        scipy.fft.irfft2(spectrum, s=(ph, pw), workers=-1)[:height, :width]
    )
    field -= field.mean()
    std = field.std()
    if std > 0:
        field /= std
    return field
