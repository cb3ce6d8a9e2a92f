"""Licence plates for the sim and the ANPR tests: plates rendered with a real TrueType font (DejaVu Sans
Mono Bold from Debian's fonts-dejavu-core, which `make test` installs) and put on vehicles, plus the real plate
photographs two PyPI source packages ship (fast-alpr 0.4.0 and fast-plate-ocr 1.1.0, MIT; `make plate-photos`
unpacks them), with their plates as read by eye."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from vigil.errors import ConfigError

FONTS = [Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf"),
         Path("/usr/share/fonts/truetype/liberation/LiberationMono-Bold.ttf")]
STYLES = {"white": ((245, 245, 245), (20, 20, 20)), "yellow": ((40, 200, 250), (20, 20, 20))}  # BGR plate, ink
# (file under the photo folder, plate, the vehicle's box in pixels or None when the photo is the plate alone)
REAL_PLATES = [("test_image.png", "5AU5341", (40, 40, 455, 275)), ("test_plate_1.png", "AD799KB", None),
               ("test_plate_2.png", "KRW301", None)]


def plate_photos_dir() -> Path:
    return Path(os.environ.get("VIGIL_PLATE_PHOTOS", Path(__file__).resolve().parents[2] / ".venv" / "share"
                               / "vigil-plate-photos"))


def real_plates() -> list[tuple[np.ndarray, str, tuple[int, int, int, int] | None]]:
    """The packaged real photographs with their plates; empty when `make plate-photos` has not run."""
    out = []
    for name, plate, box in REAL_PLATES:
        img = cv2.imread(str(plate_photos_dir() / name))
        if img is not None:
            out.append((img, plate, box))
    return out


@cache
def font(size: int) -> ImageFont.FreeTypeFont:
    for path in FONTS:
        if path.exists():
            return ImageFont.truetype(str(path), size)
    raise ConfigError("plate rendering needs DejaVu Sans Mono Bold: `sudo apt-get install fonts-dejavu-core` "
                      "(make test does this)")


def render_plate(text: str, height: int, style: str = "white") -> np.ndarray:
    """A BGR plate `height` pixels tall (EU proportions 520 × 110 mm), black border, the text centred."""
    bg, ink = STYLES[style]
    width = round(height * 4.7)
    img = Image.new("RGB", (width, height), bg[::-1])
    d = ImageDraw.Draw(img)
    border = max(1, height // 14)
    d.rectangle((0, 0, width - 1, height - 1), outline=ink[::-1], width=border)
    size = int(height * 0.78)
    f = font(size)
    while size > 6 and d.textlength(text, font=f) > width * 0.88:
        size -= 1
        f = font(size)
    x0, y0, x1, y1 = d.textbbox((0, 0), text, font=f)
    d.text(((width - (x1 - x0)) / 2 - x0, (height - (y1 - y0)) / 2 - y0), text, font=f, fill=ink[::-1])
    return cv2.cvtColor(np.asarray(img), cv2.COLOR_RGB2BGR)


def put_plate(img: np.ndarray, box: tuple[float, float, float, float], text: str, style: str = "white",
              angle: float = 0.0) -> None:
    """Draws a plate on a vehicle whose box (pixels, may reach outside the picture) is given: centred, low on
    the body, about a third of the vehicle's width."""
    x1, y1, x2, y2 = box
    height = max(8, round((x2 - x1) * 0.3 / 4.7))
    plate = render_plate(text, height, style)
    ph, pw = plate.shape[:2]
    mask: np.ndarray = np.full((ph, pw), 255, np.uint8)
    if angle:
        m = cv2.getRotationMatrix2D((pw / 2, ph / 2), angle, 1.0)
        plate = cv2.warpAffine(plate, m, (pw, ph), borderMode=cv2.BORDER_REPLICATE)
        mask = cv2.warpAffine(mask, m, (pw, ph))
    cx, cy = (x1 + x2) / 2, y1 + (y2 - y1) * 0.7
    px, py = round(cx - pw / 2), round(cy - ph / 2)
    ax0, ay0 = max(0, px), max(0, py)
    ax1, ay1 = min(img.shape[1], px + pw), min(img.shape[0], py + ph)
    if ax1 <= ax0 or ay1 <= ay0:
        return
    a = mask[ay0 - py:ay1 - py, ax0 - px:ax1 - px, None].astype(np.float32) / 255
    region = img[ay0:ay1, ax0:ax1]
    region[:] = (plate[ay0 - py:ay1 - py, ax0 - px:ax1 - px] * a + region * (1 - a)).astype(np.uint8)
