FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY pipeline ./pipeline
RUN pip install --no-cache-dir .
COPY examples ./examples
ENV CODEGEN_STORE_ROOT=/data/output CODEGEN_STATE_DIR=/tmp/codegen
ENTRYPOINT ["codegen"]
