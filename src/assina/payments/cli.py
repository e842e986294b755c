"""Commands this app adds to ``assina`` (see ``assina.cli.CliBuilder``)."""


def register(cli) -> None:
    pass
