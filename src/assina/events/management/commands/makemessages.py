"""``makemessages`` that also extracts the message templates ``assina.core`` marks with ``N_``.

The core cannot import Django's ``gettext_noop``, so it has its own marker (``assina.core.errors.N_``);
xgettext must be told its name. More names can be given with ``--keyword``.
"""

from django.core.management.commands import makemessages


class Command(makemessages.Command):
    xgettext_options = makemessages.Command.xgettext_options + ["--keyword=N_"]

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--keyword", action="append", default=[],
                            help="another marker function for xgettext (repeatable), e.g. N_")

    def handle(self, *args, **options):
        extra = [f"--keyword={name}" for name in options["keyword"] if f"--keyword={name}" not in self.xgettext_options]
        self.xgettext_options = self.xgettext_options + extra
        return super().handle(*args, **options)
