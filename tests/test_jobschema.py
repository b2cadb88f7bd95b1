"""Job parameters: a recipe and its overrides onto trainer flags; names a job may export as; a
job's record as the API shows it."""

from app.api.routes.jobs import export_name_problem
from app.jobs.schema import RECIPES, Job, JobParams, JobRecord, JobState, state_flags
from training import recipes


def test_the_api_offers_the_trainers_recipes():
    assert set(RECIPES) == set(recipes.RECIPES)


def test_only_given_fields_become_flags_after_the_recipe():
    assert JobParams(name="q").trainer_flags() == ["--recipe", "quality", "--checkpoint-every", "1"]
    flags = JobParams(name="q", recipe="quick", epochs=5, conditional=True).trainer_flags()
    assert flags == [
        "--recipe",
        "quick",
        "--epochs",
        "5",
        "--conditional",
        "--checkpoint-every",
        "1",
    ]


def test_stored_params_are_what_was_asked_and_the_defaults_that_always_apply():
    stored = JobParams(name="q", ema_decay=0.99).model_dump(exclude_none=True)
    assert stored == {
        "name": "q",
        "recipe": "quality",
        "ema_decay": 0.99,
        "conditional": False,
        "checkpoint_every": 1,
        "activate": False,
    }


def test_a_name_keeps_its_kind_and_shipped_names_stay_the_operators():
    kinds = {"mine": False, "theirs": True, "broken": None}
    protected = ("dcgan", "cdcgan")
    assert export_name_problem(JobParams(name="mine"), kinds, protected) is None
    assert export_name_problem(JobParams(name="new", conditional=True), kinds, protected) is None
    assert export_name_problem(JobParams(name="broken"), kinds, protected) is None
    wrong = export_name_problem(JobParams(name="mine", conditional=True), kinds, protected)
    assert wrong == (
        "'mine' is an unconditional model; a conditional job must export under another name "
        "(or set conditional to false)"
    )
    assert "is a conditional model" in export_name_problem(JobParams(name="theirs"), kinds, ())
    shipped = export_name_problem(JobParams(name="dcgan"), kinds, protected)
    assert "shipped model" in shipped and "DCGAN_PROTECTED_NAMES" in shipped
    assert export_name_problem(JobParams(name="dcgan"), {"dcgan": False}, ()) is None


def test_a_record_is_shown_without_server_paths_or_what_only_runners_need():
    record = JobRecord(
        7,
        {"name": "a"},
        JobState.FAILED,
        1.0,
        progress={"epoch": 2, "not_progress": 1},
        error="trainer exited with status 1: /srv/data/jobs/7/stderr.log",
        cancel_requested=True,
        worker="host/api",
        events_offset=99,
    )
    shown = Job.of(record, state_flags(record.state)).model_dump(mode="json")
    assert shown["error"] == "trainer exited with status 1: …/stderr.log"
    assert shown["progress"]["epoch"] == 2 and "not_progress" not in shown["progress"]
    assert not {"cancel_requested", "worker", "heartbeat_at", "events_offset"} & set(shown)
    assert (shown["state"], shown["finished"], shown["resumable"]) == ("failed", True, True)
