"""The build's job graph as Dataflow would receive it (dry run: nothing is submitted)."""
import pytest

pytest.importorskip("apitools", reason="needs apache-beam[gcp] (installed by `make test`)")

import apache_beam as beam  # noqa: E402
from apache_beam.options.pipeline_options import PipelineOptions  # noqa: E402

from pipeline.flow import build_pipeline  # noqa: E402
from pipeline.manifest import parse_manifest  # noqa: E402
from tests.conftest import ROOT  # noqa: E402

STAGES = ("ReadSources", "DecodeAndHash", "Deduplicate", "GroupContexts", "Draft", "Validate",
          "ScoreDifficulty", "WriteShards")


def test_dataflow_dry_run_holds_every_stage():
    manifest = parse_manifest({"name": "gcs-build", "sources": [
        {"name": "photos", "kind": "folder", "location": "gs://mir-example-bucket/photos",
         "licence": "CC0-1.0", "attribution": "tests"}]}, base_dir="gs://mir-example-bucket")
    options = PipelineOptions([
        "--runner", "DataflowRunner", "--project", "mir-test-project", "--region", "us-central1",
        "--temp_location", "gs://mir-example-bucket/tmp", "--setup_file", str(ROOT / "setup.py"),
        "--dry_run", "True", "--no_auth"])
    pipeline = beam.Pipeline(options=options)
    build_pipeline(pipeline, manifest, "gs://mir-example-bucket/out")
    result = pipeline.run()
    transforms = {t.unique_name for t in result.job.proto_pipeline.components.transforms.values()}
    for stage in STAGES:
        assert any(name == stage or name.startswith(stage + "/") for name in transforms), stage
    assert result.job.proto.type.name == "JOB_TYPE_BATCH"


def test_a_dry_run_from_the_command_line_builds_the_job_and_touches_nothing(tmp_path, capsys):
    from pipeline.cli import main
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text("name: gcs-build\nsources:\n  - {name: photos, kind: folder, location: "
                        "'gs://mir-example-bucket/photos', licence: CC0-1.0, attribution: tests}\n")
    out = tmp_path / "out"
    code = main(["build", "--manifest", str(manifest), "--output", str(out), "--runner", "DataflowRunner",
                 "--project", "mir-test-project", "--region", "us-central1", "--temp_location",
                 "gs://mir-example-bucket/tmp", "--setup_file", str(ROOT / "setup.py"), "--dry_run", "True",
                 "--no_auth"])
    printed = capsys.readouterr().out.strip().splitlines()[-1]
    assert code == 0
    assert printed.startswith("dry run on DataflowRunner: a job graph of ")
    assert all(stage in printed for stage in STAGES) and printed.endswith(f"{out} is untouched")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifest.yaml"]
