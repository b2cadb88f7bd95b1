"""GET /noise: the generator inputs behind /generate's images, to reproduce them elsewhere."""

from __future__ import annotations

import io
from typing import Annotated, Literal

import numpy as np
from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from app.api.deps import RegistryDep, SettingsDep, resolve_model
from app.api.errors import INVALID, errors
from app.api.routes.generate import DigitQuery, DigitsQuery, NQuery, SeedQuery
from app.api.routes.images import ModelQuery, cache_control, labels_for_request
from app.serving.images import GridRequest, Seed

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


def grid_inputs(grid: GridRequest) -> dict[str, np.ndarray]:
    """The arrays /generate feeds the generator for this grid, by input name."""
    inputs = {"noise": grid.noise()}
    return inputs if grid.labels is None else inputs | {"labels": grid.labels}


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
    labels = labels_for_request(version, n, digit, digits)
    grid = GridRequest.of(version, n, Seed.of(seed), labels)
    inputs = grid_inputs(grid)
    headers = {
        "X-Seed": str(grid.seed.value),
        "X-Model": version.ref,
        "Cache-Control": cache_control(grid.seed.given, model, settings),
    }
    if format == "npy":
        if "labels" in inputs:
            headers["X-Labels"] = ",".join(map(str, inputs["labels"].tolist()))
        buffer = io.BytesIO()
        np.save(buffer, inputs["noise"])
        return Response(buffer.getvalue(), media_type=NPY, headers=headers)
    body = Noise(
        model=version.ref, seed=grid.seed.value, inputs={k: v.tolist() for k, v in inputs.items()}
    )
    return JSONResponse(body.model_dump(exclude_none=True), headers=headers)
