"""Write client/job_schema.json, the API's job schema that `dcgan-digits jobs create` makes its
flags from: run it whenever app/jobs/schema.py's JobParams changes (tests/test_client_schema.py
fails until then)."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.jobs.schema import JobParams  # noqa: E402
from client.schema import SCHEMA_PATH  # noqa: E402

if __name__ == "__main__":
    SCHEMA_PATH.write_text(json.dumps(JobParams.model_json_schema(), indent=2) + "\n")
    print(f"wrote {SCHEMA_PATH}")
