"""The two synthetic cameras and the filter system shared by the generator's modules."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FILTERS = ["u", "g", "r", "i", "z", "y"]  # common filter index for magnitudes
COLOR = np.array([1.2, 0.5, 0.0, -0.2, -0.3, -0.35])  # mean colour relative to r


@dataclass(frozen=True)
class Camera:
    name: str
    filters: tuple[str, ...]
    nx: int  # chip grid
    ny: int
    fov: float  # degrees covered by the grid (square)
    chip_px: tuple[int, int]
    exptime: dict
    pltscale: float
    latitude: float

    def chip_name(self, x: int, y: int) -> str | None:
        if self.name == "GPC1":
            if (x, y) in ((0, 0), (0, 7), (7, 0), (7, 7)):
                return None
            return f"XY{x}{y}"
        return f"{y * self.nx + x:02d}"


CAMERAS = (
    Camera("GPC1", ("g", "r", "i", "z", "y"), 8, 8, 2.4, (4846, 4868),
           {"g": 43.0, "r": 40.0, "i": 45.0, "z": 30.0, "y": 30.0}, 0.258, 20.7071),
    Camera("MEGACAM", ("u", "g", "r", "i", "z"), 9, 4, 2.3, (2048, 4612),
           {"u": 300.0, "g": 200.0, "r": 150.0, "i": 150.0, "z": 200.0}, 0.187, 19.8253),
)


def per_camera(values, cams: np.ndarray, dtype=None) -> np.ndarray:
    """`values` (one per camera, in CAMERAS order) broadcast to an array of camera indices."""
    return np.array(values, dtype=dtype)[cams]
