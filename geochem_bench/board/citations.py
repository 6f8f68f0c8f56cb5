"""What to cite: the software, the data of each scene, and the methods a result relies on.

``geochem-bench cite TASK ...`` (or ``--results DIR``) prints BibTeX for exactly the tasks a
table used: the benchmark, the papers that define its approach and protocols, and the original
data and method papers of every scene involved.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from geochem_bench import __version__
from geochem_bench.errors import InvalidInputError, UnknownNameError

_ENTRIES: Final[dict[str, str]] = {
    "geochembench": f"""@software{{geochembench,
  title = {{geochem-bench: a benchmark for geochemical and remote sensing data fusion}},
  author = {{{{geochem-bench developers}}}},
  version = {{{__version__}}},
  year = {{2026}},
  url = {{https://github.com/geochem-bench/geochem-bench}},
  license = {{MIT}}
}}""",
    "bai2025fusion": """@article{bai2025fusion,
  title = {Fusion of Geochemical Data and Remote Sensing Data Based on Convolutional Neural
           Network},
  author = {Bai and Zhao and Yu and Shao},
  journal = {IEEE Journal of Selected Topics in Applied Earth Observations and Remote Sensing},
  volume = {18},
  pages = {1212--1225},
  year = {2025},
  doi = {10.1109/JSTARS.2024.3502634}
}""",
    "bai2023strategy": """@article{bai2023strategy,
  title = {A New Strategy to Fuse Remote Sensing Data and Geochemical Data with Different
           Machine Learning Methods},
  author = {Bai and Zhao and Yu and Shao},
  journal = {Remote Sensing},
  volume = {15},
  number = {4},
  pages = {930},
  year = {2023},
  doi = {10.3390/rs15040930}
}""",
    "wald1997fusion": """@article{wald1997fusion,
  title = {Fusion of satellite images of different spatial resolutions: assessing the quality
           of resulting images},
  author = {Wald, Lucien and Ranchin, Thierry and Mangolini, Marc},
  journal = {Photogrammetric Engineering and Remote Sensing},
  volume = {63},
  number = {6},
  pages = {691--699},
  year = {1997}
}""",
    "agarwal2021precipice": """@inproceedings{agarwal2021precipice,
  title = {Deep Reinforcement Learning at the Edge of the Statistical Precipice},
  author = {Agarwal, Rishabh and Schwarzer, Max and Castro, Pablo Samuel and Courville, Aaron
            and Bellemare, Marc G.},
  booktitle = {Advances in Neural Information Processing Systems},
  volume = {34},
  year = {2021}
}""",
    "goovaerts1997geostatistics": """@book{goovaerts1997geostatistics,
  title = {Geostatistics for Natural Resources Evaluation},
  author = {Goovaerts, Pierre},
  publisher = {Oxford University Press},
  address = {New York},
  year = {1997}
}""",
}

#: Cited by every table: the benchmark, its founding method, and how scores are aggregated.
ALWAYS: Final = ("geochembench", "bai2025fusion", "bai2023strategy", "agarwal2021precipice")
#: Protocol-specific methods.
PROTOCOL_REFERENCES: Final[dict[str, tuple[str, ...]]] = {
    "grid": ("wald1997fusion",),
    "points": (),
    "transfer": ("goovaerts1997geostatistics",),
}


def bibtex_key(citation: str) -> str:
    """The key of a BibTeX entry (``@article{key, ...``), or ``citation`` itself if it is a key.

    Raises:
        InvalidInputError: an entry without a key.
    """
    if not citation.lstrip().startswith("@"):
        return citation.strip()
    match = re.match(r"\s*@\w+\s*\{\s*([^,\s]+)\s*,", citation)
    if match is None:
        raise InvalidInputError(f"a BibTeX entry without a key: {citation[:60]!r}")
    return match.group(1)


def scene_references() -> dict[str, tuple[str, ...]]:
    """The citation keys of every scene with references, from the scene declarations."""
    from geochem_bench.scenes import SCENES

    return {cls.name: tuple(bibtex_key(c) for c in cls.citations) for cls in SCENES}


def entries() -> dict[str, str]:
    """Every BibTeX entry by key: the general ones here and those the scenes declare."""
    from geochem_bench.scenes import SCENES

    found = dict(_ENTRIES)
    for cls in SCENES:
        for citation in cls.citations:
            if citation.lstrip().startswith("@"):
                found.setdefault(bibtex_key(citation), citation.strip())
    return found


def citation_keys(tasks: Iterable[tuple[str, str]]) -> list[str]:
    """Keys to cite for ``(scene, protocol)`` pairs, in a stable order without repeats.

    Raises:
        UnknownNameError: a scene without declared references (a user survey has none).
    """
    keys = list(ALWAYS)
    references = scene_references()
    for scene, protocol in tasks:
        if scene not in references:
            raise UnknownNameError(
                f"no references registered for scene {scene!r}; cite your survey's own sources"
            )
        for key in (*PROTOCOL_REFERENCES.get(protocol, ()), *references[scene]):
            if key not in keys:
                keys.append(key)
    return keys


def bibtex(keys: Iterable[str]) -> str:
    """The BibTeX entries of ``keys``, separated by blank lines.

    Raises:
        UnknownNameError: a key that no general entry or scene declares.
    """
    known = entries()
    missing = [k for k in keys if k not in known]
    if missing:
        raise UnknownNameError(f"no BibTeX entry for {missing}; declare it in the scene module")
    return "\n\n".join(known[k] for k in keys) + "\n"
