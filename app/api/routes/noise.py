"""GET /noise: the generator inputs behind /generate's images, to reproduce them elsewhere."""

from __future__ import annotations

import io
import secrets
from typing import Annotated, Literal

import numpy as np
from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from app.api.deps import RegistryDep, SettingsDep, resolve_model
from app.api.errors import INVALID, errors
from app.api.routes.generate import DigitQuery, DigitsQuery, NQuery, SeedQuery
from app.api.routes.images import ModelQuery, cache_control, labels_for_request
from app.serving.inputs import noise_for
from app.serving.registry import ModelVersion

router = APIRouter(tags=["generate"])
NPY = "application/x-npy"


class Inputs(BaseModel):
    noise: list[list[float]] = Field(description="[n, noise_dim] float32 rows.")
    labels: list[int] | None = Field(None, description="[n] digits; conditional models only.")


class Noise(BaseModel):
    model: str = Field(description="name@version whose inputs these are.")
    seed: int
    inputs: Inputs = Field(
        description="The `serving_default` signature's inputs by name (a TF Serving body)."
    )


def request_inputs(
    version: ModelVersion, seed: int, n: int, digit: int | None, digits: str | None
) -> dict[str, np.ndarray]:
    """The arrays /generate feeds the generator for the same parameters, by input name."""
    labels = labels_for_request(version, n, digit, digits)
    inputs = {"noise": noise_for(seed, n, version.noise_dim)}
    return inputs if labels is None else inputs | {"labels": labels}


@router.get(
    "/noise",
    operation_id="getNoise",
    summary="The noise behind an image",
    response_model=Noise,
    response_model_exclude_none=True,
    responses=errors({404: "Unknown model or version."} | INVALID)
    | {200: {"content": {NPY: {}}, "description": "JSON, or the noise as .npy (`format=npy`)."}},
)
async def noise(
    registry: RegistryDep,
    settings: SettingsDep,
    n: NQuery = 16,
    seed: SeedQuery = None,
    model: ModelQuery = None,
    digit: DigitQuery = None,
    digits: DigitsQuery = None,
    format: Annotated[
        Literal["json", "npy"],
        Query(description="`npy`: the noise rows alone, labels in `X-Labels`."),
    ] = "json",
) -> Response:
    """The exact noise rows (and labels) /generate feeds the generator for these parameters."""
    version = await resolve_model(registry, model)
    seeded, seed = seed is not None, seed if seed is not None else secrets.randbelow(2**32)
    inputs = request_inputs(version, seed, n, digit, digits)
    headers = {
        "X-Seed": str(seed),
        "X-Model": version.ref,
        "Cache-Control": cache_control(seeded, model, settings),
    }
    if format == "npy":
        if "labels" in inputs:
            headers["X-Labels"] = ",".join(map(str, inputs["labels"].tolist()))
        buffer = io.BytesIO()
        np.save(buffer, inputs["noise"])
        return Response(buffer.getvalue(), media_type=NPY, headers=headers)
    body = Noise(model=version.ref, seed=seed, inputs={k: v.tolist() for k, v in inputs.items()})
    return JSONResponse(body.model_dump(exclude_none=True), headers=headers)
