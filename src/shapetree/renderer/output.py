"""Image and video files: PNG, GIF, MP4."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import UsageError
from ..formats.atomic import atomic_output


def flatten(img: np.ndarray, background: tuple[int, int, int] = (255, 255, 255)) -> np.ndarray:
    """RGBA over an opaque background: (h, w, 3) uint8."""
    a = img[..., 3:4].astype(np.float64) / 255
    rgb = img[..., :3] * a + np.asarray(background, np.float64) * (1 - a)
    return np.round(rgb).astype(np.uint8)


IMAGE_SUFFIXES = (".png", ".gif", ".mp4")


def write_frames(path: str | Path, frames: list[np.ndarray], fps: float = 20.0) -> None:
    """Write (h, w, 4) uint8 RGBA frames as a PNG (one frame, transparent), a looping GIF or an H.264
    MP4 (on white), atomically (``formats.atomic_output``)."""
    import imageio.v3 as iio

    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        raise UsageError(f"{p}: output must end with {', '.join(IMAGE_SUFFIXES)}")
    if not frames:
        raise UsageError("no frames to write")
    if suffix == ".png" and len(frames) != 1:
        raise UsageError(f"{p}: a PNG holds one frame, got {len(frames)} (write a .gif or .mp4)")
    with atomic_output(p, suffix=suffix) as tmp:
        if suffix == ".png":
            iio.imwrite(tmp, frames[0], extension=".png")
        elif suffix == ".gif":
            # identical consecutive frames are merged by the GIF encoder (their time adds up)
            iio.imwrite(tmp, np.stack([flatten(f) for f in frames]), extension=".gif",
                        duration=round(1000 / fps), loop=0)
        else:
            rgb = np.stack([flatten(f) for f in frames])
            h, w = rgb.shape[1:3]
            # H.264 in yuv420p needs even sizes: pad with background, never resize
            rgb = np.pad(rgb, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)), constant_values=255)
            iio.imwrite(tmp, rgb, extension=".mp4", fps=fps, codec="libx264", macro_block_size=1,
                        quality=8, ffmpeg_log_level="error")
