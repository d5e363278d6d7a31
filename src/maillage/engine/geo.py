"""Coordinates and distances: points on the unit sphere so that a k-d tree's Euclidean (chord)
distance orders neighbours exactly as the great-circle distance does."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

EARTH_RADIUS_KM = 6371.0088


def unit_vectors(lat: ArrayLike, lon: ArrayLike) -> NDArray[np.float64]:
    """(n, 3) Cartesian coordinates on the unit sphere of WGS84 latitudes/longitudes in degrees."""
    phi = np.radians(np.asarray(lat, dtype=np.float64))
    lam = np.radians(np.asarray(lon, dtype=np.float64))
    cos_phi = np.cos(phi)
    return np.column_stack((cos_phi * np.cos(lam), cos_phi * np.sin(lam), np.sin(phi)))


def km_to_chord(km: ArrayLike) -> NDArray[np.float64]:
    return 2.0 * np.sin(np.minimum(np.asarray(km, dtype=np.float64) / EARTH_RADIUS_KM, np.pi) / 2)


def chord_to_km(chord: ArrayLike, where: NDArray[np.bool_] | None = None) -> NDArray[np.float64]:
    """Great-circle km of unit-sphere chords (0 where ``where`` is False, e.g. missing neighbours)."""
    chord = np.asarray(chord, dtype=np.float64)
    if where is not None:
        chord = np.where(where, chord, 0.0)
    half = np.clip(chord / 2.0, 0.0, 1.0)
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(half)


def haversine_km(lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike) -> NDArray:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlam = np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlam / 2) ** 2
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
