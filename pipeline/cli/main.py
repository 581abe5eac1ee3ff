"""The ``codegen`` command."""

from __future__ import annotations

import typer
from pydantic import ValidationError

from pipeline.cli.broker_cmd import broker_app
from pipeline.cli.catalogue_cmd import catalogue_app
from pipeline.cli.common import fail
from pipeline.cli.extract_cmd import extract_command
from pipeline.cli.inject_cmd import inject_command
from pipeline.cli.metrics_cmd import metrics_command
from pipeline.cli.run_cmd import demo_command, up_command, worker_command
from pipeline.cli.status_cmd import status_command
from pipeline.cli.submit_cmd import submit_command
from pipeline.cli.topics_cmd import topics_app
from pipeline.cli.validate_cmd import validate_command
from pipeline.cli.verify_cmd import verify_command
from pipeline.settings import get_settings

app = typer.Typer(
    name="codegen",
    help="A Kafka pipeline that fills Python method stubs with generated code.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def check_settings() -> None:
    """A setting that does not parse is one line per setting, not a traceback."""
    try:
        get_settings()
    except ValidationError as exc:
        fail(
            "; ".join(
                f"CODEGEN_{'_'.join(str(part) for part in error['loc']).upper()}: {error['msg']}"
                for error in exc.errors()
            )
        )


app.add_typer(broker_app, name="broker")
app.add_typer(topics_app, name="topics")
app.add_typer(catalogue_app, name="catalogue")
app.command("worker")(worker_command)
app.command("up")(up_command)
app.command("demo")(demo_command)
app.command("submit")(submit_command)
app.command("extract")(extract_command)
app.command("validate")(validate_command)
app.command("inject")(inject_command)
app.command("verify")(verify_command)
app.command("metrics")(metrics_command)
app.command("status")(status_command)

if __name__ == "__main__":
    app()
