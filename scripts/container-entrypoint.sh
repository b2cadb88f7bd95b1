#!/bin/sh
# Container entrypoint: seed the models folder with the models baked into the image, then exec the
# command (uvicorn by default), which so stays PID 1 and gets the stop signal itself.
#
# Why seed instead of relying on the volume's copy-up: the image keeps its models in
# /opt/dcgan-digits/models and the service reads $DCGAN_MODELS_DIR (/app/models), which compose
# mounts a named volume over so that models trained by jobs survive `down`/`up`. Docker and podman
# copy image content into a named volume only while it is empty, on first use; after that the
# volume hides the image's folder, so a newer image's models would never show up, and a bind mount
# or an emptied volume would have none at all. Seeding on every start copies each
# NAME/VERSION (and each top-level file of NAME/, e.g. mnist-classifier's weights) that the
# folder lacks; what is there already, including trained versions, is never touched.
# Consequences: a version deleted from the volume comes back at the next start if the image
# ships it (set DCGAN_SEED_MODELS=0 to stop seeding), and a version the volume already has under
# the same number as the image's is kept as it is (the volume's copy wins).
set -eu

src=${DCGAN_BAKED_MODELS_DIR:-/opt/dcgan-digits/models}
dst=${DCGAN_MODELS_DIR:-models}

seed() {
  if ! mkdir -p "$dst" 2>/dev/null || [ ! -w "$dst" ]; then
    echo "entrypoint: $dst is not writable by uid $(id -u); serving it without seeding" >&2
    return 0
  fi
  for name_dir in "$src"/*/; do
    [ -d "$name_dir" ] || continue
    name=$(basename "$name_dir")
    for entry in "$name_dir"*; do
      [ -e "$entry" ] || continue
      base=$(basename "$entry")
      [ -e "$dst/$name/$base" ] && continue
      # copy under a name the registry ignores, then rename: a version appears complete or not at
      # all. A failure is reported and skipped: the service starts with what there is.
      # Containers may seed one volume at once: each copies into a folder of its own, and
      # `mv -T` never moves into a version another one put there first.
      tmp=""
      if mkdir -p "$dst/$name" && tmp=$(mktemp -d "$dst/$name/.seed-$base.XXXXXX") &&
        cp -R "$entry" "$tmp/entry" && mv -T "$tmp/entry" "$dst/$name/$base" 2>/dev/null; then
        echo "entrypoint: seeded $name/$base into $dst" >&2
      elif [ -e "$dst/$name/$base" ]; then
        echo "entrypoint: $name/$base was seeded by another container" >&2
      else
        echo "entrypoint: could not seed $name/$base into $dst" >&2
      fi
      if [ -n "$tmp" ]; then rm -rf "$tmp" 2>/dev/null || true; fi
    done
  done
}

if [ "${DCGAN_SEED_MODELS:-1}" != 0 ] && [ -d "$src" ]; then
  seed
fi
exec "$@"
