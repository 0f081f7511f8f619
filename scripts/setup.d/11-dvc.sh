# DVC for the S3 API's DVC test, in its own virtualenv (.venv-dvc): with MLflow in the same one,
# pip's resolver backtracks for many minutes.
make_venv .venv-dvc 'test -x "$(command -v dvc)"' "dvc[s3]"
