# MLflow (mlflow-skinny, with boto3 for its S3 artifact store) for the S3 API's MLflow test (.venv-mlflow).
make_venv .venv-mlflow 'python -c "import mlflow, boto3"' mlflow-skinny boto3
