"""Arrays of a simulated scene that come out with the same bytes on every CPU.

numpy picks SIMD kernels (SSE, AVX2, AVX-512) for ``exp``, ``power``, ``sin`` and friends at
run time, and BLAS picks its own for ``tensordot`` and ``cholesky``; the kernels round the
last bit differently, so a generator computed in float32 gave other bytes on another machine
(measured on the synthetic scene: the truth's sha256 changed with
``NPY_DISABLE_CPU_FEATURES="X86_V4 AVX512_ICL"``). The generators therefore compute in
float64, where these differences stay near 1e-16 relative, and round what they store to
:data:`SIGNIFICANT_DIGITS` significant decimal digits with correctly rounded arithmetic only
(:func:`round_significant`). A stored value differs between two machines only when their
float64 results straddle a rounding boundary: about 1e-10 per value, so rarely for a whole
scene (see ``docs/realisations.md`` for the digests compared).
"""

from __future__ import annotations

from typing import Final

import numpy as np
from numpy.typing import NDArray

#: Significant decimal digits kept: below float32's 7.2, far below any measurement's precision.
SIGNIFICANT_DIGITS: Final = 6
#: Magnitudes rounded: 1e-300 .. 1e300 (beyond, the powers of ten below would overflow).
_RANGE = 300
#: 10**k for |k| <= 308, each parsed from its decimal literal: the parser rounds correctly on
#: every platform, whereas ``10.0 ** k`` goes through a SIMD or libm ``pow``.
_POWERS = np.array([float(f"1e{k}") for k in range(-308, 309)])


def _power(k: NDArray[np.int64]) -> NDArray[np.float64]:
    return _POWERS[k + 308]


def round_significant(
    values: NDArray[np.floating], digits: int = SIGNIFICANT_DIGITS
) -> NDArray[np.float64]:
    """``values`` rounded to ``digits`` significant decimal digits, identically on every CPU.

    Every step is a comparison, a multiplication, a division or a round-half-even of float64
    values, which IEEE 754 defines exactly: the result is a function of the float64 input
    alone. The decimal exponent is estimated with ``log10`` (whose last bit depends on the
    CPU) and then corrected against exact powers of ten, so it does not depend on it. NaN,
    infinities, zeros and magnitudes outside 1e-300 .. 1e300 are kept as they are.

    Args:
        values: the values (any float dtype; computed in float64).
        digits: significant digits kept, 1 to 17.

    Returns:
        float64 array of the same shape.
    """
    if not 1 <= digits <= 17:
        raise ValueError(f"digits must be in 1..17, got {digits}")
    out = np.array(values, dtype=np.float64)  # a copy: the input is never changed
    flat = out.reshape(-1)
    for start in range(0, flat.size, _CHUNK):  # in chunks: the temporaries stay small
        _round_in_place(flat[start : start + _CHUNK], digits)
    return out


#: Values rounded at a time: bounds the temporaries of a national-size grid to a few MB each.
_CHUNK = 1 << 20


def _round_in_place(flat: NDArray[np.float64], digits: int) -> None:
    size = np.abs(flat)
    todo = np.flatnonzero((size >= 10.0**-_RANGE) & (size < 10.0**_RANGE))  # NaN: False
    if todo.size == 0:
        return
    magnitude = size[todo]
    exponent = np.floor(np.log10(magnitude)).astype(np.int64)  # may be one off: corrected
    exponent += magnitude >= _power(exponent + 1)
    exponent -= magnitude < _power(exponent)
    shift = digits - 1 - exponent  # keep multiples of 10**-shift
    up = shift >= 0
    rounded = np.empty_like(magnitude)
    scale = _power(shift[up])
    rounded[up] = np.round(magnitude[up] * scale) / scale
    scale = _power(-shift[~up])
    rounded[~up] = np.round(magnitude[~up] / scale) * scale
    flat[todo] = np.copysign(rounded, flat[todo])


def stable_float32(
    values: NDArray[np.floating], digits: int = SIGNIFICANT_DIGITS
) -> NDArray[np.float32]:
    """:func:`round_significant`, then cast to float32 (itself correctly rounded)."""
    return round_significant(values, digits).astype(np.float32)
