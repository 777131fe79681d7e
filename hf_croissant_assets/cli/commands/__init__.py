"""One module per `hf-croissant` subcommand: NAME, HELP, add_arguments(parser), run(args, parser)."""
