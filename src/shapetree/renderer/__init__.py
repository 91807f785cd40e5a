"""Rendering trees: exact ray casting, cameras, shading, heatmaps, frames and image/video files."""

from .animation import label_image, lod_animation, render_lod, turntable
from .camera import MAX_IMAGE_SIDE, Camera, check_size, orbit_camera
from .heatmap import cost_image, heatmap_image
from .image import render
from .output import IMAGE_SUFFIXES, flatten, write_frames
from .rays import RayHits, raycast
from .shading import Material, camera_light, shade

__all__ = [
    "IMAGE_SUFFIXES",
    "MAX_IMAGE_SIDE",
    "Camera",
    "Material",
    "RayHits",
    "camera_light",
    "check_size",
    "cost_image",
    "flatten",
    "heatmap_image",
    "label_image",
    "lod_animation",
    "orbit_camera",
    "raycast",
    "render",
    "render_lod",
    "shade",
    "turntable",
    "write_frames",
]
