# aws CLI and boto3 for the S3 API tests (.venv-s3).
make_venv .venv-s3 '[ -x "$(command -v aws)" ] && python -c "import boto3"' awscli boto3
