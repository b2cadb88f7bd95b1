"""A folder as a streamed .tar.gz."""

import io
import random
import tarfile

from app.serving.archive import tar_gz


def test_tar_gz_streams_and_keeps_every_byte(tmp_path):
    folder = tmp_path / "3"
    (folder / "variables").mkdir(parents=True)
    (folder / "model.json").write_text("{}")
    weights = random.Random(0).randbytes(300_000)  # incompressible, like weights
    (folder / "variables" / "data").write_bytes(weights)
    chunks = list(tar_gz(folder, "dcgan/3"))
    assert len(chunks) > 1  # not one archive made whole before the first byte is sent
    with tarfile.open(fileobj=io.BytesIO(b"".join(chunks)), mode="r:gz") as tar:
        names = tar.getnames()
        data = tar.extractfile("dcgan/3/variables/data").read()
    assert names == ["dcgan/3", "dcgan/3/model.json", "dcgan/3/variables", "dcgan/3/variables/data"]
    assert data == weights
    assert b"".join(tar_gz(folder, "dcgan/3")) == b"".join(chunks)  # the same bytes each time
